// Convolution as im2col/col2im, and max pooling, with Gorgonia's layouts: images
// [B,C,H,W]; columns [B,OH,OW,C·kh·kw], the last axis ordered (c, kernel row, kernel col).
#include "common.cuh"

#define CONV_PARAMS ll B, ll C, ll H, ll W, ll kh, ll kw, ll ph, ll pw, ll sh, ll sw, ll dh, ll dw, ll OH, ll OW

// One thread per column element.
template <typename T>
__device__ void im2col(const T* im, T* col, CONV_PARAMS) {
    ll i = gid(), n = B * OH * OW * C * kh * kw;
    if (i >= n) return;
    ll r = i, q = r % kw; r /= kw;
    ll p = r % kh; r /= kh;
    ll c = r % C; r /= C;
    ll ow = r % OW; r /= OW;
    ll oh = r % OH, b = r / OH;
    ll ih = oh * sh - ph + p * dh, iw = ow * sw - pw + q * dw;
    col[i] = (ih >= 0 && ih < H && iw >= 0 && iw < W) ? im[((b * C + c) * H + ih) * W + iw] : T(0);
}
#define I2C(T) im2col<T>((const T*)im, (T*)col, B, C, H, W, kh, kw, ph, pw, sh, sw, dh, dw, OH, OW)
KERNELS2(im2col, (const void* im, void* col, CONV_PARAMS), I2C)

// One thread per image element: it gathers every column element that came from it, so no
// atomics and a fixed summation order.
template <typename T>
__device__ void col2im(const T* col, T* im, CONV_PARAMS) {
    ll i = gid(), n = B * C * H * W;
    if (i >= n) return;
    ll r = i, iw = r % W; r /= W;
    ll ih = r % H; r /= H;
    ll c = r % C, b = r / C;
    T acc = 0;
    for (ll p = 0; p < kh; p++) {
        ll t = ih + ph - p * dh;
        if (t < 0 || t % sh) continue;
        ll oh = t / sh;
        if (oh >= OH) continue;
        for (ll q = 0; q < kw; q++) {
            ll u = iw + pw - q * dw;
            if (u < 0 || u % sw) continue;
            ll ow = u / sw;
            if (ow >= OW) continue;
            acc += col[(((b * OH + oh) * OW + ow) * C + c) * kh * kw + p * kw + q];
        }
    }
    im[i] = acc;
}
#define C2I(T) col2im<T>((const T*)col, (T*)im, B, C, H, W, kh, kw, ph, pw, sh, sw, dh, dw, OH, OW)
KERNELS2(col2im, (const void* col, void* im, CONV_PARAMS), C2I)

#define POOL_PARAMS ll B, ll C, ll H, ll W, ll kh, ll kw, ll ph, ll pw, ll sh, ll sw, ll OH, ll OW

// The first largest element of window (b·C+c, oh, ow), as Gorgonia picks it (strict >, row
// major), or -1 for an empty window.
template <typename T>
__device__ ll pool_argmax(const T* in, ll bc, ll oh, ll ow, POOL_PARAMS) {
    ll h0 = oh * sh - ph, w0 = ow * sw - pw;
    ll h1 = min(h0 + kh, H), w1 = min(w0 + kw, W);
    h0 = max(h0, 0LL);
    w0 = max(w0, 0LL);
    ll arg = -1;
    T best = 0;
    for (ll r = h0; r < h1; r++)
        for (ll q = w0; q < w1; q++) {
            ll j = (bc * H + r) * W + q;
            if (arg < 0 || in[j] > best) best = in[j], arg = j;
        }
    return arg;
}

// One thread per pooled element.
template <typename T>
__device__ void maxpool(const T* in, T* out, POOL_PARAMS) {
    ll i = gid();
    if (i >= B * C * OH * OW) return;
    ll ow = i % OW, oh = (i / OW) % OH, bc = i / (OW * OH);
    ll a = pool_argmax(in, bc, oh, ow, B, C, H, W, kh, kw, ph, pw, sh, sw, OH, OW);
    out[i] = a < 0 ? T(0) : in[a];
}
#define MP(T) maxpool<T>((const T*)in, (T*)out, B, C, H, W, kh, kw, ph, pw, sh, sw, OH, OW)
KERNELS2(maxpool, (const void* in, void* out, POOL_PARAMS), MP)

// dx for max pooling: one thread per input element sums the gradients of the windows whose
// argmax it is (recomputed from the input, so no mask buffer and no atomics).
template <typename T>
__device__ void maxpool_back(const T* in, const T* g, T* dx, POOL_PARAMS) {
    ll i = gid();
    if (i >= B * C * H * W) return;
    ll iw = i % W, ih = (i / W) % H, bc = i / (W * H);
    T acc = 0;
    // windows containing (ih, iw): oh·sh − ph ≤ ih < oh·sh − ph + kh
    ll oh0 = max(0LL, (ih + ph - kh + sh) / sh), oh1 = min(OH - 1, (ih + ph) / sh);
    ll ow0 = max(0LL, (iw + pw - kw + sw) / sw), ow1 = min(OW - 1, (iw + pw) / sw);
    for (ll oh = oh0; oh <= oh1; oh++)
        for (ll ow = ow0; ow <= ow1; ow++)
            if (pool_argmax(in, bc, oh, ow, B, C, H, W, kh, kw, ph, pw, sh, sw, OH, OW) == i)
                acc += g[(bc * OH + oh) * OW + ow];
    dx[i] = acc;
}
#define MPB(T) maxpool_back<T>((const T*)in, (const T*)g, (T*)dx, B, C, H, W, kh, kw, ph, pw, sh, sw, OH, OW)
KERNELS2(maxpool_back, (const void* in, const void* g, void* dx, POOL_PARAMS), MPB)
