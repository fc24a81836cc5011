package cpu

import (
	"math"

	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/internal/vec"
	"github.com/graphtrain/graphtrain/ir"
)

// Every kernel here computes what package ref defines for its op. Work is cut into chunks of
// a fixed size, whatever the number of workers, and no sum is ever split across chunks, so
// that a result is the same bit for bit on any number of cores.

// chunk is the number of elements of an elementwise kernel's piece of work.
const chunk = 4096

// loop is a parallel loop over [0, n) in pieces of size: Do(i) runs body on piece i.
type loop struct {
	n, size int
	body    func(lo, hi int)
}

func (l *loop) Do(i int) {
	lo := i * l.size
	l.body(lo, min(lo+l.size, l.n))
}

// forEach returns a call that runs body over [0, n) in pieces of size on pool: inline, with
// no synchronisation, when there is one piece.
func forEach(pool *parallel.Pool, n, size int, body func(lo, hi int)) func() {
	size = max(1, size)
	pieces := (n + size - 1) / size
	if pieces <= 1 {
		return func() { body(0, n) }
	}
	l := &loop{n: n, size: size, body: body}
	return func() { pool.Run(pieces, l) }
}

// expCost is how many elementwise operations an exponential costs, in the pieces of the
// softmaxes' rows: a batch's rows of 10 classes are work for several workers.
const expCost = 64

// perRow is the number of rows of cols values that make about one chunk.
func perRow(cols int) int { return max(1, chunk/max(1, cols)) }

// binaryOp is the function of a binary code for T: the exact operation for + − × ÷ (a
// float32 result of one is the float64 result rounded, as ref computes it), the float64
// function rounded for the others.
func binaryOp[T float](op ir.BinaryOp) (func(x, y T) T, bool) {
	b2 := func(b bool) T {
		if b {
			return 1
		}
		return 0
	}
	switch op {
	case ir.Add:
		return func(x, y T) T { return x + y }, true
	case ir.Sub:
		return func(x, y T) T { return x - y }, true
	case ir.Mul:
		return func(x, y T) T { return x * y }, true
	case ir.Div:
		return func(x, y T) T { return x / y }, true
	case ir.Pow:
		return func(x, y T) T { return T(math.Pow(float64(x), float64(y))) }, true
	case ir.Lt:
		return func(x, y T) T { return b2(x < y) }, true
	case ir.Gt:
		return func(x, y T) T { return b2(x > y) }, true
	case ir.Le:
		return func(x, y T) T { return b2(x <= y) }, true
	case ir.Ge:
		return func(x, y T) T { return b2(x >= y) }, true
	case ir.Eq:
		return func(x, y T) T { return b2(x == y) }, true
	case ir.Ne:
		return func(x, y T) T { return b2(x != y) }, true
	}
	return nil, false
}

// binary is c[i] = a[i·sa] op b[i·sb]. The common cases (a sum, a product, a comparison
// with a scalar) have loops of their own; the rest call the operator's function.
func binary[T float](pool *parallel.Pool, a, b, c []T, n, sa, sb int, op ir.BinaryOp) func() {
	f, _ := binaryOp[T](op)
	var body func(lo, hi int)
	switch {
	case op == ir.Add && sa == 1 && sb == 1:
		body = func(lo, hi int) {
			a, b, c := a[lo:hi], b[lo:hi], c[lo:hi]
			for i := range c {
				c[i] = a[i] + b[i]
			}
		}
	case op == ir.Mul && sa == 1 && sb == 1:
		body = func(lo, hi int) {
			a, b, c := a[lo:hi], b[lo:hi], c[lo:hi]
			for i := range c {
				c[i] = a[i] * b[i]
			}
		}
	case op == ir.Ge && sa == 1 && sb == 0:
		body = func(lo, hi int) {
			a, c, y := a[lo:hi], c[lo:hi], b[0]
			for i := range c {
				c[i] = 0
				if a[i] >= y {
					c[i] = 1
				}
			}
		}
	default:
		body = func(lo, hi int) {
			for i := lo; i < hi; i++ {
				c[i] = f(a[i*sa], b[i*sb])
			}
		}
	}
	return forEach(pool, n, chunk, body)
}

// binaryF32 is the float32 Binary launches that package vec has SIMD kernels for, exact as
// ref's (a sum, a product, the ReLU's mask x ≥ 0), or nil.
func binaryF32(pool *parallel.Pool, a, b, c []float32, n, sa, sb int, op ir.BinaryOp) func() {
	switch {
	case op == ir.Add && sa == 1 && sb == 1:
		return forEach(pool, n, chunk, func(lo, hi int) { vec.Add(c[lo:hi], a[lo:hi], b[lo:hi]) })
	case op == ir.Mul && sa == 1 && sb == 1:
		return forEach(pool, n, chunk, func(lo, hi int) { vec.MaskMul(c[lo:hi], a[lo:hi], b[lo:hi]) })
	case op == ir.Ge && sa == 1 && sb == 0:
		general := binary(pool, a, b, c, n, sa, sb, op)
		mask := forEach(pool, n, chunk, func(lo, hi int) { vec.GeZeroMask(c[lo:hi], a[lo:hi]) })
		return func() {
			if b[0] == 0 {
				mask()
			} else {
				general()
			}
		}
	}
	return nil
}

