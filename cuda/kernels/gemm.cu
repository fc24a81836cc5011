// C[M,N] = op(A)·op(B), op a transpose when asked: A is [M,K] (or [K,M] with transA), B is
// [K,N] (or [N,K] with transB). 16x16 tiles in shared memory; block (16,16), grid
// (ceil(M/16), ceil(N/16)): the rows on x, whose limit is 2^31-1 blocks (a conv's product has
// batch·784 rows; y and z stop at 65535).
#include "common.cuh"
#define TILE 16

// The product over k in [k0, k1) into C, plus bias[c] on column c where bias is not null; one
// thread per element of C.
template <typename T>
__device__ void gemm_range(const T* A, const T* B, T* C, ll M, ll N, ll K, ll ta, ll tb, ll k0, ll k1, const T* bias = nullptr) {
    __shared__ T As[TILE][TILE], Bs[TILE][TILE + 1];
    ll r = blockIdx.x * (ll)TILE + threadIdx.y, c = blockIdx.y * (ll)TILE + threadIdx.x;
    T acc = 0;
    for (ll kt = k0; kt < k1; kt += TILE) {
        ll ka = kt + threadIdx.x, kb = kt + threadIdx.y;
        As[threadIdx.y][threadIdx.x] = (r < M && ka < k1) ? (ta ? A[ka * M + r] : A[r * K + ka]) : T(0);
        Bs[threadIdx.y][threadIdx.x] = (c < N && kb < k1) ? (tb ? B[c * K + kb] : B[kb * N + c]) : T(0);
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TILE; k++) acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
        __syncthreads();
    }
    if (r < M && c < N) C[r * N + c] = bias ? acc + bias[c] : acc;
}

template <typename T>
__device__ void gemm(const T* A, const T* B, T* C, ll M, ll N, ll K, ll ta, ll tb) {
    gemm_range<T>(A, B, C, M, N, K, ta, tb, 0, K);
}
#define GEMM(T) gemm<T>((const T*)A, (const T*)B, (T*)C, M, N, K, ta, tb)
KERNELS2(gemm, (const void* A, const void* B, void* C, ll M, ll N, ll K, ll ta, ll tb), GEMM)

// C[M,N] = op(A)·op(B) + bias[N], the bias added to every row (a dense layer, ir.GemmBias).
template <typename T>
__device__ void gemm_bias(const T* A, const T* B, const T* bias, T* C, ll M, ll N, ll K, ll ta, ll tb) {
    gemm_range<T>(A, B, C, M, N, K, ta, tb, 0, K, bias);
}
#define GEMMB(T) gemm_bias<T>((const T*)A, (const T*)B, (const T*)bias, (T*)C, M, N, K, ta, tb)
KERNELS2(gemm_bias, (const void* A, const void* B, const void* bias, void* C, ll M, ll N, ll K, ll ta, ll tb), GEMMB)

// Split K, for a product with few tiles of C and a long K (a conv filter's gradient sums over
// every pixel of the batch): grid (ceil(M/16), ceil(N/16), S); block z multiplies over
// k in [z·kc, (z+1)·kc) into its own partial product P[z] ([S,M,N]). A reduce_sum over the
// first axis then adds the S partials in a fixed order, so the result is deterministic.
template <typename T>
__device__ void gemm_split(const T* A, const T* B, T* P, ll M, ll N, ll K, ll ta, ll tb, ll kc) {
    ll k0 = blockIdx.z * kc, k1 = min(K, k0 + kc);
    gemm_range<T>(A, B, P + blockIdx.z * M * N, M, N, K, ta, tb, k0, k1);
}
#define GEMMS(T) gemm_split<T>((const T*)A, (const T*)B, (T*)P, M, N, K, ta, tb, kc)
KERNELS2(gemm_split, (const void* A, const void* B, void* P, ll M, ll N, ll K, ll ta, ll tb, ll kc), GEMMS)
