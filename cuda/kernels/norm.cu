// Batch normalisation, x viewed as [B, C, S] (S = H·W for an image, 1 for a vector).
#include "common.cuh"

// The per-channel sums: one block of 128 threads per channel c (grid C), thread t summing the
// channel's values t, t+128, ... (value k at x[(b·C + c)·S + s], b = k/S, s = k mod S) in
// double, then a fixed-order tree over the threads: deterministic.
#define BN_THREADS 128

__device__ __forceinline__ ll bn_at(ll k, ll C, ll S, ll c) { return ((k / S) * C + c) * S + k % S; }

// tree_sum leaves the sum of part[0..BN_THREADS) in part[0]; every thread of the block calls it.
__device__ void tree_sum(double* part) {
    __syncthreads();
    for (int s = BN_THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
}

// mean[c] = Σx/n and var[c] = Σ(x − mean)²/n, n = B·S: x [B, C, S], mean and var [C].
template <typename T>
__device__ void batchnorm_stats(const T* x, T* mean, T* var, ll B, ll C, ll S) {
    __shared__ double part[BN_THREADS];
    ll c = blockIdx.x, n = B * S;
    double acc = 0;
    for (ll k = threadIdx.x; k < n; k += BN_THREADS) acc += (double)x[bn_at(k, C, S, c)];
    part[threadIdx.x] = acc;
    tree_sum(part);
    double mu = part[0] / (double)n;
    __syncthreads(); // every thread has read part[0] before it is written again
    acc = 0;
    for (ll k = threadIdx.x; k < n; k += BN_THREADS) {
        double d = (double)x[bn_at(k, C, S, c)] - mu;
        acc += d * d;
    }
    part[threadIdx.x] = acc;
    tree_sum(part);
    if (threadIdx.x == 0) {
        mean[c] = T(mu);
        var[c] = T(part[0] / (double)n);
    }
}
#define BNS(T) batchnorm_stats<T>((const T*)x, (T*)mean, (T*)var, B, C, S)
KERNELS2(batchnorm_stats, (const void* x, void* mean, void* var, ll B, ll C, ll S), BNS)

// y = (x − mean)·inv·scale + shift, inv = 1/√(var + ε): a thread per value.
template <typename T>
__device__ void batchnorm(const T* x, const T* mean, const T* var, const T* scale, const T* shift, T* y,
                          ll B, ll C, ll S, double eps) {
    ll i = gid();
    if (i >= B * C * S) return;
    ll c = i / S % C;
    double k = 1 / sqrt((double)var[c] + eps);
    y[i] = T(((double)x[i] - (double)mean[c]) * k * (double)scale[c] + (double)shift[c]);
}
#define BN(T) batchnorm<T>((const T*)x, (const T*)mean, (const T*)var, (const T*)scale, (const T*)shift, (T*)y, B, C, S, eps)
KERNELS2(batchnorm, (const void* x, const void* mean, const void* var, const void* scale, const void* shift, void* y, ll B, ll C, ll S, double eps), BN)

// dscale[c] = Σ dy·x̂ and dshift[c] = Σ dy, x̂ = (x − mean)·inv: one block per channel, as
// batchnorm_stats.
template <typename T>
__device__ void batchnorm_back_scale(const T* x, const T* mean, const T* var, const T* dy, T* dscale, T* dshift,
                                     ll B, ll C, ll S, double eps) {
    __shared__ double part[BN_THREADS];
    ll c = blockIdx.x, n = B * S;
    double m = (double)mean[c], k = 1 / sqrt((double)var[c] + eps), sxy = 0, sy = 0;
    for (ll j = threadIdx.x; j < n; j += BN_THREADS) {
        ll i = bn_at(j, C, S, c);
        double g = (double)dy[i];
        sxy += g * ((double)x[i] - m) * k;
        sy += g;
    }
    part[threadIdx.x] = sxy;
    tree_sum(part);
    if (threadIdx.x == 0) dscale[c] = T(part[0]);
    __syncthreads();
    part[threadIdx.x] = sy;
    tree_sum(part);
    if (threadIdx.x == 0) dshift[c] = T(part[0]);
}
#define BNBS(T) batchnorm_back_scale<T>((const T*)x, (const T*)mean, (const T*)var, (const T*)dy, (T*)dscale, (T*)dshift, B, C, S, eps)
KERNELS2(batchnorm_back_scale, (const void* x, const void* mean, const void* var, const void* dy, void* dscale, void* dshift, ll B, ll C, ll S, double eps), BNBS)

// dx = scale·inv/n·(n·dy − dshift − x̂·dscale): a thread per value.
template <typename T>
__device__ void batchnorm_back_data(const T* x, const T* mean, const T* var, const T* scale, const T* dy,
                                    const T* dscale, const T* dshift, T* dx, ll B, ll C, ll S, double eps) {
    ll i = gid();
    if (i >= B * C * S) return;
    ll c = i / S % C;
    double n = (double)(B * S), k = 1 / sqrt((double)var[c] + eps), f = (double)scale[c] * k / n;
    dx[i] = T(f * (n * (double)dy[i] - (double)dshift[c] - ((double)x[i] - (double)mean[c]) * k * (double)dscale[c]));
}
#define BNBD(T) batchnorm_back_data<T>((const T*)x, (const T*)mean, (const T*)var, (const T*)scale, (const T*)dy, (const T*)dscale, (const T*)dshift, (T*)dx, B, C, S, eps)
KERNELS2(batchnorm_back_data, (const void* x, const void* mean, const void* var, const void* scale, const void* dy, const void* dscale, const void* dshift, void* dx, ll B, ll C, ll S, double eps), BNBD)
