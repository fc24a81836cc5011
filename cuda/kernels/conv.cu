// Convolutions, with Gorgonia's layouts: images [B,C,H,W]; filters [Cout, C·kh·kw], the last
// axis ordered (c, kernel row, kernel col). Two ways:
// - im2col/col2im, with columns [B,OH,OW,C·kh·kw], and max pooling: the unfused program's
//   (a convolution too large for 32-bit indices keeps it), 64-bit indices;
// - the fused ops (ir.Conv, ConvReLU, ConvReLUPool, ConvData, ConvFilter, ConvFilterSplit,
//   PoolRouteBack): implicit GEMMs that read the image (or the output's gradient) where a
//   column would have copied it from, through shared memory, and never write columns. Their
//   indices are 32-bit ints: the lowering fuses only convolutions whose buffers hold fewer
//   than 2^30 values (lower.Target.ConvIndexLimit: an index plus a tile's offset stays below
//   2^31), and cuda/kernelmap.go checks again.
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

// ---- The fused convolutions: implicit GEMMs --------------------------------------------
//
// The forward product is out[m, o] = Σ_k col[m, k]·w[o, k] over the output positions m =
// (b, y, x) and the taps k = (c, r, q), col[m, k] = img[b, c, y·sh−ph+r·dh, x·sw−pw+q·dw]
// (0 outside the image). A block of NC·32 threads computes a tile of IG_BM positions by BN =
// NC·TN channels: thread (tm, tn) = (tid % 32, tid / 32) the IG_TM = 4 positions tm, tm+32,
// tm+64, tm+96 of the tile (a warp's positions are consecutive: its loads and stores are) by
// the TN channels tn·TN... Each step takes IG_BK taps: the block first decodes the taps into
// offsets (kt_*), then thread t loads positions t, t + NC·32... IG_BK column values each,
// straight from the image into shared memory (as[k][m]) and the filters' [IG_BK, BN] tile
// (bs[k][n]), then every thread multiplies. kernelmap.go picks by the channels: _n6 (TN 3,
// NC 2) for at most 6 (the LeNet's first layer forward, its image's in the second's image
// gradient: no column of the tile wasted, 7 reads of shared memory for 12 multiply-adds),
// _n8 (2, 4) for 7 or 8, _n16 (4, 4) above. Each value is one thread's sum over the taps in
// order, whatever the tile: the same bits on each.
//
// With pooling (ConvReLUPool: 2x2 windows at stride 2, no padding) the tile's rows are 32
// windows by their 4 places: row i·32 + tm is place i of window tm, so one thread holds a
// whole window and pools it in registers; the activation and the mask are never stored.
#define IG_BM 128
#define IG_BK 16
#define IG_TM 4
// IG_FENCE keeps the compiler from moving memory accesses across it: between the rows a
// thread loads (_n6 loads two), so that it holds one row's loads in registers at a time.
#define IG_FENCE asm volatile("" ::: "memory")

enum { IG_CONV = 0, IG_RELU = 1, IG_POOL = 2 };

// The geometry of a fused convolution, in 32-bit ints.
struct igeom {
    int B, C, H, W, kh, kw, ph, pw, sh, sw, dh, dw, OH, OW, Cout;
};

__device__ __forceinline__ igeom ig_make(ll B, ll C, ll H, ll W, ll kh, ll kw, ll ph, ll pw, ll sh, ll sw, ll dh, ll dw,
                                          ll OH, ll OW, ll Cout) {
    igeom g;
    g.B = (int)B, g.C = (int)C, g.H = (int)H, g.W = (int)W, g.kh = (int)kh, g.kw = (int)kw, g.ph = (int)ph, g.pw = (int)pw;
    g.sh = (int)sh, g.sw = (int)sw, g.dh = (int)dh, g.dw = (int)dw, g.OH = (int)OH, g.OW = (int)OW, g.Cout = (int)Cout;
    return g;
}

// Position (b, y, x) of GEMM row r of the block's tile: for mode IG_POOL row r is place r/32
// of window blockIdx.x·32 + r%32 of the pooled output (PH x PW a plane); else output
// position blockIdx.x·IG_BM + r. False past the last.
template <int MODE>
__device__ __forceinline__ bool ig_row(const igeom& g, int PH, int PW, int r, int& b, int& y, int& x) {
    if (MODE == IG_POOL) {
        int win = blockIdx.x * (IG_BM / IG_TM) + (r & 31), place = r >> 5;
        int plane = PH * PW;
        if (win >= g.B * plane) return false;
        b = win / plane;
        int s = win - b * plane, py = s / PW;
        y = 2 * py + (place >> 1), x = 2 * (s - py * PW) + (place & 1);
        return true;
    }
    int m = blockIdx.x * IG_BM + r, plane = g.OH * g.OW;
    if (m >= g.B * plane) return false;
    b = m / plane;
    int s = m - b * plane;
    y = s / g.OW, x = s - y * g.OW;
    return true;
}