// unary is c[i] = f(a[i]) for the function f of a unary code (ir.UnaryOp.Func, the one
// ref computes with, picked once here, not per element), in float64, rounded to T. It is
// false for a code with no function.
func unary[T float](pool *parallel.Pool, a, c []T, n int, op ir.UnaryOp) (func(), bool) {
	f, ok := op.Func()
	if !ok {
		return nil, false
	}
	return forEach(pool, n, chunk, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			c[i] = T(f(float64(a[i])))
		}
	}), true
}

// gather4 is out[i0,i1,i2,i3] = in[i0·s0 + i1·s1 + i2·s2 + i3·s3], row by row of the last
// axis.
func gather4[T float](pool *parallel.Pool, in, out []T, p ir.Gather4Params) func() {
	d0, d1, d2, d3 := p.Dims[0], p.Dims[1], p.Dims[2], p.Dims[3]
	s0, s1, s2, s3 := p.Strides[0], p.Strides[1], p.Strides[2], p.Strides[3]
	block := d1 * d2 * d3
	switch {
	case d3 > 1 && s2 == 1 && s1 == d2 && s3 == d1*d2:
		// Channels last, as a convolution's gradient goes into its product: each i0's block
		// in is [d3][d1·d2], out its transpose [d1·d2][d3].
		return forEach(pool, d0, max(1, chunk/max(1, block)), func(lo, hi int) {
			for i0 := lo; i0 < hi; i0++ {
				transpose(out[i0*block:(i0+1)*block], in[i0*s0:i0*s0+block], d3, d1*d2)
			}
		})
	case d1 > 1 && s1 == 1 && s3 == d1 && s2 == d1*d3:
		// Channels first, as a convolution's product comes out: each i0's block in is
		// [d2·d3][d1], out its transpose [d1][d2·d3].
		return forEach(pool, d0, max(1, chunk/max(1, block)), func(lo, hi int) {
			for i0 := lo; i0 < hi; i0++ {
				transpose(out[i0*block:(i0+1)*block], in[i0*s0:i0*s0+block], d2*d3, d1)
			}
		})
	}
	rows := d0 * d1 * d2
	return forEach(pool, rows, perRow(d3), func(lo, hi int) {
		// (i0, i1, i2) of row lo, then carried along.
		i2 := lo % d2
		i1 := (lo / d2) % d1
		i0 := lo / (d2 * d1)
		for r := lo; r < hi; r++ {
			src := i0*s0 + i1*s1 + i2*s2
			dst := out[r*d3 : (r+1)*d3]
			if s3 == 1 {
				copy(dst, in[src:src+d3])
			} else {
				for j := range dst {
					dst[j] = in[src+j*s3]
				}
			}
			if i2++; i2 == d2 {
				i2 = 0
				if i1++; i1 == d1 {
					i1, i0 = 0, i0+1
				}
			}
		}
	})
}

// transpose writes src [rows][cols] into dst as [cols][rows].
func transpose[T float](dst, src []T, rows, cols int) {
	src, dst = src[:rows*cols], dst[:rows*cols]
	for c := 0; c < cols; c++ {
		d := dst[c*rows : (c+1)*rows]
		for r := range d {
			d[r] = src[r*cols+c]
		}
	}
}

// gemmRef is a Gemm, GemmBias, GemmBiasReLU, GemmMul or GemmSplit of any dtype in plain loops, sums
// in float64 rounded once, as ref computes it: the float64 programs (the XOR net's tiny
// products) use it.
func gemmRef[T float](l ir.Launch, a func(int) []T) (func(), error) {
	var p ir.GemmSplitParams
	var err error
	if l.Op == ir.GemmSplit {
		p, err = l.GemmSplitParams()
	} else {
		p.GemmParams, err = l.GemmParams()
		p.KC = p.K
	}
	if err != nil {
		return nil, err
	}
	m, n, k, ta, tb, kc := p.M, p.N, p.K, p.TransA, p.TransB, p.KC
	A, B, C := a(0), a(1), a(len(l.Args)-1)
	var bias, mask, times []T
	switch l.Op {
	case ir.GemmBias:
		bias = a(2)
	case ir.GemmBiasReLU:
		bias, mask = a(2), a(3)
	case ir.GemmMul:
		times = a(2)
	}
	return func() {
		for z := 0; z*kc < max(k, 1); z++ {
			k0, k1 := z*kc, min(k, (z+1)*kc)
			out := C[z*m*n:]
			for r := 0; r < m; r++ {
				for col := 0; col < n; col++ {
					var acc float64
					for q := k0; q < k1; q++ {
						av, bv := A[r*k+q], B[q*n+col]
						if ta {
							av = A[q*m+r]
						}
						if tb {
							bv = B[col*k+q]
						}
						acc += float64(av) * float64(bv)
					}
					if bias != nil {
						acc += float64(bias[col])
					}
					out[r*n+col] = T(acc)
					if mask != nil {
						mask[r*n+col] = 0
						if out[r*n+col] >= 0 {
							mask[r*n+col] = 1
						}
						out[r*n+col] *= mask[r*n+col]
					}
					if times != nil {
						out[r*n+col] *= times[r*n+col]
					}
				}
			}
		}
	}, nil
}

