// C[M,N] = op(A)·op(B), op a transpose when asked: A is [M,K] (or [K,M] with transA), B is
// [K,N] (or [N,K] with transB). 16x16 tiles in shared memory; block (16,16), grid
// (ceil(N/16), ceil(M/16)).
#include "common.cuh"
#define TILE 16

template <typename T>
__device__ void gemm(const T* A, const T* B, T* C, ll M, ll N, ll K, ll ta, ll tb) {
    __shared__ T As[TILE][TILE], Bs[TILE][TILE + 1];
    ll r = blockIdx.y * (ll)TILE + threadIdx.y, c = blockIdx.x * (ll)TILE + threadIdx.x;
    T acc = 0;
    for (ll k0 = 0; k0 < K; k0 += TILE) {
        ll ka = k0 + threadIdx.x, kb = k0 + threadIdx.y;
        As[threadIdx.y][threadIdx.x] = (r < M && ka < K) ? (ta ? A[ka * M + r] : A[r * K + ka]) : T(0);
        Bs[threadIdx.y][threadIdx.x] = (c < N && kb < K) ? (tb ? B[c * K + kb] : B[kb * N + c]) : T(0);
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TILE; k++) acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
        __syncthreads();
    }
    if (r < M && c < N) C[r * N + c] = acc;
}
#define GEMM(T) gemm<T>((const T*)A, (const T*)B, (T*)C, M, N, K, ta, tb)
KERNELS2(gemm, (const void* A, const void* B, void* C, ll M, ll N, ll K, ll ta, ll tb), GEMM)
