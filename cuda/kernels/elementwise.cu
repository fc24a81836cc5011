// Elementwise kernels: binary and unary operators, and the strided gather that does
// transposes and broadcasts. The operator codes are generated from the ir package's table (ir/ops.go).
#include "common.cuh"
#include "opcodes.h"

template <typename T>
__device__ void ew_binary(const T* a, const T* b, T* c, ll n, ll sa, ll sb, ll op) {
    ll i = gid();
    if (i >= n) return;
    T x = a[i * sa], y = b[i * sb], r;
    switch (op) {
    case BIN_ADD: r = x + y; break;
    case BIN_SUB: r = x - y; break;
    case BIN_MUL: r = x * y; break;
    case BIN_DIV: r = x / y; break;
    case BIN_POW: r = pow(x, y); break;
    case BIN_LT: r = x < y; break;
    case BIN_GT: r = x > y; break;
    case BIN_LE: r = x <= y; break;
    case BIN_GE: r = x >= y; break;
    case BIN_EQ: r = x == y; break;
    default: r = x != y; break; // BIN_NE
    }
    c[i] = r;
}
#define EWB(T) ew_binary<T>((const T*)a, (const T*)b, (T*)c, n, sa, sb, op)
KERNELS2(ew_binary, (const void* a, const void* b, void* c, ll n, ll sa, ll sb, ll op), EWB)

template <typename T>
__device__ void ew_unary(const T* a, T* c, ll n, ll op) {
    ll i = gid();
    if (i >= n) return;
    T x = a[i], r;
    switch (op) {
    case UN_ABS: r = fabs(x); break;
    case UN_SIGN: r = (x > 0) - (x < 0); break;
    case UN_CEIL: r = ceil(x); break;
    case UN_FLOOR: r = floor(x); break;
    case UN_SIN: r = sin(x); break;
    case UN_COS: r = cos(x); break;
    case UN_EXP: r = exp(x); break;
    case UN_LN: r = log(x); break;
    case UN_LOG2: r = log2(x); break;
    case UN_NEG: r = -x; break;
    case UN_SQUARE: r = x * x; break;
    case UN_SQRT: r = sqrt(x); break;
    case UN_INV: r = T(1) / x; break;
    case UN_INVSQRT: r = T(1) / sqrt(x); break;
    case UN_CUBE: r = x * x * x; break;
    case UN_TANH: r = tanh(x); break;
    case UN_SIGMOID: r = T(1) / (T(1) + exp(-x)); break;
    case UN_LOG1P: r = log1p(x); break;
    case UN_EXPM1: r = expm1(x); break;
    default: r = log1p(exp(x)); break; // UN_SOFTPLUS
    }
    c[i] = r;
}
#define EWU(T) ew_unary<T>((const T*)a, (T*)c, n, op)
KERNELS2(ew_unary, (const void* a, void* c, ll n, ll op), EWU)

// out[i0,i1,i2,i3] = in[i0*s0 + i1*s1 + i2*s2 + i3*s3], out of shape (d0,d1,d2,d3) row-major.
template <typename T>
__device__ void gather4(const T* in, T* out, ll n, ll d0, ll d1, ll d2, ll d3, ll s0, ll s1, ll s2, ll s3) {
    ll i = gid();
    if (i >= n) return;
    ll r = i, i3 = r % d3; r /= d3;
    ll i2 = r % d2; r /= d2;
    ll i1 = r % d1, i0 = r / d1;
    out[i] = in[i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3];
}
#define G4(T) gather4<T>((const T*)in, (T*)out, n, d0, d1, d2, d3, s0, s1, s2, s3)
KERNELS2(gather4, (const void* in, void* out, ll n, ll d0, ll d1, ll d2, ll d3, ll s0, ll s1, ll s2, ll s3), G4)

// philox4x32 is Philox4x32-10 of the counter (c0, c1, c2, c3) under the key (k0, k1), in
// place: the generator of dropout's masks, as ir/philox.go computes it.
__device__ __forceinline__ void philox4x32(unsigned& c0, unsigned& c1, unsigned& c2, unsigned& c3, unsigned k0, unsigned k1) {
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        unsigned long long p0 = (unsigned long long)0xD2511F53u * c0;
        unsigned long long p1 = (unsigned long long)0xCD9E8D57u * c2;
        unsigned n0 = (unsigned)(p1 >> 32) ^ c1 ^ k0, n2 = (unsigned)(p0 >> 32) ^ c3 ^ k1;
        c0 = n0;
        c1 = (unsigned)p1;
        c2 = n2;
        c3 = (unsigned)p0;
    }
}