// reduceSum is out[o,i] = Σ_k in[o,k,i] in float64, rounded once, over pieces of the
// outputs (inner = 1: whole sums in order of k, as ref) or, along the rows of [length, inner]
// matrices, over blocks of rows by ranges of columns (reduceBlocks).
func reduceSum[T float](pool *parallel.Pool, in, out []T, outer, length, inner int) func() {
	if inner == 1 {
		return forEach(pool, outer, perRow(length), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				var acc float64
				for _, v := range in[o*length : (o+1)*length] {
					acc += float64(v)
				}
				out[o] = T(acc)
			}
		})
	}
	return reduceBlocks(pool, in, out, outer, length, inner)
}

// reduceRows and reduceCols cut a sum along the rows of a [length, inner] matrix into pieces:
// blocks of reduceRows rows by ranges of reduceCols columns.
const (
	reduceRows = 64
	reduceCols = 512
)

// reduceBlocks sums along the rows of [length, inner] matrices in pieces of reduceRows rows
// by reduceCols columns, each summing its rows in order into a float64 row of its own, then
// adds each column's blocks in order and rounds once: the same order on any number of
// workers (ref's when length <= reduceRows). A layer's bias gradient, [batch, units], is so
// cut into blocks of the rows that the workers wrote in the product before: cut by columns
// instead, each worker read half of its rows from the other worker's cache, and on a 2-core
// EPYC VM the mlp's took 28 µs on two workers against 17 on one (docs/DESIGN.md, "Spans of
// equal rows").
func reduceBlocks[T float](pool *parallel.Pool, in, out []T, outer, length, inner int) func() {
	blocks, ranges := ceilDiv(length, reduceRows), ceilDiv(inner, reduceCols)
	part := make([]float64, outer*blocks*inner)                           // [outer, blocks, inner]
	per := max(1, chunk/(min(length, reduceRows)*min(inner, reduceCols))) // small sums inline
	sum := forEach(pool, outer*blocks*ranges, per, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			c := p % ranges
			ob := p / ranges // o*blocks + b
			o, b := ob/blocks, ob%blocks
			c0, c1 := c*reduceCols, min(inner, (c+1)*reduceCols)
			acc := part[ob*inner+c0 : ob*inner+c1]
			clear(acc)
			for k := b * reduceRows; k < min(length, (b+1)*reduceRows); k++ {
				addWiden(acc, in[(o*length+k)*inner+c0:(o*length+k)*inner+c1])
			}
		}
	})
	return func() {
		sum()
		for o := 0; o < outer; o++ {
			first := part[o*blocks*inner:][:inner]
			for i, v := range first {
				for b := 1; b < blocks; b++ {
					v += part[(o*blocks+b)*inner+i]
				}
				out[o*inner+i] = T(v)
			}
		}
	}
}

// addWiden is acc[i] += float64(x[i]): on SIMD for float32 (vec.AddWiden, the same bits as
// the loop, which float64 rows take).
func addWiden[T float](acc []float64, x []T) {
	if x32, ok := any(x).([]float32); ok {
		vec.AddWiden(acc, x32)
		return
	}
	x = x[:len(acc)]
	for i, v := range x {
		acc[i] += float64(v)
	}
}

// softmaxXent: each row's term of the loss and the gradient of its logits (see
// ir.SoftmaxXent), in float64 as ref.
func softmaxXent[T float](pool *parallel.Pool, x, y, terms, dx []T, rows, cols int, c float64) func() {
	per := perRow(cols * expCost)
	// Each piece's row of exp(x − max), computed once and used twice (the same values ref
	// computes twice).
	exps := make([][]float64, (rows+per-1)/per)
	for i := range exps {
		exps[i] = make([]float64, cols)
	}
	return forEach(pool, rows, per, func(lo, hi int) {
		e := exps[lo/per]
		for r := lo; r < hi; r++ {
			xr, yr, dr := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
			mx := float64(xr[0])
			for _, v := range xr {
				mx = math.Max(mx, float64(v))
			}
			var sum, ysum, acc float64
			for j, v := range xr {
				e[j] = math.Exp(float64(v) - mx)
				sum += e[j]
			}
			ls := math.Log(sum)
			for j, v := range xr {
				ysum += float64(yr[j])
				acc += float64(yr[j]) * (float64(v) - mx - ls)
			}
			for j := range xr {
				dr[j] = T(c * (float64(yr[j]) - e[j]/sum*ysum))
			}
			terms[r] = T(c * acc)
		}
	})
}

