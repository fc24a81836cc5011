// Fused optimizer updates, the formulas of graph/solver.go, in the parameter's precision:
//   sgd:      w -= lr·g
//   momentum: v = μ·v + g;  w -= lr·v
//   adam:     m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  w -= lr·(m/c1) / (√(v/c2) + ε)
//             with c1 = 1 − β1ᵗ, c2 = 1 − β2ᵗ and t the step counter after step_inc; first
//             w -= round(lr·λ)·w when λ (wd) > 0: AdamW's decoupled weight decay.
#include "common.cuh"

template <typename T>
__device__ void sgd(T* w, const T* g, ll n, double lr) {
    ll i = gid();
    if (i < n) w[i] -= T(lr) * g[i];
}
#define SGD(T) sgd<T>((T*)w, (const T*)g, n, lr)
KERNELS2(sgd, (void* w, const void* g, ll n, double lr), SGD)

template <typename T>
__device__ void momentum(T* w, const T* g, T* v, ll n, double lr, double mu) {
    ll i = gid();
    if (i >= n) return;
    v[i] = T(mu) * v[i] + g[i];
    w[i] -= T(lr) * v[i];
}
#define MOM(T) momentum<T>((T*)w, (const T*)g, (T*)v, n, lr, mu)
KERNELS2(momentum, (void* w, const void* g, void* v, ll n, double lr, double mu), MOM)

template <typename T>
__device__ void adam(T* w, const T* g, T* m, T* v, const double* step, ll n, double lr, double b1, double b2, double eps, double wd) {
    ll i = gid();
    if (i >= n) return;
    T c1 = T(1 - pow(b1, *step)), c2 = T(1 - pow(b2, *step));
    T B1 = T(b1), B2 = T(b2), gi = g[i];
    T d = T(lr * wd);
    if (d != T(0)) w[i] -= d * w[i];
    m[i] = B1 * m[i] + (T(1) - B1) * gi;
    v[i] = B2 * v[i] + (T(1) - B2) * gi * gi;
    w[i] -= T(lr) * (m[i] / c1) / (sqrt(v[i] / c2) + T(eps));
}
#define ADAM(T) adam<T>((T*)w, (const T*)g, (T*)m, (T*)v, (const double*)step, n, lr, b1, b2, eps, wd)
KERNELS2(adam, (void* w, const void* g, void* m, void* v, const void* step, ll n, double lr, double b1, double b2, double eps, double wd), ADAM)

// The solver's step counter, on the device so that a step needs no upload.
extern "C" __global__ void step_inc(double* step) { *step += 1; }