// y[i] = x[i]·scale where element i of dropout layer `layer`'s mask at the step counter's
// value is kept (its Philox word, word i mod 4 of the counter (i/4, layer, step), at least
// threshold), else 0. x, y: n values; step: one double.
template <typename T>
__device__ void dropout(const T* x, const double* step, T* y, ll n, ll layer, ll seed, ll threshold, double scale) {
    ll i = gid();
    if (i >= n) return;
    unsigned long long s = (unsigned long long)(ll)step[0], k = (unsigned long long)seed;
    unsigned c0 = (unsigned)(i >> 2), c1 = (unsigned)layer, c2 = (unsigned)s, c3 = (unsigned)(s >> 32);
    philox4x32(c0, c1, c2, c3, (unsigned)k, (unsigned)(k >> 32));
    int j = (int)(i & 3);
    unsigned w = j == 0 ? c0 : j == 1 ? c1 : j == 2 ? c2 : c3;
    y[i] = w >= (unsigned long long)threshold ? x[i] * (T)scale : T(0);
}
#define DROPOUT(T) dropout<T>((const T*)x, (const double*)step, (T*)y, n, layer, seed, threshold, scale)
KERNELS2(dropout, (const void* x, const void* step, void* y, ll n, ll layer, ll seed, ll threshold, double scale), DROPOUT)

// Augmentation's double arithmetic, each product and sum rounded on its own (no fused
// multiply-add), as Go computes it: ir/augment.go's transform, bit for bit.
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double sub_rn(double a, double b) { return __dsub_rn(a, b); }

// A Philox word as a double uniform in [−1, 1), exactly.
__device__ __forceinline__ double unit_word(unsigned w) { return ((double)w - 2147483648.0) / 2147483648.0; }

// One pixel of channel img (h x w) at (x, y), 0 outside the image.
template <typename T>
__device__ __forceinline__ double aug_pixel(const T* img, ll x, ll y, ll h, ll w) {
    return x < 0 || y < 0 || x >= w || y >= h ? 0.0 : (double)img[y * w + x];
}

// The elastic displacement of output pixel (x, y) of example b (ir/elastic.go): the field's
// rows around the pixel smoothed along x one by one, then the column of those sums along y,
// times alpha, each product and sum rounded on its own in the order the Go code takes. The
// field's words: the counter (b, ELASTIC_STREAM + pair, step) under the seed, the pair
// k = Y'·P + X'/2 of the margin grid's point (X', Y') = (x + i + r, y + j + r).
__device__ void elastic_at(ll b, ll x, ll y, ll w, unsigned long long s, unsigned long long k, ll r, double alpha, double decay, double* dx, double* dy) {
    double g[ELASTIC_MAX_RADIUS + 1];
    double q2 = mul_rn(decay, decay), m = decay, sum = 0.0;
    g[0] = 1.0;
    for (ll i = 1; i <= r; i++) {
        g[i] = mul_rn(g[i - 1], m);
        m = mul_rn(m, q2);
    }
    for (ll i = -r; i <= r; i++) sum = add_rn(sum, g[i < 0 ? -i : i]);
    for (ll i = 0; i <= r; i++) g[i] = g[i] / sum;
    ll pairs = (w + 2 * r + 1) / 2;
    double ax = 0.0, ay = 0.0;
    for (ll j = -r; j <= r; j++) {
        double sx = 0.0, sy = 0.0, gj = g[j < 0 ? -j : j];
        ll row = (y + j + r) * pairs;
        unsigned c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (ll i = -r; i <= r; i++) {
            ll xx = x + i + r;
            if (i == -r || !(xx & 1)) { // a pair's words, drawn at its first point in the row
                c0 = (unsigned)b, c1 = ELASTIC_STREAM + (unsigned)(row + xx / 2), c2 = (unsigned)s, c3 = (unsigned)(s >> 32);
                philox4x32(c0, c1, c2, c3, (unsigned)k, (unsigned)(k >> 32));
            }
            double gi = g[i < 0 ? -i : i];
            double ux = unit_word(xx & 1 ? c2 : c0), uy = unit_word(xx & 1 ? c3 : c1);
            sx = add_rn(sx, mul_rn(gi, ux));
            sy = add_rn(sy, mul_rn(gi, uy));
        }
        ax = add_rn(ax, mul_rn(gj, sx));
        ay = add_rn(ay, mul_rn(gj, sy));
    }
    *dx = mul_rn(alpha, ax);
    *dy = mul_rn(alpha, ay);
}