func softmax[T float](pool *parallel.Pool, x, y []T, rows, cols int, isLog bool) func() {
	return forEach(pool, rows, perRow(cols*expCost), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
			mx := float64(xr[0])
			for _, v := range xr {
				mx = math.Max(mx, float64(v))
			}
			var sum float64
			for _, v := range xr {
				sum += math.Exp(float64(v) - mx)
			}
			for j, v := range xr {
				if isLog {
					yr[j] = T(float64(v) - mx - math.Log(sum))
				} else {
					yr[j] = T(math.Exp(float64(v)-mx) / sum)
				}
			}
		}
	})
}

func softmaxBack[T float](pool *parallel.Pool, y, g, dx []T, rows, cols int, isLog bool) func() {
	return forEach(pool, rows, perRow(cols*expCost), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			yr, gr, dr := y[r*cols:(r+1)*cols], g[r*cols:(r+1)*cols], dx[r*cols:(r+1)*cols]
			var sum float64
			for j := range gr {
				if isLog {
					sum += float64(gr[j])
				} else {
					sum += float64(yr[j]) * float64(gr[j])
				}
			}
			for j := range gr {
				if isLog {
					dr[j] = T(float64(gr[j]) - math.Exp(float64(yr[j]))*sum)
				} else {
					dr[j] = T((float64(gr[j]) - sum) * float64(yr[j]))
				}
			}
		}
	})
}

// conv is the geometry of an Im2col or Col2im launch.
type conv struct{ B, C, H, W, kh, kw, ph, pw, sh, sw, dh, dw, OH, OW int }

// convOf is g as conv.
func convOf(g ir.ConvGeom) conv {
	return conv{B: g.B, C: g.C, H: g.H, W: g.W, kh: g.KH, kw: g.KW, ph: g.PadH, pw: g.PadW,
		sh: g.StrideH, sw: g.StrideW, dh: g.DilH, dw: g.DilW, OH: g.OH, OW: g.OW}
}

// im2col writes the columns of each image, one image a piece of work. Element (oh, ow, k)
// of an image's columns, k = (c·kh + r)·kw + q, is pixel (c, oh·sh − ph + r·dh, ow·sw − pw +
// q·dw), or 0 outside the image. At unit strides (the cnn's) it goes through zero-padded
// planes; any other geometry a kernel row's run of kw pixels at a time.
func im2col[T float](pool *parallel.Pool, img, col []T, g conv) func() {
	if g.unit() {
		return im2colPadded(pool, img, col, g)
	}
	return im2colRuns(pool, img, col, g)
}

// unit reports whether the convolution has strides and dilations of 1, as the cnn's have.
func (g *conv) unit() bool { return g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 }

// padded holds, for each piece of work, an image's channels with their padding as zeros:
// (C, H+2·ph, W+2·pw), so that every kernel row is kw consecutive values with no bounds to
// check.
type padded[T float] struct {
	g      conv
	ph, pw int // the padded plane's height and width
	planes [][]T
}

func newPadded[T float](g conv) *padded[T] {
	p := &padded[T]{g: g, ph: g.H + 2*g.ph, pw: g.W + 2*g.pw}
	p.planes = make([][]T, g.B)
	return p
}

// plane is image b's padded channels, made once.
func (p *padded[T]) plane(b int) []T {
	if p.planes[b] == nil {
		p.planes[b] = make([]T, p.g.C*p.ph*p.pw)
	}
	return p.planes[b]
}

// addRun adds the kw values at src to dst.
func addRun[T float](dst, src []T) {
	if len(dst) == 5 {
		d, s := (*[5]T)(dst), (*[5]T)(src)
		d[0] += s[0]
		d[1] += s[1]
		d[2] += s[2]
		d[3] += s[3]
		d[4] += s[4]
		return
	}
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// im2colPadded is im2col at unit strides: each image is copied into its padded planes, then
// every column is kh runs of kw values per channel.
func im2colPadded[T float](pool *parallel.Pool, img, col []T, g conv) func() {
	K := g.C * g.kh * g.kw
	per := g.OH * g.OW * K
	pd := newPadded[T](g)
	for b := range pd.planes {
		pd.plane(b) // the padding stays zero: allocate every plane once, now
	}
	return forEach(pool, g.B, max(1, chunk/max(1, per)), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			pl := pd.plane(b)
			for c := 0; c < g.C; c++ {
				for h := 0; h < g.H; h++ {
					copy(pl[(c*pd.ph+h+g.ph)*pd.pw+g.pw:][:g.W], img[((b*g.C+c)*g.H+h)*g.W:][:g.W])
				}
			}
			out := col[b*per : (b+1)*per]
			i := 0
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					for c := 0; c < g.C; c++ {
						at := (c*pd.ph+oh)*pd.pw + ow
						if g.kw == 5 { // the cnn's: a fixed-size copy a row, no call
							for r := 0; r < g.kh; r++ {
								*(*[5]T)(out[i:]) = *(*[5]T)(pl[at:])
								i += 5
								at += pd.pw
							}
							continue
						}
						for r := 0; r < g.kh; r++ {
							copy(out[i:i+g.kw], pl[at:at+g.kw])
							i += g.kw
							at += pd.pw
						}
					}
				}
			}
		}
	})
}

