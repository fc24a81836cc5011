// C[M,N] = op(A)·op(B), op a transpose when asked: A is [M,K] (or [K,M] with transA), B is
// [K,N] (or [N,K] with transB). 16x16 tiles in shared memory; block (16,16), grid
// (ceil(M/16), ceil(N/16)): the rows on x, whose limit is 2^31-1 blocks (a conv's product has
// batch·784 rows; y and z stop at 65535).
#include "common.cuh"
#define TILE 16

// gemm_store writes value i = r·N + c of C from its sum acc: plus bias[c] where bias is not
// null; then, where mask is not null, the ReLU as a graph writes it (ir.GemmBiasReLU: mask
// = 1 where the value is >= 0, else 0, and the value times the mask), or, where times is not
// null, the value times times[i] (ir.GemmMul): the same operations as the elementwise
// launches they replace, so the same bits.
template <typename T>
__device__ __forceinline__ void gemm_store(T* C, ll i, ll c, T acc, const T* bias, T* mask, const T* times) {
    T v = bias ? acc + bias[c] : acc;
    if (mask) {
        T m = v >= T(0) ? T(1) : T(0);
        mask[i] = m;
        v = v * m;
    }
    if (times) v = v * times[i];
    C[i] = v;
}

// The product over k in [k0, k1) into C, with gemm_store's epilogue; one thread per element
// of C.
template <typename T>
__device__ void gemm_range(const T* A, const T* B, T* C, ll M, ll N, ll K, ll ta, ll tb, ll k0, ll k1, const T* bias = nullptr,
                           T* mask = nullptr, const T* times = nullptr) {
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
    if (r < M && c < N) gemm_store(C, r * N + c, c, acc, bias, mask, times);
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

// A dense layer with its ReLU (ir.GemmBiasReLU): out = pre·mask, mask = (pre >= 0), pre =
// op(A)·op(B) + bias; and a product times another matrix elementwise (ir.GemmMul: a gradient
// through a ReLU's mask).
#define GEMMBR(T) gemm_range<T>((const T*)A, (const T*)B, (T*)out, M, N, K, ta, tb, 0, K, (const T*)bias, (T*)mask)
KERNELS2(gemm_bias_relu, (const void* A, const void* B, const void* bias, void* mask, void* out, ll M, ll N, ll K, ll ta, ll tb), GEMMBR)
#define GEMMM(T) gemm_range<T>((const T*)A, (const T*)B, (T*)C, M, N, K, ta, tb, 0, K, nullptr, nullptr, (const T*)X)
KERNELS2(gemm_mul, (const void* A, const void* B, const void* X, void* C, ll M, ll N, ll K, ll ta, ll tb), GEMMM)

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

// The same products for a C of many tiles (kernelmap.go: gemmWide): a block of (16,16)
// threads computes a 64x64 tile of C, each thread 4x4 values in registers, rows ty + 16·i and
// columns tx + 16·j, from 16-deep slices of op(A) and op(B) in shared memory. The 16x16
// kernel above reads two values from shared memory for every multiply-add, which bounds it
// by shared memory's bandwidth; here a thread reads 8 for 16 (docs/DESIGN.md, "A tiled SGEMM
// is enough", for the figures). Each value of C is one thread's sum over k in ascending
// order, starting from 0 at k0 with the same zero padding past k1 as gemm_range: the same
// additions in the same order, so both kernels give the same bits.
#define WT 64
#define WK 16
template <typename T>
__device__ void gemm_wide_range(const T* A, const T* B, T* C, ll M, ll N, ll K, ll ta, ll tb, ll k0, ll k1,
                                const T* bias = nullptr, T* mask = nullptr, const T* times = nullptr) {
    __shared__ T As[WK][WT + 1], Bs[WK][WT + 1];
    const int tx = threadIdx.x, ty = threadIdx.y, t = ty * TILE + tx;
    const ll r0 = blockIdx.x * (ll)WT, c0 = blockIdx.y * (ll)WT;
    // Where thread t loads from: 4 values of each slice, consecutive threads at consecutive
    // addresses of A and B (along k when they are stored k-last, else along their rows).
    const int arow = ta ? t % WT : t / WK, ak = ta ? t / WT : t % WK, astep = ta ? 0 : TILE, akstep = ta ? 4 : 0;
    const int bcol = tb ? t / WK : t % WT, bk = tb ? t % WK : t / WT, bstep = tb ? TILE : 0, bkstep = tb ? 0 : 4;
    T acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = T(0);
    for (ll kt = k0; kt < k1; kt += WK) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
            int row = arow + e * astep, kk = ak + e * akstep;
            ll r = r0 + row, k = kt + kk;
            As[kk][row] = (r < M && k < k1) ? (ta ? A[k * M + r] : A[r * K + k]) : T(0);
            int col = bcol + e * bstep, kb = bk + e * bkstep;
            ll c = c0 + col, kq = kt + kb;
            Bs[kb][col] = (c < N && kq < k1) ? (tb ? B[c * K + kq] : B[kq * N + c]) : T(0);
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < WK; kk++) {
            T a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty + TILE * i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + TILE * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        ll r = r0 + ty + TILE * i;
        if (r >= M) break;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            ll c = c0 + tx + TILE * j;
            if (c < N) gemm_store(C, r * N + c, c, acc[i][j], bias, mask, times);
        }
    }
}
#define GEMMW(T) gemm_wide_range<T>((const T*)A, (const T*)B, (T*)C, M, N, K, ta, tb, 0, K)
KERNELS2(gemm_t64, (const void* A, const void* B, void* C, ll M, ll N, ll K, ll ta, ll tb), GEMMW)
#define GEMMBW(T) gemm_wide_range<T>((const T*)A, (const T*)B, (T*)C, M, N, K, ta, tb, 0, K, (const T*)bias)
KERNELS2(gemm_bias_t64, (const void* A, const void* B, const void* bias, void* C, ll M, ll N, ll K, ll ta, ll tb), GEMMBW)
#define GEMMBRW(T) gemm_wide_range<T>((const T*)A, (const T*)B, (T*)out, M, N, K, ta, tb, 0, K, (const T*)bias, (T*)mask)
KERNELS2(gemm_bias_relu_t64, (const void* A, const void* B, const void* bias, void* mask, void* out, ll M, ll N, ll K, ll ta, ll tb), GEMMBRW)
#define GEMMMW(T) gemm_wide_range<T>((const T*)A, (const T*)B, (T*)C, M, N, K, ta, tb, 0, K, nullptr, nullptr, (const T*)X)
KERNELS2(gemm_mul_t64, (const void* A, const void* B, const void* X, void* C, ll M, ll N, ll K, ll ta, ll tb), GEMMMW)
#define GEMMSW(T) gemm_wide_range<T>((const T*)A, (const T*)B, (T*)P + blockIdx.z * M * N, M, N, K, ta, tb, blockIdx.z * kc, min(K, (blockIdx.z + 1) * kc))
KERNELS2(gemm_split_t64, (const void* A, const void* B, void* P, ll M, ll N, ll K, ll ta, ll tb, ll kc), GEMMSW)