// out[b] = in[b] resampled where example b's transform at the step counter's value sends
// each pixel (ir/augment.go), moved on by its elastic displacement where alpha > 0: the
// transform from the Philox words of the counter (b, AUGMENT_STREAM, step) under the seed,
// the sample bilinear with zeros outside. in, out: [batch, c·h·w]; step: one double; a thread
// per output pixel (b, y, x), over every channel.
template <typename T>
__device__ void augment(const T* in, const double* step, T* out, ll batch, ll c, ll h, ll w, ll seed, ll shift, ll radius,
                        double tan_half, double scale, double alpha, double decay) {
    ll i = gid();
    if (i >= batch * h * w) return;
    ll b = i / (h * w), y = i / w % h, x = i % w;
    unsigned long long s = (unsigned long long)(ll)step[0], k = (unsigned long long)seed;
    unsigned c0 = (unsigned)b, c1 = AUGMENT_STREAM, c2 = (unsigned)s, c3 = (unsigned)(s >> 32);
    philox4x32(c0, c1, c2, c3, (unsigned)k, (unsigned)(k >> 32));
    unsigned long long span = (unsigned long long)(2 * shift + 1);
    double tx = (double)((ll)(((unsigned long long)c0 * span) >> 32) - shift);
    double ty = (double)((ll)(((unsigned long long)c1 * span) >> 32) - shift);
    double t = mul_rn(tan_half, unit_word(c2));
    double sc = add_rn(1.0, mul_rn(scale, unit_word(c3)));
    double tt = mul_rn(t, t), d = add_rn(1.0, tt);
    double a = (sub_rn(1.0, tt) / d) / sc, bb = (mul_rn(2.0, t) / d) / sc;
    double cx = (double)(w - 1) / 2, cy = (double)(h - 1) / 2;
    double qx = sub_rn(sub_rn((double)x, cx), tx), qy = sub_rn(sub_rn((double)y, cy), ty);
    double sx = add_rn(cx, add_rn(mul_rn(a, qx), mul_rn(bb, qy)));
    double sy = add_rn(cy, sub_rn(mul_rn(a, qy), mul_rn(bb, qx)));
    if (alpha > 0) {
        double dx, dy;
        elastic_at(b, x, y, w, s, k, radius, alpha, decay, &dx, &dy);
        sx = add_rn(sx, dx);
        sy = add_rn(sy, dy);
    }
    double x0 = floor(sx), y0 = floor(sy), fx = sub_rn(sx, x0), fy = sub_rn(sy, y0);
    double gx = sub_rn(1.0, fx), gy = sub_rn(1.0, fy);
    // A place far outside reads nothing either way: clamped, its index cannot overflow.
    ll ix = (ll)fmax(-2.0, fmin(x0, (double)(w + 1))), iy = (ll)fmax(-2.0, fmin(y0, (double)(h + 1)));
    for (ll ch = 0; ch < c; ch++) {
        const T* img = in + (b * c + ch) * h * w;
        double top = add_rn(mul_rn(gx, aug_pixel(img, ix, iy, h, w)), mul_rn(fx, aug_pixel(img, ix + 1, iy, h, w)));
        double bottom = add_rn(mul_rn(gx, aug_pixel(img, ix, iy + 1, h, w)), mul_rn(fx, aug_pixel(img, ix + 1, iy + 1, h, w)));
        out[(b * c + ch) * h * w + y * w + x] = (T)add_rn(mul_rn(gy, top), mul_rn(fy, bottom));
    }
}
#define AUGMENT(T) augment<T>((const T*)in, (const double*)step, (T*)out, batch, c, h, w, seed, shift, radius, tan_half, scale, alpha, decay)
KERNELS2(augment, (const void* in, const void* step, void* out, ll batch, ll c, ll h, ll w, ll seed, ll shift, ll radius, double tan_half, double scale, double alpha, double decay), AUGMENT)