// col2imPadded is col2im at unit strides: the runs are summed into the padded planes (each
// pixel's terms in order of oh, ow, c, r, q, as ref's), whose inside is then the image.
func col2imPadded[T float](pool *parallel.Pool, col, img []T, g conv) func() {
	K := g.C * g.kh * g.kw
	per := g.OH * g.OW * K
	pd := newPadded[T](g)
	for b := range pd.planes {
		pd.plane(b)
	}
	return forEach(pool, g.B, max(1, chunk/max(1, per)), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			pl := pd.plane(b)
			clear(pl)
			in := col[b*per : (b+1)*per]
			i := 0
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					for c := 0; c < g.C; c++ {
						at := (c*pd.ph+oh)*pd.pw + ow
						if g.kw == 5 {
							for r := 0; r < g.kh; r++ {
								d, v := (*[5]T)(pl[at:]), (*[5]T)(in[i:])
								d[0] += v[0]
								d[1] += v[1]
								d[2] += v[2]
								d[3] += v[3]
								d[4] += v[4]
								i += 5
								at += pd.pw
							}
							continue
						}
						for r := 0; r < g.kh; r++ {
							addRun(pl[at:at+g.kw], in[i:i+g.kw])
							i += g.kw
							at += pd.pw
						}
					}
				}
			}
			for c := 0; c < g.C; c++ {
				for h := 0; h < g.H; h++ {
					copy(img[((b*g.C+c)*g.H+h)*g.W:][:g.W], pl[(c*pd.ph+h+g.ph)*pd.pw+g.pw:][:g.W])
				}
			}
		}
	})
}

// col2im sums each image's columns back where im2col took them: each pixel's terms in ref's
// order (oh, ow, k), a float32 sum of at most kh·kw terms (ref sums in float64), within a few
// roundings of ref's and the same on any number of workers.
func col2im[T float](pool *parallel.Pool, col, img []T, g conv) func() {
	if g.unit() {
		return col2imPadded(pool, col, img, g)
	}
	return col2imRuns(pool, col, img, g)
}

// window is, for output column ow and kernel column offset, the range [qlo, qhi) of kernel
// columns q whose input column ow·sw − pw + q·dw lies inside the image, for dilation 1.
func (g *conv) window(ow int) (iw0, qlo, qhi int) {
	iw0 = ow*g.sw - g.pw
	qlo, qhi = max(0, -iw0), min(g.kw, g.W-iw0)
	return iw0, qlo, max(qlo, qhi)
}

// im2colRuns is im2col for many channels: each kernel row is a run of kw input pixels, the
// part inside the image copied (with no dilation along the width), the rest zeroed.
func im2colRuns[T float](pool *parallel.Pool, img, col []T, g conv) func() {
	per := g.OH * g.OW * g.C * g.kh * g.kw
	return forEach(pool, g.B, max(1, chunk/max(1, per)), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			ci := b * per
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					iw0, qlo, qhi := g.window(ow)
					for c := 0; c < g.C; c++ {
						base := (b*g.C + c) * g.H * g.W
						for r := 0; r < g.kh; r++ {
							ih := oh*g.sh - g.ph + r*g.dh
							dst := col[ci : ci+g.kw]
							ci += g.kw
							if ih < 0 || ih >= g.H {
								clear(dst)
								continue
							}
							row := img[base+ih*g.W:]
							if g.dw == 1 {
								clear(dst[:qlo])
								in := row[iw0+qlo : iw0+qhi]
								d := dst[qlo:qhi]
								d = d[:len(in)]
								for i, v := range in {
									d[i] = v
								}
								clear(dst[qhi:])
								continue
							}
							for q := range dst {
								if iw := iw0 + q*g.dw; iw >= 0 && iw < g.W {
									dst[q] = row[iw]
								} else {
									dst[q] = 0
								}
							}
						}
					}
				}
			}
		}
	})
}

// col2imRuns is col2im for many channels, a kernel row's run of kw pixels at a time, each
// pixel's terms in ref's order (oh, ow, k).
func col2imRuns[T float](pool *parallel.Pool, col, img []T, g conv) func() {
	per := g.OH * g.OW * g.C * g.kh * g.kw
	return forEach(pool, g.B, max(1, chunk/max(1, per)), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			clear(img[b*g.C*g.H*g.W : (b+1)*g.C*g.H*g.W])
			ci := b * per
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					iw0, qlo, qhi := g.window(ow)
					for c := 0; c < g.C; c++ {
						base := (b*g.C + c) * g.H * g.W
						for r := 0; r < g.kh; r++ {
							ih := oh*g.sh - g.ph + r*g.dh
							src := col[ci : ci+g.kw]
							ci += g.kw
							if ih < 0 || ih >= g.H {
								continue
							}
							row := img[base+ih*g.W:]
							if g.dw == 1 {
								d := row[iw0+qlo : iw0+qhi]
								in := src[qlo:qhi]
								in = in[:len(d)]
								for i, v := range in {
									d[i] += v
								}
								continue
							}
							for q, v := range src {
								if iw := iw0 + q*g.dw; iw >= 0 && iw < g.W {
									row[iw] += v
								}
							}
						}
					}
				}
			}
		}
	})
}