// The forward fused convolutions. img (B,C,H,W), w [Cout, K], bias [Cout]; MODE IG_CONV: o1 =
// out (B,Cout,OH,OW); IG_RELU: o0 = mask, o1 = out; IG_POOL: o0 = route, o1 = pooled
// (B,Cout,PH,PW). Grid (position tiles, channel tiles), block NC·32.
// ig_tile adds a step's products to a thread's IG_TM x TN outputs: acc[i][j] += Σ_kk
// as[kk][i·32 + tm]·bs[kk][tn·TN + j] over the step's IG_BK taps, in order of kk. The forward
// and the image-gradient kernels share it.
template <typename T, int TN, int NC>
__device__ __forceinline__ void ig_tile(T (&acc)[IG_TM][TN], const T (*as)[IG_BM], const T (*bs)[NC * TN], int tm, int tn) {
#pragma unroll
    for (int kk = 0; kk < IG_BK; kk++) {
        T a[IG_TM], bv[TN];
#pragma unroll
        for (int i = 0; i < IG_TM; i++) a[i] = as[kk][i * 32 + tm];
#pragma unroll
        for (int j = 0; j < TN; j++) bv[j] = bs[kk][tn * TN + j];
#pragma unroll
        for (int i = 0; i < IG_TM; i++)
#pragma unroll
            for (int j = 0; j < TN; j++) acc[i][j] += a[i] * bv[j];
    }
}

