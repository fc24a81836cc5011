// Reductions and the softmax family.
#include "common.cuh"

// out[o,i] = Σ_k in[o,k,i], the input viewed as [outer, len, inner]. One block (a power of two
// of at most 128 threads) per output element (grid outer·inner), a fixed-order tree:
// deterministic.
template <typename T>
__device__ void reduce_sum(const T* in, T* out, ll outer, ll len, ll inner) {
    __shared__ T part[128];
    ll o = blockIdx.x / inner, i = blockIdx.x % inner;
    T acc = 0;
    for (ll k = threadIdx.x; k < len; k += blockDim.x) acc += in[(o * len + k) * inner + i];
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = part[0];
}
#define RS(T) reduce_sum<T>((const T*)in, (T*)out, outer, len, inner)
KERNELS2(reduce_sum, (const void* in, void* out, ll outer, ll len, ll inner), RS)

// A row x [cols] of logits: its largest value mx and sum = Σ_j exp(x_j − mx), from which
// softmax(x)_j = exp(x_j − mx)/sum and log softmax(x)_j = x_j − mx − log(sum).
template <typename T>
__device__ void row_exp_sum(const T* x, ll cols, T& mx, T& sum) {
    mx = x[0];
    for (ll j = 1; j < cols; j++) mx = max(mx, x[j]);
    sum = 0;
    for (ll j = 0; j < cols; j++) sum += exp(x[j] - mx);
}

// y = softmax(x) or log softmax(x) along the last axis of x [rows, cols]; one thread a row.
template <typename T>
__device__ void softmax(const T* x, T* y, ll rows, ll cols, ll isLog) {
    ll r = gid();
    if (r >= rows) return;
    x += r * cols;
    y += r * cols;
    T mx, sum;
    row_exp_sum(x, cols, mx, sum);
    T ls = log(sum);
    for (ll j = 0; j < cols; j++) y[j] = isLog ? x[j] - mx - ls : exp(x[j] - mx) / sum;
}
#define SM(T) softmax<T>((const T*)x, (T*)y, rows, cols, isLog)
KERNELS2(softmax, (const void* x, void* y, ll rows, ll cols, ll isLog), SM)

// dx from y = (log) softmax(x) and g = dL/dy, as Gorgonia's tensor package computes it:
// log: dx = g − exp(y)·Σg;  plain: dx = (g − Σ y·g)·y.
template <typename T>
__device__ void softmax_back(const T* y, const T* g, T* dx, ll rows, ll cols, ll isLog) {
    ll r = gid();
    if (r >= rows) return;
    y += r * cols;
    g += r * cols;
    dx += r * cols;
    T sum = 0;
    for (ll j = 0; j < cols; j++) sum += isLog ? g[j] : y[j] * g[j];
    for (ll j = 0; j < cols; j++) dx[j] = isLog ? g[j] - exp(y[j]) * sum : (g[j] - sum) * y[j];
}
#define SMB(T) softmax_back<T>((const T*)y, (const T*)g, (T*)dx, rows, cols, isLog)
KERNELS2(softmax_back, (const void* y, const void* g, void* dx, ll rows, ll cols, ll isLog), SMB)

// Softmax cross-entropy fused with its gradient, for logits x [rows, cols] and targets y: the
// loss is c·Σ y·log softmax(x) (c = −1/batch), and dx its gradient with respect to x,
// c·(y − softmax(x)·Σ_j y_j), what log softmax's backward gives for dL/dlog softmax = c·y.
// One thread a row writes its row of dx and its term of the loss; a reduce_sum of the terms
// makes the loss.
template <typename T>
__device__ void softmax_xent(const T* x, const T* y, T* rowloss, T* dx, ll rows, ll cols, double c) {
    ll r = gid();
    if (r >= rows) return;
    x += r * cols;
    y += r * cols;
    dx += r * cols;
    T mx, sum;
    row_exp_sum(x, cols, mx, sum);
    T ls = log(sum), ysum = 0, acc = 0, C = T(c);
    for (ll j = 0; j < cols; j++) {
        ysum += y[j];
        acc += y[j] * (x[j] - mx - ls);
    }
    for (ll j = 0; j < cols; j++) dx[j] = C * (y[j] - exp(x[j] - mx) / sum * ysum);
    rowloss[r] = C * acc;
}
#define SMX(T) softmax_xent<T>((const T*)x, (const T*)y, (T*)rowloss, (T*)dx, rows, cols, c)
KERNELS2(softmax_xent, (const void* x, const void* y, void* rowloss, void* dx, ll rows, ll cols, double c), SMX)