// pool2 is the geometry of a MaxPool or MaxPoolBack launch.
type pool2 struct{ B, C, H, W, kh, kw, ph, pw, sh, sw, OH, OW int }

// halves reports whether the pooling is the common 2x2 windows at stride 2, no padding, that
// tile the image: each output's window is 4 pixels inside it, and windows do not overlap.
func (g *pool2) halves() bool {
	return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && 2*g.OH <= g.H && 2*g.OW <= g.W
}

// poolOf is g as pool2.
func poolOf(g ir.PoolGeom) pool2 {
	return pool2{B: g.B, C: g.C, H: g.H, W: g.W, kh: g.KH, kw: g.KW, ph: g.PadH, pw: g.PadW,
		sh: g.StrideH, sw: g.StrideW, OH: g.OH, OW: g.OW}
}

// max4 is the largest of a, b, c and d: the value of the first maximum in that order
// (it differs only in the sign of a zero, or where one is NaN).
func max4[T float](a, b, c, d T) T { return max(max(a, b), max(c, d)) }

// firstMax is the place (0 to 3) of the first of a, b, c, e equal to their maximum m,
// without a branch (3 when none is: a NaN).
func firstMax[T float](a, b, c, e, m T) int {
	na := b2i(a != m)
	nb := na & b2i(b != m)
	nc := nb & b2i(c != m)
	return na + nb + nc
}

// b2i is 1 for true and 0 for false, compiled without a branch.
func b2i(b bool) int {
	x := 0
	if b {
		x = 1
	}
	return x
}

func maxPool[T float](pool *parallel.Pool, in, out []T, g pool2) func() {
	if g.halves() {
		return forEach(pool, g.B*g.C, max(1, chunk/max(1, g.H*g.W)), func(lo, hi int) {
			for bc := lo; bc < hi; bc++ {
				plane := in[bc*g.H*g.W : (bc+1)*g.H*g.W]
				o := out[bc*g.OH*g.OW : (bc+1)*g.OH*g.OW]
				for oh := 0; oh < g.OH; oh++ {
					orow := o[oh*g.OW : (oh+1)*g.OW]
					r0 := plane[2*oh*g.W:][:2*len(orow)]
					r1 := plane[(2*oh+1)*g.W:][:len(r0)]
					for i := 0; i+1 < len(r0) && i+1 < len(r1); i += 2 {
						orow[i/2] = max4(r0[i], r0[i+1], r1[i], r1[i+1])
					}
				}
			}
		})
	}
	return forEach(pool, g.B*g.C, max(1, chunk/max(1, g.H*g.W)), func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			plane := in[bc*g.H*g.W : (bc+1)*g.H*g.W]
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					h0, w0 := oh*g.sh-g.ph, ow*g.sw-g.pw
					h1, w1 := min(h0+g.kh, g.H), min(w0+g.kw, g.W)
					h0, w0 = max(h0, 0), max(w0, 0)
					best, found := T(-math.MaxFloat32), false
					for r := h0; r < h1; r++ {
						for q := w0; q < w1; q++ {
							if v := plane[r*g.W+q]; !found || v > best {
								best, found = v, true
							}
						}
					}
					out[(bc*g.OH+oh)*g.OW+ow] = best
				}
			}
		}
	})
}

// maxPoolBack adds each pooled gradient at the first maximum of its window, in ref's order,
// then, when mask is not nil (MaxPoolBackMask), multiplies the result by the mask, a piece of
// work at a time while it is in cache.
func maxPoolBack[T float](pool *parallel.Pool, in, dpooled, mask, dx []T, g pool2) func() {
	hw := g.H * g.W
	back := poolBackAny[T]
	if g.halves() {
		back = poolBackHalves[T]
	}
	return forEach(pool, g.B*g.C, max(1, chunk/max(1, hw)), func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			back(&g, in[bc*hw:(bc+1)*hw], dpooled[bc*g.OH*g.OW:(bc+1)*g.OH*g.OW], dx[bc*hw:(bc+1)*hw])
		}
		if mask != nil {
			mulMask(dx[lo*hw:hi*hw], mask[lo*hw:hi*hw])
		}
	})
}

// poolBackHalves is one plane of maxPoolBack for 2x2 windows at stride 2: windows do not
// overlap, so each pixel is written once, 0 or the gradient.
func poolBackHalves[T float](g *pool2, plane, dp, grad []T) {
	clear(grad)
	for oh := 0; oh < g.OH; oh++ {
		drow := dp[oh*g.OW : (oh+1)*g.OW]
		r0 := plane[2*oh*g.W:][:2*len(drow)]
		r1 := plane[(2*oh+1)*g.W:][:len(r0)]
		rows := [2][]T{grad[2*oh*g.W:][:len(r0)], grad[(2*oh+1)*g.W:][:len(r0)]}
		for i := 0; i+1 < len(r0) && i+1 < len(r1); i += 2 {
			a, b, c, e := r0[i], r0[i+1], r1[i], r1[i+1]
			at := firstMax(a, b, c, e, max4(a, b, c, e))
			rows[at>>1][i+at&1] = drow[i/2]
		}
	}
}