template <typename T, int TN, int NC, int MODE>
__device__ void conv_fwd(const T* img, const T* w, const T* bias, T* o0, T* o1, igeom g, int PH, int PW) {
    constexpr int BN = NC * TN, NT = NC * 32, LR = IG_BM / NT;
    __shared__ T as[IG_BK][IG_BM];
    __shared__ T bs[IG_BK][BN];
    __shared__ int kt_off[IG_BK], kt_dy[IG_BK], kt_dx[IG_BK], kt_in[IG_BK];
    const int tid = threadIdx.x, tm = tid & 31, tn = tid >> 5;
    const int K = g.C * g.kh * g.kw, khw = g.kh * g.kw, n0 = blockIdx.y * BN;
    // The positions this thread loads: rows tid, tid + NT... of the tile.
    bool lok[LR];
    int iy0[LR], ix0[LR], lbase[LR];
#pragma unroll
    for (int q = 0; q < LR; q++) {
        int lb = 0, ly = 0, lx = 0;
        lok[q] = ig_row<MODE>(g, PH, PW, tid + q * NT, lb, ly, lx);
        iy0[q] = ly * g.sh - g.ph, ix0[q] = lx * g.sw - g.pw;
        lbase[q] = lb * g.C * g.H * g.W + iy0[q] * g.W + ix0[q];
    }
    T acc[IG_TM][TN];
#pragma unroll
    for (int i = 0; i < IG_TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = T(0);
    for (int k0 = 0; k0 < K; k0 += IG_BK) {
        if (tid < IG_BK) {  // decode the step's taps
            int k = k0 + tid, c = k / khw, rem = k - c * khw, r = rem / g.kw, q = rem - r * g.kw;
            kt_in[tid] = k < K;
            kt_dy[tid] = r * g.dh, kt_dx[tid] = q * g.dw;
            kt_off[tid] = (c * g.H + r * g.dh) * g.W + q * g.dw;
        }
        __syncthreads();
#pragma unroll
        for (int q = 0; q < LR; q++) {
#pragma unroll
            for (int kk = 0; kk < IG_BK; kk++) {
                int ih = iy0[q] + kt_dy[kk], iw = ix0[q] + kt_dx[kk];
                bool in = lok[q] && kt_in[kk] && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
                as[kk][tid + q * NT] = in ? img[lbase[q] + kt_off[kk]] : T(0);
            }
            IG_FENCE;  // a row's 16 loads in flight at a time, not all rows' (registers)
        }
        for (int e = tid; e < IG_BK * BN; e += NT) {
            int kk = e / BN, n = e - kk * BN, o = n0 + n, k = k0 + kk;
            bs[kk][n] = (o < g.Cout && k < K) ? w[o * K + k] : T(0);
        }
        __syncthreads();
        ig_tile<T, TN, NC>(acc, as, bs, tm, tn);
        __syncthreads();
    }
    if (MODE == IG_POOL) {
        // Row i·32 + tm is place i (r·2 + q) of window tm: the first largest activation wins,
        // and its route says whether the ReLU there lets a gradient through.
        int b, y, x;
        if (!ig_row<MODE>(g, PH, PW, tm, b, y, x)) return;
        int plane = PH * PW, s = (y >> 1) * PW + (x >> 1);
#pragma unroll
        for (int j = 0; j < TN; j++) {
            int o = n0 + tn * TN + j;
            if (o >= g.Cout) break;
            T best = T(0), bestMask = T(0);
            int place = 0;
#pragma unroll
            for (int i = 0; i < IG_TM; i++) {
                T pre = acc[i][j] + bias[o];
                T mask = pre >= T(0) ? T(1) : T(0);
                T act = pre * mask;
                if (i == 0 || act > best) best = act, bestMask = mask, place = i;
            }
            int at = (b * g.Cout + o) * plane + s;
            o0[at] = T(place + (bestMask == T(0) ? 4 : 0));
            o1[at] = best;
        }
        return;
    }
    const int plane = g.OH * g.OW;
#pragma unroll
    for (int i = 0; i < IG_TM; i++) {
        int b, y, x;
        if (!ig_row<MODE>(g, PH, PW, i * 32 + tm, b, y, x)) break;
#pragma unroll
        for (int j = 0; j < TN; j++) {
            int o = n0 + tn * TN + j;
            if (o >= g.Cout) break;
            int at = (b * g.Cout + o) * plane + y * g.OW + x;
            T pre = acc[i][j] + bias[o];
            if (MODE == IG_RELU) {
                T mask = pre >= T(0) ? T(1) : T(0);
                o0[at] = mask;
                o1[at] = pre * mask;
            } else {
                o1[at] = pre;
            }
        }
    }
}

#define IG_ARGS B, C, H, W, kh, kw, ph, pw, sh, sw, dh, dw, OH, OW, Cout
// TN channels by NC columns of threads: _n6 (3 by 2, 64 threads) for at most 6 channels, _n8
// (2 by 4) for 7 or 8, _n16 (4 by 4) above (kernelmap.go's convTiles).
#define IGC(T, TN, NC) conv_fwd<T, TN, NC, IG_CONV>((const T*)img, (const T*)w, (const T*)bias, (T*)0, (T*)out, ig_make(IG_ARGS), 0, 0)
#define IGC6(T) IGC(T, 3, 2)
#define IGC8(T) IGC(T, 2, 4)
#define IGC16(T) IGC(T, 4, 4)
KERNELS2(conv_n6, (const void* img, const void* w, const void* bias, void* out, CONV_PARAMS, ll Cout), IGC6)
KERNELS2(conv_n8, (const void* img, const void* w, const void* bias, void* out, CONV_PARAMS, ll Cout), IGC8)
KERNELS2(conv_n16, (const void* img, const void* w, const void* bias, void* out, CONV_PARAMS, ll Cout), IGC16)
#define IGR(T, TN, NC) conv_fwd<T, TN, NC, IG_RELU>((const T*)img, (const T*)w, (const T*)bias, (T*)mask, (T*)out, ig_make(IG_ARGS), 0, 0)
#define IGR6(T) IGR(T, 3, 2)
#define IGR8(T) IGR(T, 2, 4)
#define IGR16(T) IGR(T, 4, 4)
KERNELS2(conv_relu_n6, (const void* img, const void* w, const void* bias, void* mask, void* out, CONV_PARAMS, ll Cout), IGR6)
KERNELS2(conv_relu_n8, (const void* img, const void* w, const void* bias, void* mask, void* out, CONV_PARAMS, ll Cout), IGR8)
KERNELS2(conv_relu_n16, (const void* img, const void* w, const void* bias, void* mask, void* out, CONV_PARAMS, ll Cout), IGR16)
// The pooling's parameters (pB ... POW) are those of ir.PoolGeom; the kernel pools 2x2
// windows at stride 2 without padding (kernelmap.go refuses any other) into PH x PW = POH x POW.
#define POOL2_PARAMS ll pB, ll pC, ll pH, ll pW, ll pkh, ll pkw, ll pph, ll ppw, ll psh, ll psw, ll POH, ll POW
#define IGP(T, TN, NC) conv_fwd<T, TN, NC, IG_POOL>((const T*)img, (const T*)w, (const T*)bias, (T*)route, (T*)pooled, ig_make(IG_ARGS), (int)POH, (int)POW)
#define IGP6(T) IGP(T, 3, 2)
#define IGP8(T) IGP(T, 2, 4)
#define IGP16(T) IGP(T, 4, 4)
KERNELS2(conv_relu_pool_n6, (const void* img, const void* w, const void* bias, void* route, void* pooled, CONV_PARAMS, ll Cout, POOL2_PARAMS), IGP6)
KERNELS2(conv_relu_pool_n8, (const void* img, const void* w, const void* bias, void* route, void* pooled, CONV_PARAMS, ll Cout, POOL2_PARAMS), IGP8)
KERNELS2(conv_relu_pool_n16, (const void* img, const void* w, const void* bias, void* route, void* pooled, CONV_PARAMS, ll Cout, POOL2_PARAMS), IGP16)

// Where the backward kernels read the output's gradient dpre[b, o, y, x]: stored (B, Cout,
// OH, OW), or, with RT, through a ConvReLUPool's route (ir.RouteFilter, RouteData) from the
// pooled gradient dp (B, Cout, PH, PW): dp where the window's route names the place (y%2)·2 +
// x%2, times the ReLU's mask there (0 for a route of 4 or more), as pool_route_back computes
// it; 0 elsewhere and past the last pooled row or column. base is the (b, o) plane's first
// value: b·Cout + o times OH·OW, or PH·PW with RT.
template <typename T, bool RT>
struct gsrc {
    const T* d;
    const T* route;
    int PH, PW;
    __device__ __forceinline__ int plane(const igeom& g) const { return RT ? PH * PW : g.OH * g.OW; }
    __device__ __forceinline__ T at(const igeom& g, int base, int y, int x) const {
        if (!RT) return d[base + y * g.OW + x];
        int py = y >> 1, px = x >> 1;
        if (py >= PH || px >= PW) return T(0);
        int i = base + py * PW + px, r = (int)route[i];
        T v = T(0);
        if (r >= 0 && (r & 3) == (((y & 1) << 1) | (x & 1))) v += (r < 4 ? T(1) : T(0)) * d[i];
        return v;
    }
};

// The image gradient, dimg[m, c] = Σ_k dcol[m, k]·wt[k, c] over the image's positions m =
// (b, ih, iw) and k = (o, r, q): dcol[m, k] = dout[b, o, y, x] where y·sh = ih + ph − r·dh
// and x·sw = iw + pw − q·dw (0 where there is no such output position), wt[k, c] = w[o,
// (c·kh + r)·kw + q]. The same tiles as conv_fwd, a tile's channels the image's; no atomics:
// each image value is one thread's sum.
template <typename T, int TN, int NC, bool RT>
__device__ void conv_data(gsrc<T, RT> src, const T* w, T* dimg, igeom g) {
    constexpr int BN = NC * TN, NT = NC * 32, LR = IG_BM / NT;
    __shared__ T as[IG_BK][IG_BM];
    __shared__ T bs[IG_BK][BN];
    __shared__ int kt_off[IG_BK], kt_dy[IG_BK], kt_dx[IG_BK], kt_in[IG_BK], kt_w[IG_BK];
    const int tid = threadIdx.x, tm = tid & 31, tn = tid >> 5;
    const int khw = g.kh * g.kw, K = g.Cout * khw, KW = g.C * khw, n0 = blockIdx.y * BN;
    const int plane = g.H * g.W, oplane = src.plane(g), M = g.B * plane;
    // The image positions this thread loads: rows tid, tid + NT... of the tile.
    bool lok[LR];
    int ty0[LR], tx0[LR], lbase[LR];
#pragma unroll
    for (int q = 0; q < LR; q++) {
        int lm = blockIdx.x * IG_BM + tid + q * NT, lb = 0, ly = 0, lx = 0;
        lok[q] = lm < M;
        if (lok[q]) {
            lb = lm / plane;
            int s = lm - lb * plane;
            ly = s / g.W, lx = s - ly * g.W;
        }
        ty0[q] = ly + g.ph, tx0[q] = lx + g.pw, lbase[q] = lb * g.Cout * oplane;
    }
    T acc[IG_TM][TN];
#pragma unroll
    for (int i = 0; i < IG_TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = T(0);
    for (int k0 = 0; k0 < K; k0 += IG_BK) {
        if (tid < IG_BK) {
            int k = k0 + tid, o = k / khw, rem = k - o * khw, r = rem / g.kw, q = rem - r * g.kw;
            kt_in[tid] = k < K;
            kt_dy[tid] = r * g.dh, kt_dx[tid] = q * g.dw;
            kt_off[tid] = o * oplane;
            kt_w[tid] = o * KW + r * g.kw + q;  // + c·kh·kw for channel c
        }
        __syncthreads();
#pragma unroll
        for (int q = 0; q < LR; q++) {
#pragma unroll
            for (int kk = 0; kk < IG_BK; kk++) {
                int ty = ty0[q] - kt_dy[kk], tx = tx0[q] - kt_dx[kk];
                bool in = lok[q] && kt_in[kk] && ty >= 0 && tx >= 0;
                int y = 0, x = 0;
                if (in) {
                    y = ty / g.sh, x = tx / g.sw;
                    in = y * g.sh == ty && x * g.sw == tx && y < g.OH && x < g.OW;
                }
                as[kk][tid + q * NT] = in ? src.at(g, lbase[q] + kt_off[kk], y, x) : T(0);
            }
            IG_FENCE;
        }
        for (int e = tid; e < IG_BK * BN; e += NT) {
            int kk = e / BN, n = e - kk * BN, c = n0 + n;
            bs[kk][n] = (c < g.C && kt_in[kk]) ? w[kt_w[kk] + c * khw] : T(0);
        }
        __syncthreads();
        ig_tile<T, TN, NC>(acc, as, bs, tm, tn);
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < IG_TM; i++) {
        int m = blockIdx.x * IG_BM + i * 32 + tm;
        if (m >= M) break;
        int b = m / plane, s = m - b * plane;
#pragma unroll
        for (int j = 0; j < TN; j++) {
            int c = n0 + tn * TN + j;
            if (c >= g.C) break;
            dimg[(b * g.C + c) * plane + s] = acc[i][j];
        }
    }
}
#define IGD(T, TN, NC) conv_data<T, TN, NC, false>(gsrc<T, false>{(const T*)dout, 0, 0, 0}, (const T*)w, (T*)dimg, ig_make(IG_ARGS))
#define IGD6(T) IGD(T, 3, 2)
#define IGD8(T) IGD(T, 2, 4)
#define IGD16(T) IGD(T, 4, 4)
KERNELS2(conv_data_n6, (const void* dout, const void* w, void* dimg, CONV_PARAMS, ll Cout), IGD6)
KERNELS2(conv_data_n8, (const void* dout, const void* w, void* dimg, CONV_PARAMS, ll Cout), IGD8)
KERNELS2(conv_data_n16, (const void* dout, const void* w, void* dimg, CONV_PARAMS, ll Cout), IGD16)
// Through the route (ir.RouteData): the pooling's parameters as conv_relu_pool's.
#define RTSRC(T) gsrc<T, true>{(const T*)dp, (const T*)route, (int)POH, (int)POW}
#define IGRD(T, TN, NC) conv_data<T, TN, NC, true>(RTSRC(T), (const T*)w, (T*)dimg, ig_make(IG_ARGS))
#define IGRD6(T) IGRD(T, 3, 2)
#define IGRD8(T) IGRD(T, 2, 4)
#define IGRD16(T) IGRD(T, 4, 4)
KERNELS2(route_data_n6, (const void* route, const void* dp, const void* w, void* dimg, CONV_PARAMS, ll Cout, POOL2_PARAMS), IGRD6)
KERNELS2(route_data_n8, (const void* route, const void* dp, const void* w, void* dimg, CONV_PARAMS, ll Cout, POOL2_PARAMS), IGRD8)
KERNELS2(route_data_n16, (const void* route, const void* dp, const void* w, void* dimg, CONV_PARAMS, ll Cout, POOL2_PARAMS), IGRD16)

// The filter gradient of the images [z·images, (z+1)·images) (z = blockIdx.z; one part of
// all B images for conv_filter): P[z][o, k] = Σ_m dout[m, o]·col[m, k] over their output
// positions m, in order of m, so every run sums alike. Block (16, 16) computes a 16x16 tile
// of [Cout, K] (o = ty, k = tx); each step loads 16 positions' gradients (ds[m][o]) and
// columns (cs[m][k]), position m = tx, so a warp's loads are consecutive positions. A
// ReduceSum over z follows a split (ir.ConvFilterSplit). For filters of at most 32 taps (the
// LeNet's first: 25): kernelmap.go's _k16.
#define IG_FT 16
template <typename T, bool RT>
__device__ void conv_filter_part(gsrc<T, RT> src, const T* img, T* P, igeom g, int images) {
    __shared__ T ds[IG_FT][IG_FT + 1], cs[IG_FT][IG_FT + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int khw = g.kh * g.kw, K = g.C * khw, KO = K + RT, oplane = g.OH * g.OW, dplane = src.plane(g);
    const int o = blockIdx.y * IG_FT + ty, k = blockIdx.x * IG_FT + tx;
    // Tap k0 + ty, the column this thread loads.
    const int lk = blockIdx.x * IG_FT + ty;
    const bool lkin = lk < K;
    const int lc = lk / khw, lrem = lk - lc * khw, lr = lkin ? lrem / g.kw : 0, lq = lrem - lr * g.kw;
    const int ldy = lr * g.dh, ldx = lq * g.dw, loff = (lc * g.H + ldy) * g.W + ldx;
    const int lo = blockIdx.y * IG_FT + ty;  // the channel whose gradient this thread loads
    const int b0 = blockIdx.z * images, b1 = min(g.B, b0 + images);
    const int m0 = b0 * oplane, m1 = b1 * oplane;
    T acc = T(0);
    for (int mt = m0; mt < m1; mt += IG_FT) {
        int m = mt + tx;
        T dv = T(0), cv = T(0);
        if (m < m1) {
            int b = m / oplane, s = m - b * oplane, y = s / g.OW, x = s - y * g.OW;
            if (lo < g.Cout) dv = src.at(g, (b * g.Cout + lo) * dplane, y, x);
            int ih = y * g.sh - g.ph + ldy, iw = x * g.sw - g.pw + ldx;
            if (lkin && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                cv = img[b * g.C * g.H * g.W + loff + (y * g.sh - g.ph) * g.W + (x * g.sw - g.pw)];
            else if (RT && lk == K)
                cv = T(1);  // the bias's tap
        }
        ds[tx][ty] = dv;
        cs[tx][ty] = cv;
        __syncthreads();
#pragma unroll
        for (int mm = 0; mm < IG_FT; mm++) acc += ds[mm][ty] * cs[mm][tx];
        __syncthreads();
    }
    if (o < g.Cout && k < KO) P[(blockIdx.z * g.Cout + o) * KO + k] = acc;
}
#define DSRC(T) gsrc<T, false>{(const T*)dout, 0, 0, 0}
#define IGF(T) conv_filter_part<T, false>(DSRC(T), (const T*)img, (T*)grad, ig_make(IG_ARGS), (int)B)
KERNELS2(conv_filter_k16, (const void* dout, const void* img, void* grad, CONV_PARAMS, ll Cout), IGF)
#define IGFS(T) conv_filter_part<T, false>(DSRC(T), (const T*)img, (T*)P, ig_make(IG_ARGS), (int)images)
KERNELS2(conv_filter_split_k16, (const void* dout, const void* img, void* P, CONV_PARAMS, ll Cout, ll images), IGFS)
#define IGRF(T) conv_filter_part<T, true>(RTSRC(T), (const T*)img, (T*)P, ig_make(IG_ARGS), (int)images)
KERNELS2(route_filter_k16, (const void* route, const void* dp, const void* img, void* P, CONV_PARAMS, ll Cout, POOL2_PARAMS, ll images), IGRF)

// The same sums for at most 8 channels and 32 taps (kernelmap.go's _c8, the LeNet's first
// layer: 6 by 25): block (32, 8), thread (tx, ty) the sum of channel ty and tap tx, 32
// positions a step. conv_filter_part's 16x16 block would give 10 of its 16 rows of threads to
// channels that do not exist (150 of 512 threads useful where this has 150 of 256). Each value
// of P is one thread's sum in order of the positions, as there: the same bits.
#define IG_CP 32
template <typename T, bool RT>
__device__ void conv_filter_narrow(gsrc<T, RT> src, const T* img, T* P, igeom g, int images) {
    __shared__ T ds[IG_CP][8 + 1], cs[IG_CP][IG_CP + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int khw = g.kh * g.kw, K = g.C * khw, KO = K + RT, oplane = g.OH * g.OW, dplane = src.plane(g);
    const int o = blockIdx.y * 8 + ty, k = blockIdx.x * IG_CP + tx;
    // Tap k, the column this thread loads (for positions ty + 8·i of a step).
    const bool kin = k < K;
    const int c = k / khw, rem = k - c * khw, r = kin ? rem / g.kw : 0, q = rem - r * g.kw;
    const int dy = r * g.dh, dx = q * g.dw, koff = (c * g.H + dy) * g.W + dx;
    const int b0 = blockIdx.z * images, b1 = min(g.B, b0 + images);
    const int m0 = b0 * oplane, m1 = b1 * oplane;
    T acc = T(0);
    for (int mt = m0; mt < m1; mt += IG_CP) {
        {  // the gradient of channel ty at position tx of the step
            int m = mt + tx;
            T dv = T(0);
            if (m < m1 && o < g.Cout) {
                int b = m / oplane, s = m - b * oplane, y = RT ? s / g.OW : 0;
                dv = RT ? src.at(g, (b * g.Cout + o) * dplane, y, s - y * g.OW) : src.d[(b * g.Cout + o) * oplane + s];
            }
            ds[tx][ty] = dv;
        }
#pragma unroll
        for (int i = 0; i < IG_CP / 8; i++) {  // tap tx at positions ty + 8·i
            int pos = ty + 8 * i, m = mt + pos;
            T cv = T(0);
            if (m < m1 && kin) {
                int b = m / oplane, s = m - b * oplane, y = s / g.OW, x = s - y * g.OW;
                int ih = y * g.sh - g.ph + dy, iw = x * g.sw - g.pw + dx;
                if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
                    cv = img[b * g.C * g.H * g.W + koff + (y * g.sh - g.ph) * g.W + (x * g.sw - g.pw)];
            } else if (RT && m < m1 && k == K) {
                cv = T(1);  // the bias's tap
            }
            cs[pos][tx] = cv;
        }
        __syncthreads();
#pragma unroll 8
        for (int mm = 0; mm < IG_CP; mm++) acc += ds[mm][ty] * cs[mm][tx];
        __syncthreads();
    }
    if (o < g.Cout && k < KO) P[(blockIdx.z * g.Cout + o) * KO + k] = acc;
}
#define IGN(T) conv_filter_narrow<T, false>(DSRC(T), (const T*)img, (T*)grad, ig_make(IG_ARGS), (int)B)
KERNELS2(conv_filter_c8, (const void* dout, const void* img, void* grad, CONV_PARAMS, ll Cout), IGN)
#define IGNS(T) conv_filter_narrow<T, false>(DSRC(T), (const T*)img, (T*)P, ig_make(IG_ARGS), (int)images)
KERNELS2(conv_filter_split_c8, (const void* dout, const void* img, void* P, CONV_PARAMS, ll Cout, ll images), IGNS)
#define IGRN(T) conv_filter_narrow<T, true>(RTSRC(T), (const T*)img, (T*)P, ig_make(IG_ARGS), (int)images)
KERNELS2(route_filter_c8, (const void* route, const void* dp, const void* img, void* P, CONV_PARAMS, ll Cout, POOL2_PARAMS, ll images), IGRN)

// The same sums for at most 8 channels and 32 taps over many parts (kernelmap.go's _t4, from
// filtTiledParts parts: the LeNet's first layer at large batches, an image a part): a block of
// IG_TG = 8 groups of 16 threads, group q computing part blockIdx.z·8 + q; thread t of a group
// the 4 channels 4·(t/8)... by the 4 taps 4·(t%8)... of its part in registers, IG_TP = 16
// positions a step. Per position a thread reads 8 values of shared memory for 16
// multiply-adds, where _c8's threads read 2 for 1. Each value is still one thread's sum in
// order of the positions: the same bits as _c8 and _k16. Every group runs the same number of
// steps (a block's barriers); a group past the last part, or past the end of a shorter last
// part, adds zeros. A group's columns are IG_CSG values apart: 2 more than its 16 rows of 33,
// so that the two groups of a warp read 4-byte banks 2 apart (their 8 taps each, 4 apart)
// instead of the same banks.
#define IG_TG 8
#define IG_TP 16
#define IG_CSG (IG_TP * (IG_CP + 1) + 2)
template <typename T, bool RT>
__device__ void conv_filter_tiled(gsrc<T, RT> src, const T* img, T* P, igeom g, int images) {
    __shared__ T ds[IG_TG][IG_TP][8 + 1], cs[IG_TG * IG_CSG];
    __shared__ int kt_off[IG_CP], kt_dy[IG_CP], kt_dx[IG_CP], kt_in[IG_CP];
    const int tid = threadIdx.x, q = tid >> 4, t = tid & 15;
    const int khw = g.kh * g.kw, K = g.C * khw, KO = K + RT, oplane = g.OH * g.OW, dplane = src.plane(g);
    if (tid < IG_CP) {  // the taps, once: 1 an image tap, 2 the bias's, 0 none
        int k = tid, c = k / khw, rem = k - c * khw, r = rem / g.kw, qq = rem - r * g.kw;
        kt_in[tid] = k < K ? 1 : (RT && k == K ? 2 : 0);
        kt_dy[tid] = r * g.dh, kt_dx[tid] = qq * g.dw;
        kt_off[tid] = (c * g.H + r * g.dh) * g.W + qq * g.dw;
    }
    const int z = blockIdx.z * IG_TG + q;  // this group's part
    const int b0 = min(g.B, z * images), b1 = min(g.B, b0 + images);
    const int m0 = b0 * oplane, m1 = b1 * oplane, steps = images * oplane;
    const int oc = (t >> 3) * 4, kc = (t & 7) * 4;  // this thread's channels and taps
    T acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = T(0);
    __syncthreads();
    for (int s0 = 0; s0 < steps; s0 += IG_TP) {
        {  // position t of the step: its 8 channels' gradients and 32 taps' columns
            int m = m0 + s0 + t, b = 0, y = 0, x = 0;
            const bool in = m < m1;
            if (in) {
                b = m / oplane;
                int s = m - b * oplane;
                y = s / g.OW, x = s - y * g.OW;
            }
            const int iy0 = y * g.sh - g.ph, ix0 = x * g.sw - g.pw, ibase = b * g.C * g.H * g.W + iy0 * g.W + ix0;
#pragma unroll
            for (int o = 0; o < 8; o++) ds[q][t][o] = (in && o < g.Cout) ? src.at(g, (b * g.Cout + o) * dplane, y, x) : T(0);
#pragma unroll 8
            for (int kk = 0; kk < IG_CP; kk++) {
                int ih = iy0 + kt_dy[kk], iw = ix0 + kt_dx[kk];
                bool ok = in && kt_in[kk] == 1 && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
                cs[q * IG_CSG + t * (IG_CP + 1) + kk] = ok ? img[ibase + kt_off[kk]] : (RT && in && kt_in[kk] == 2 ? T(1) : T(0));
            }
        }
        __syncthreads();
#pragma unroll 4
        for (int p = 0; p < IG_TP; p++) {
            T a[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = ds[q][p][oc + i];
#pragma unroll
            for (int j = 0; j < 4; j++) bv[j] = cs[q * IG_CSG + p * (IG_CP + 1) + kc + j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * bv[j];
        }
        __syncthreads();
    }
    if (b0 >= b1) return;  // past the last part
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int o = oc + i;
        if (o >= g.Cout) break;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int k = kc + j;
            if (k < KO) P[(z * g.Cout + o) * KO + k] = acc[i][j];
        }
    }
}
#define IGTS(T) conv_filter_tiled<T, false>(DSRC(T), (const T*)img, (T*)P, ig_make(IG_ARGS), (int)images)
KERNELS2(conv_filter_split_t4, (const void* dout, const void* img, void* P, CONV_PARAMS, ll Cout, ll images), IGTS)
#define IGRT(T) conv_filter_tiled<T, true>(RTSRC(T), (const T*)img, (T*)P, ig_make(IG_ARGS), (int)images)
KERNELS2(route_filter_t4, (const void* route, const void* dp, const void* img, void* P, CONV_PARAMS, ll Cout, POOL2_PARAMS, ll images), IGRT)

// The same sums for filters of more taps (kernelmap.go takes it for more than 32): a block of
// IG_WT threads computes a tile of 16 channels by IG_WK = 64 taps, each thread 2 channels by 4
// taps (o = 2·(tid/16) + i, k = tid%16 + 16·j) in registers, over IG_WP = 32 positions a
// step. The block decodes its 64 taps once (wt_*); thread t then loads position t%32's
// gradients of 4 channels and columns of 16 taps each step, a warp's loads consecutive
// positions. Each value of P is one thread's sum in order of the positions, as above.
#define IG_WT 128
#define IG_WK 64
#define IG_WP 32
template <typename T, bool RT>
__device__ void conv_filter_wide(gsrc<T, RT> src, const T* img, T* P, igeom g, int images) {
    __shared__ T ds[IG_WP][IG_FT + 1], cs[IG_WP][IG_WK + 1];
    __shared__ int wt_off[IG_WK], wt_dy[IG_WK], wt_dx[IG_WK], wt_in[IG_WK];
    const int tid = threadIdx.x, khw = g.kh * g.kw, K = g.C * khw, KO = K + RT, oplane = g.OH * g.OW, dplane = src.plane(g);
    const int o0 = blockIdx.y * IG_FT, k0 = blockIdx.x * IG_WK;
    if (tid < IG_WK) {
        int k = k0 + tid, c = k / khw, rem = k - c * khw, r = rem / g.kw, q = rem - r * g.kw;
        wt_in[tid] = k < K ? 1 : (RT && k == K ? 2 : 0);  // 2: the bias's tap
        wt_dy[tid] = r * g.dh, wt_dx[tid] = q * g.dw;
        wt_off[tid] = (c * g.H + r * g.dh) * g.W + q * g.dw;
    }
    const int lp = tid & (IG_WP - 1), lrow = tid / IG_WP;  // the position this thread loads; its first channel and tap
    const int to = tid / 16, tk = tid & 15;                 // channels 2·to, 2·to+1; taps tk + 16·j
    const int b0 = blockIdx.z * images, b1 = min(g.B, b0 + images);
    const int m0 = b0 * oplane, m1 = b1 * oplane;
    T acc[2][4];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = T(0);
    __syncthreads();
    for (int mt = m0; mt < m1; mt += IG_WP) {
        int m = mt + lp, b = 0, y = 0, x = 0, iy0 = 0, ix0 = 0;
        const bool in = m < m1;
        if (in) {
            b = m / oplane;
            int s = m - b * oplane;
            y = s / g.OW, x = s - y * g.OW;
            iy0 = y * g.sh - g.ph, ix0 = x * g.sw - g.pw;
        }
        const int dbase = b * g.Cout * dplane, ibase = b * g.C * g.H * g.W + iy0 * g.W + ix0;
#pragma unroll
        for (int i = 0; i < IG_FT / (IG_WT / IG_WP); i++) {
            int oo = lrow + i * (IG_WT / IG_WP), o = o0 + oo;
            ds[lp][oo] = (in && o < g.Cout) ? src.at(g, dbase + o * dplane, y, x) : T(0);
        }
#pragma unroll
        for (int i = 0; i < IG_WK / (IG_WT / IG_WP); i++) {
            int kk = lrow + i * (IG_WT / IG_WP);
            int ih = iy0 + wt_dy[kk], iw = ix0 + wt_dx[kk];
            bool ok = in && wt_in[kk] == 1 && ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
            cs[lp][kk] = ok ? img[ibase + wt_off[kk]] : (RT && in && wt_in[kk] == 2 ? T(1) : T(0));
        }
        __syncthreads();
#pragma unroll 8
        for (int mm = 0; mm < IG_WP; mm++) {
            T d0 = ds[mm][2 * to], d1 = ds[mm][2 * to + 1];
#pragma unroll
            for (int j = 0; j < 4; j++) {
                T c = cs[mm][tk + 16 * j];
                acc[0][j] += d0 * c;
                acc[1][j] += d1 * c;
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 2; i++) {
        int o = o0 + 2 * to + i;
        if (o >= g.Cout) break;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int k = k0 + tk + 16 * j;
            if (k < KO) P[(blockIdx.z * g.Cout + o) * KO + k] = acc[i][j];
        }
    }
}
#define IGW(T) conv_filter_wide<T, false>(DSRC(T), (const T*)img, (T*)grad, ig_make(IG_ARGS), (int)B)
KERNELS2(conv_filter_k64, (const void* dout, const void* img, void* grad, CONV_PARAMS, ll Cout), IGW)
#define IGWS(T) conv_filter_wide<T, false>(DSRC(T), (const T*)img, (T*)P, ig_make(IG_ARGS), (int)images)
KERNELS2(conv_filter_split_k64, (const void* dout, const void* img, void* P, CONV_PARAMS, ll Cout, ll images), IGWS)
#define IGRW(T) conv_filter_wide<T, true>(RTSRC(T), (const T*)img, (T*)P, ig_make(IG_ARGS), (int)images)
KERNELS2(route_filter_k64, (const void* route, const void* dp, const void* img, void* P, CONV_PARAMS, ll Cout, POOL2_PARAMS, ll images), IGRW)

// dw and db from a route_filter's parts P [parts, Cout, K + 1] (ir.FilterSum): one block (a
// power of two of at most 128 threads) per value of [Cout, K + 1], reduce_sum's fixed-order
// tree over the parts; column K is the bias.
template <typename T>
__device__ void filter_sum(const T* P, T* dw, T* db, ll parts, ll cout, ll K) {
    __shared__ T part[128];
    const ll n = cout * (K + 1), i = blockIdx.x;
    T acc = 0;
    for (ll z = threadIdx.x; z < parts; z += blockDim.x) acc += P[z * n + i];
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        ll o = i / (K + 1), k = i - o * (K + 1);
        if (k < K)
            dw[o * K + k] = part[0];
        else
            db[o] = part[0];
    }
}
#define FS(T) filter_sum<T>((const T*)P, (T*)dw, (T*)db, parts, cout, K)
KERNELS2(filter_sum, (const void* P, void* dw, void* db, ll parts, ll cout, ll K), FS)

// The gradient through ConvReLUPool's pooling and ReLU (ir.PoolRouteBack): one thread per
// value of dx (B, C, H, W) gathers, in order of the windows, m·dpooled of each window that
// routes to it (m = 0 for a route of kh·kw or more: the ReLU was off there), so no atomics.
template <typename T>
__device__ void pool_route_back(const T* route, const T* dp, T* dx, int B, int C, int H, int W, int kh, int kw, int ph,
                                int pw, int sh, int sw, int OH, int OW) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B * C * H * W) return;
    int iw = i % W, ih = (i / W) % H, bc = i / (W * H), khw = kh * kw;
    T acc = T(0);
    int oh0 = max(0, (ih + ph - kh + sh) / sh), oh1 = min(OH - 1, (ih + ph) / sh);
    int ow0 = max(0, (iw + pw - kw + sw) / sw), ow1 = min(OW - 1, (iw + pw) / sw);
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++) {
            int o = (bc * OH + oh) * OW + ow, place = (int)route[o];
            if (place < 0) continue;
            T m = place < khw ? T(1) : T(0);
            if (place >= khw) place -= khw;
            int r = place / kw;
            if (oh * sh - ph + r == ih && ow * sw - pw + (place - r * kw) == iw) acc += m * dp[o];
        }
    dx[i] = acc;
}
#define PRB(T) pool_route_back<T>((const T*)route, (const T*)dp, (T*)dx, (int)B, (int)C, (int)H, (int)W, (int)kh, (int)kw, (int)ph, (int)pw, (int)sh, (int)sw, (int)OH, (int)OW)
KERNELS2(pool_route_back, (const void* route, const void* dp, void* dx, POOL_PARAMS), PRB)

// dx for max pooling times the ReLU's mask before it (ir.MaxPoolBackMask): maxpool_back's sum,
// then the product.
template <typename T>
__device__ void maxpool_back_mask(const T* in, const T* g, const T* mask, T* dx, POOL_PARAMS) {
    ll i = gid();
    if (i >= B * C * H * W) return;
    ll iw = i % W, ih = (i / W) % H, bc = i / (W * H);
    T acc = 0;
    ll oh0 = max(0LL, (ih + ph - kh + sh) / sh), oh1 = min(OH - 1, (ih + ph) / sh);
    ll ow0 = max(0LL, (iw + pw - kw + sw) / sw), ow1 = min(OW - 1, (iw + pw) / sw);
    for (ll oh = oh0; oh <= oh1; oh++)
        for (ll ow = ow0; ow <= ow1; ow++)
            if (pool_argmax(in, bc, oh, ow, B, C, H, W, kh, kw, ph, pw, sh, sw, OH, OW) == i)
                acc += g[(bc * OH + oh) * OW + ow];
    dx[i] = mask[i] * acc;
}
#define MPBM(T) maxpool_back_mask<T>((const T*)in, (const T*)g, (const T*)mask, (T*)dx, B, C, H, W, kh, kw, ph, pw, sh, sw, OH, OW)
KERNELS2(maxpool_back_mask, (const void* in, const void* g, const void* mask, void* dx, POOL_PARAMS), MPBM)