// poolBackAny is one plane of maxPoolBack for any geometry.
func poolBackAny[T float](g *pool2, plane, dp, grad []T) {
	clear(grad)
	for oh := 0; oh < g.OH; oh++ {
		for ow := 0; ow < g.OW; ow++ {
			h0, w0 := oh*g.sh-g.ph, ow*g.sw-g.pw
			h1, w1 := min(h0+g.kh, g.H), min(w0+g.kw, g.W)
			h0, w0 = max(h0, 0), max(w0, 0)
			arg := -1
			var best T
			for r := h0; r < h1; r++ {
				for q := w0; q < w1; q++ {
					if v := plane[r*g.W+q]; arg < 0 || v > best {
						best, arg = v, r*g.W+q
					}
				}
			}
			if arg >= 0 {
				grad[arg] += dp[oh*g.OW+ow]
			}
		}
	}
}

// mulMask is x[i] = mask[i]·x[i].
func mulMask[T float](x, mask []T) {
	if f, ok := any(x).([]float32); ok {
		vec.MaskMul(f, any(mask).([]float32), f)
		return
	}
	mask = mask[:len(x)]
	for i, m := range mask {
		x[i] = m * x[i]
	}
}

func gatherRows[T float](pool *parallel.Pool, src []T, order, cursor []int64, dst []T, rows, cols int) func() {
	return forEach(pool, rows, perRow(cols), func(lo, hi int) {
		at := int(cursor[0])
		for r := lo; r < hi; r++ {
			k := int(order[at+r])
			copy(dst[r*cols:(r+1)*cols], src[k*cols:(k+1)*cols])
		}
	})
}

// work is a launch as pieces: prep (its scalars, on the caller; or nil) and then body over
// [0, n) in pieces of size. The solvers' updates are compiled so: the executor runs the
// updates of every parameter in one call of the pool (runAll), one wait for the helpers
// instead of one a parameter.
type work struct {
	prep    func()
	n, size int
	body    func(lo, hi int)
}

// piece is piece lo..hi of part p of a runAll.
type piece struct{ p, lo, hi int }

// pieces are the pieces of several works, in order.
type pieces struct {
	parts []work
	at    []piece
}

func (ps *pieces) Do(i int) {
	t := ps.at[i]
	ps.parts[t.p].body(t.lo, t.hi)
}

// runAll returns a call that runs every work of ws, which must be independent of each
// other: each prep, then all their pieces on pool at once; inline when there is one piece,
// or when all of them together are no more than a piece of elementwise work (the xor net's
// updates: waking a helper costs more).
func runAll(pool *parallel.Pool, ws []work) func() {
	total := 0
	for _, w := range ws {
		total += w.n
	}
	ps := &pieces{parts: ws}
	for p, w := range ws {
		size := max(1, w.size)
		if total <= chunk {
			size = max(1, w.n) // the whole work a piece: all of them run inline
		}
		for lo := 0; lo < w.n; lo += size {
			ps.at = append(ps.at, piece{p, lo, min(lo+size, w.n)})
		}
	}
	inline := total <= chunk || len(ps.at) <= 1
	return func() {
		for _, w := range ws {
			if w.prep != nil {
				w.prep()
			}
		}
		if !inline {
			pool.Run(len(ps.at), ps)
			return
		}
		for i := range ps.at {
			ps.Do(i)
		}
	}
}

// sgd is w −= lr·g, the product rounded first, as ref.
func sgd[T float](w, g []T, reals []float64) work {
	return work{n: len(w), size: chunk, body: func(lo, hi int) {
		lr := reals[0]
		for i := lo; i < hi; i++ {
			w[i] = T(float64(w[i]) - float64(T(lr*float64(g[i]))))
		}
	}}
}

func momentum[T float](w, g, v []T, reals []float64) work {
	return work{n: len(w), size: chunk, body: func(lo, hi int) {
		lr, mu := reals[0], reals[1]
		for i := lo; i < hi; i++ {
			v[i] = T(mu*float64(v[i]) + float64(g[i]))
			w[i] = T(float64(w[i]) - lr*float64(v[i]))
		}
	}}
}

// adam is ref's Adam: every stored value rounded to T, the arithmetic in float64.
func adam[T float](w, g, m, v []T, step []float64, reals []float64) work {
	return work{n: len(w), size: chunk, body: func(lo, hi int) {
		lr, b1, b2, eps := reals[0], reals[1], reals[2], reals[3]
		t := step[0]
		c1, c2 := float64(T(1-math.Pow(b1, t))), float64(T(1-math.Pow(b2, t)))
		d := float64(T(lr * reals[4]))
		for i := lo; i < hi; i++ {
			if d != 0 {
				w[i] = T(float64(w[i]) - float64(T(d*float64(w[i]))))
			}
			gi := float64(g[i])
			m[i] = T(b1*float64(m[i]) + (1-b1)*gi)
			v[i] = T(b2*float64(v[i]) + (1-b2)*gi*gi)
			w[i] = T(float64(w[i]) - lr*(float64(m[i])/c1)/(math.Sqrt(float64(v[i])/c2)+eps))
		}
	}}
}

// adamF32 is Adam on float32 buffers in float32 arithmetic, on the SIMD kernel of package
// vec: within a few float32 roundings of ref's float64 arithmetic, and the same on any number
// of workers (each element's arithmetic is its own). AdamW's decay is vec.SGD of w by itself,
// w −= round(lr·λ)·w exactly as ref.
func adamF32(w, g, m, v []float32, step []float64, reals []float64) work {
	var lr, b1, b2, eps, c1, c2, d float32
	return work{n: len(w), size: chunk, body: func(lo, hi int) {
		if d != 0 {
			vec.SGD(w[lo:hi], w[lo:hi], d)
		}
		vec.Adam(w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], lr, b1, b2, eps, c1, c2)
	}, prep: func() {
		t := step[0]
		d = float32(reals[0] * reals[4])
		lr, b1, b2, eps = float32(reals[0]), float32(reals[1]), float32(reals[2]), float32(reals[3])
		c1, c2 = float32(1-math.Pow(reals[1], t)), float32(1-math.Pow(reals[2], t))
	}}
}

// sgdF32 is SGD on float32 buffers: exactly ref's w −= round(lr·g).
func sgdF32(w, g []float32, reals []float64) work {
	var lr float32
	return work{n: len(w), size: chunk, body: func(lo, hi int) { vec.SGD(w[lo:hi], g[lo:hi], lr) },
		prep: func() { lr = float32(reals[0]) }}
}

// momentumF32 is momentum on float32 buffers, in float32 arithmetic.
func momentumF32(w, g, v []float32, reals []float64) work {
	var lr, mu float32
	return work{n: len(w), size: chunk, body: func(lo, hi int) { vec.Momentum(w[lo:hi], g[lo:hi], v[lo:hi], lr, mu) },
		prep: func() { lr, mu = float32(reals[0]), float32(reals[1]) }}
}

// dropout is y[i] = x[i]·scale where element i of the layer's mask at the step counter's
// value is kept, 0 where it is dropped (ir.Dropout). Each piece draws the Philox words of its
// own elements, four to a call: nothing is allocated or stored.
func dropout[T float](pool *parallel.Pool, x []T, step []float64, y []T, p ir.DropoutParams, scale T) func() {
	var st int64
	run := forEach(pool, p.N, chunk, func(lo, hi int) {
		var w [4]uint32
		for i := lo; i < hi; i++ {
			if i == lo || i&3 == 0 {
				w = ir.DropoutBlock(p.Seed, p.Layer, st, i>>2)
			}
			v := T(0)
			if w[i&3] >= p.Threshold {
				v = x[i] * scale
			}
			y[i] = v
		}
	})
	return func() {
		st = int64(step[0])
		run()
	}
}

// augment moves each example's image by its transform at the step counter's value
// (ir.Augment): each piece draws the transforms of its own examples and resamples them
// (ir.AugmentImage); nothing is allocated or stored. With elastic distortion, each example
// is an index of its own (elasticLoop).
func augment[T float](pool *parallel.Pool, x []T, step []float64, y []T, p ir.AugmentParams) func() {
	if p.Elastic() {
		l := newElasticLoop(pool, x, y, p)
		return func() {
			l.step = int64(step[0])
			pool.RunWorkers(p.Batch, l)
		}
	}
	var st int64
	size := p.C * p.H * p.W
	run := forEach(pool, p.Batch, perRow(size), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			ir.AugmentImage(y[b*size:(b+1)*size], x[b*size:(b+1)*size], p.C, p.H, p.W, p.Transform(st, b))
		}
	})
	return func() {
		st = int64(step[0])
		run()
	}
}

// elasticLoop is an Augment launch with elastic distortion, an example per index: the worker
// that runs it draws the example's field into its own scratch (ir.AugmentParams.ElasticField),
// sized once here, and resamples the image through it (ir.AugmentElastic).
type elasticLoop[T float] struct {
	x, y    []T
	p       ir.AugmentParams
	step    int64
	scratch [][]float64 // per worker: the displacements (2·H·W), then ElasticField's scratch
}

func newElasticLoop[T float](pool *parallel.Pool, x, y []T, p ir.AugmentParams) *elasticLoop[T] {
	l := &elasticLoop[T]{x: x, y: y, p: p, scratch: make([][]float64, pool.Size())}
	for i := range l.scratch {
		l.scratch[i] = make([]float64, 2*p.H*p.W+p.ElasticScratch())
	}
	return l
}

func (l *elasticLoop[T]) DoWorker(worker, b int) {
	p, size := l.p, l.p.C*l.p.H*l.p.W
	d, scratch := l.scratch[worker][:2*p.H*p.W], l.scratch[worker][2*p.H*p.W:]
	p.ElasticField(d, scratch, l.step, b)
	ir.AugmentElastic(l.y[b*size:(b+1)*size], l.x[b*size:(b+1)*size], p.C, p.H, p.W, p.Transform(l.step, b), d)
}
