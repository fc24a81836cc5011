package lowertest

import (
	"fmt"
	"math/rand"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower"
)

// Odd builds a program of one launch after another over buffers of their own (each in a
// slot of exactly its bytes), for shapes the models do not make.
type Odd struct {
	P      *ir.Program
	Inputs map[int][]float64 // the values of the input buffers
	Rng    *rand.Rand
}

// NewOdd starts an empty program of dtype.
func NewOdd(dtype ir.Dtype) *Odd {
	return &Odd{P: &ir.Program{Kind: "odd", Dtype: dtype, Step: -1}, Inputs: map[int][]float64{}, Rng: rand.New(rand.NewSource(1))}
}

// In adds an input buffer of n values drawn by draw (float32-rounded in a float32 program).
func (o *Odd) In(n int, draw func() float64) int {
	v := make([]float64, n)
	for i := range v {
		v[i] = draw()
		if o.P.Dtype == ir.Float32 {
			v[i] = float64(float32(v[i]))
		}
	}
	id := o.Out(n)
	o.Inputs[id] = v
	return id
}

// Out adds an output buffer of n elements.
func (o *Odd) Out(n int) int {
	elem := 4
	if o.P.Dtype == ir.Float64 {
		elem = 8
	}
	o.P.Buffers = append(o.P.Buffers, ir.Buffer{Name: fmt.Sprint("b", len(o.P.Buffers)), Elems: n, Elem: elem, Slot: len(o.P.Slots)})
	o.P.Slots = append(o.P.Slots, int64(n*elem))
	return len(o.P.Buffers) - 1
}

// Normal draws from N(0, 1).
func (o *Odd) Normal() float64 { return o.Rng.NormFloat64() }

// Launch adds a launch of op.
func (o *Odd) Launch(op ir.Op, what string, args []int, ints []int64) {
	o.P.Launches = append(o.P.Launches, ir.Launch{Op: op, Dtype: o.P.Dtype, What: what, Node: 1, Args: args, Ints: ints})
}

// AddAll adds the shapes the models do not make, for every op a CUDA kernel computes: GEMMs
// whose M, N, K are not multiples of a 16x16 tile, with every transpose combination, split
// along K too; sums longer than a block of threads; softmax rows spread over two blocks, the
// fused softmax cross-entropy too; im2col, col2im and max pooling with padding, strides,
// dilation and overlapping windows; every binary operator with broadcasts and ties; every
// unary operator; a 4-D transpose; batch normalisation of vectors and of images whose
// channel sums are longer than a block of threads; augmentation of odd image sides with
// several channels.
func (o *Odd) AddAll() {
	o.AddProducts()
	o.addRows()
	o.addWindows()
	o.addElementwise()
	o.addBatchNorm()
	o.addAugment()
}

// Step adds a step counter (one float64, whatever the program's dtype) holding v.
func (o *Odd) Step(v float64) int {
	o.P.Buffers = append(o.P.Buffers, ir.Buffer{Name: fmt.Sprint("step", len(o.P.Buffers)), Elems: 1, Elem: 8, Slot: len(o.P.Slots)})
	o.P.Slots = append(o.P.Slots, 8)
	id := len(o.P.Buffers) - 1
	o.Inputs[id] = []float64{v}
	return id
}

// AugmentCases are augmentations of odd image sides and several channels: B, C, H, W, shift,
// rotate (degrees), scale (percent), step, elastic alpha (pixels), elastic sigma (tenths of a
// pixel). The first is the identity; some steps are beyond 32 bits; the last three distort
// elastically, the last two with nothing else, on margin grids of odd width (W + 2r).
var AugmentCases = [][10]int{{3, 2, 7, 5, 0, 0, 0, 4, 0, 0}, {4, 3, 9, 6, 2, 0, 0, 1, 0, 0}, {5, 1, 11, 13, 3, 15, 20, 7, 0, 0},
	{2, 2, 5, 5, 1, 90, 50, 1 << 33, 0, 0}, {3, 1, 6, 9, 9, 30, 0, 5<<32 + 3, 0, 0},
	{3, 2, 7, 8, 1, 10, 10, 6, 6, 15}, {2, 1, 9, 5, 0, 0, 0, 3<<32 + 1, 20, 5}, {2, 1, 6, 7, 0, 0, 0, 2, 3, 23}}

// AugmentLaunch is the parameters of an AugmentCases row under seed.
func AugmentLaunch(c [10]int, seed int64) ir.AugmentParams {
	p := ir.AugmentParams{Batch: c[0], C: c[1], H: c[2], W: c[3], Seed: seed, Shift: c[4],
		TanHalf: ir.AugmentTanHalf(float64(c[5])), Scale: float64(c[6]) / 100}
	if c[8] > 0 {
		sigma := float64(c[9]) / 10
		p.Alpha, p.Radius, p.Decay = float64(c[8]), ir.ElasticRadius(sigma), ir.ElasticDecay(sigma)
	}
	return p
}

// addAugment adds an Augment launch for each of AugmentCases, over images of smooth values
// in [0, 1] with a few zeros (as MNIST's are).
func (o *Odd) addAugment() {
	pixel := func() float64 { return max(0, o.Rng.Float64()*1.2-0.2) }
	for i, c := range AugmentCases {
		p := AugmentLaunch(c, int64(i)-2)
		n := p.Batch * p.C * p.H * p.W
		o.P.Launches = append(o.P.Launches, ir.Launch{Op: ir.Augment, Dtype: o.P.Dtype, What: fmt.Sprint("augment ", c), Node: 1,
			Args: []int{o.In(n, pixel), o.Step(float64(c[7])), o.Out(n)}, Ints: p.Ints(), Reals: p.Reals()})
	}
}

// AddProducts adds the GEMMs, whole (with a bias, a bias and a ReLU, or times a matrix too)
// and split along K: sides that are not whole 16x16 or 64x64 tiles, and C of more than one
// 64x64 tile.
func (o *Odd) AddProducts() {
	for _, s := range [][3]int{{1, 1, 1}, {17, 5, 33}, {5, 40, 17}, {33, 18, 47}, {70, 131, 37}} {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []int{0, 1} {
			for _, tb := range []int{0, 1} {
				a, b := o.In(m*k, o.Normal), o.In(k*n, o.Normal)
				g := ir.GemmParams{M: m, N: n, K: k, TransA: ta == 1, TransB: tb == 1}
				o.Launch(ir.Gemm, fmt.Sprintf("gemm %dx%dx%d ta=%d tb=%d", m, n, k, ta, tb), []int{a, b, o.Out(m * n)}, g.Ints())
				if ta == tb {
					bias := o.In(n, o.Normal)
					o.Launch(ir.GemmBias, fmt.Sprintf("gemm_bias %dx%dx%d ta=%d tb=%d", m, n, k, ta, tb), []int{a, b, bias, o.Out(m * n)}, g.Ints())
					o.Launch(ir.GemmBiasReLU, fmt.Sprintf("gemm_bias_relu %dx%dx%d ta=%d tb=%d", m, n, k, ta, tb), []int{a, b, bias, o.Out(m * n), o.Out(m * n)}, g.Ints())
				} else {
					times := o.In(m*n, o.Normal)
					o.Launch(ir.GemmMul, fmt.Sprintf("gemm_mul %dx%dx%d ta=%d tb=%d", m, n, k, ta, tb), []int{a, b, times, o.Out(m * n)}, g.Ints())
				}
			}
		}
	}
	// Split-K: parts whose length is not a whole number of tiles, a last part shorter than
	// the others, and the lowering's own split of a long K.
	for _, s := range [][4]int{{5, 7, 100, 40}, {17, 3, 70, 16}, {9, 20, 1100, 0}} {
		m, n, k, kc := s[0], s[1], s[2], s[3]
		var parts int
		if kc == 0 {
			parts, kc = lower.CUDA.SplitK.Parts(m, n, k)
		} else {
			parts = (k + kc - 1) / kc
		}
		for _, ta := range []int{0, 1} {
			for _, tb := range []int{0, 1} {
				a, b := o.In(m*k, o.Normal), o.In(k*n, o.Normal)
				g := ir.GemmSplitParams{GemmParams: ir.GemmParams{M: m, N: n, K: k, TransA: ta == 1, TransB: tb == 1}, KC: kc}
				o.Launch(ir.GemmSplit, fmt.Sprintf("gemm_split %dx%dx%d/%d ta=%d tb=%d", m, n, k, kc, ta, tb), []int{a, b, o.Out(parts * m * n)}, g.Ints())
			}
		}
	}
}

// addRows adds the sums and the softmaxes.
func (o *Odd) addRows() {
	for _, s := range [][3]int{{3, 300, 5}, {1, 1000, 1}, {2, 129, 3}, {1, 128, 1}, {4, 1, 7}} {
		outer, length, inner := s[0], s[1], s[2]
		p := ir.ReduceSumParams{Outer: outer, Length: length, Inner: inner}
		o.Launch(ir.ReduceSum, fmt.Sprintf("reduce_sum %v", s), []int{o.In(outer*length*inner, o.Normal), o.Out(outer * inner)}, p.Ints())
	}
	for _, isLog := range []int{0, 1} {
		const rows, cols = 300, 7
		x := o.In(rows*cols, o.Normal)
		y := o.Out(rows * cols)
		p := ir.SoftmaxParams{Rows: rows, Cols: cols, Log: isLog == 1}
		o.Launch(ir.Softmax, fmt.Sprint("softmax log=", isLog), []int{x, y}, p.Ints())
		o.Launch(ir.SoftmaxBack, fmt.Sprint("softmax_back log=", isLog), []int{y, o.In(rows*cols, o.Normal), o.Out(rows * cols)}, p.Ints())
	}
	const rows, cols = 300, 7
	x, y := o.In(rows*cols, o.Normal), o.In(rows*cols, o.Rng.Float64)
	o.P.Launches = append(o.P.Launches, ir.Launch{Op: ir.SoftmaxXent, Dtype: o.P.Dtype, What: "softmax_xent", Node: 1,
		Args: []int{x, y, o.Out(rows), o.Out(rows * cols)}, Ints: ir.SoftmaxXentParams{Rows: rows, Cols: cols}.Ints(), Reals: []float64{-1.0 / rows}})
}

// addWindows adds im2col, col2im, max pooling and its gradient.
func (o *Odd) addWindows() {
	// Convolution geometry: B, C, H, W, kernel, pad, stride, dilation.
	for _, g := range [][12]int{{2, 3, 7, 6, 3, 2, 1, 0, 2, 1, 2, 1}, {2, 3, 7, 6, 3, 3, 1, 1, 2, 2, 1, 1}, {1, 2, 5, 9, 1, 4, 0, 2, 1, 3, 1, 1}} {
		b, c, h, w, kh, kw, ph, pw, sh, sw, dh, dw := g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11]
		oh, ow := (h+2*ph-dh*(kh-1)-1)/sh+1, (w+2*pw-dw*(kw-1)-1)/sw+1
		ints := ir.ConvGeom{B: b, C: c, H: h, W: w, KH: kh, KW: kw, PadH: ph, PadW: pw, StrideH: sh, StrideW: sw, DilH: dh, DilW: dw, OH: oh, OW: ow}.Ints()
		cols := b * oh * ow * c * kh * kw
		o.Launch(ir.Im2col, fmt.Sprint("im2col ", g), []int{o.In(b*c*h*w, o.Normal), o.Out(cols)}, ints)
		o.Launch(ir.Col2im, fmt.Sprint("col2im ", g), []int{o.In(cols, o.Normal), o.Out(b * c * h * w)}, ints)
	}
	// Pooling geometry: B, C, H, W, kernel, pad, stride; windows overlap in the first.
	for _, g := range [][10]int{{2, 3, 7, 6, 3, 3, 1, 1, 2, 2}, {1, 2, 5, 7, 2, 3, 0, 1, 2, 3}} {
		b, c, h, w, kh, kw, ph, pw, sh, sw := g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9]
		oh, ow := (h+2*ph-kh)/sh+1, (w+2*pw-kw)/sw+1
		ints := ir.PoolGeom{B: b, C: c, H: h, W: w, KH: kh, KW: kw, PadH: ph, PadW: pw, StrideH: sh, StrideW: sw, OH: oh, OW: ow}.Ints()
		ties := func() float64 { return float64(o.Rng.Intn(4)) } // ties: the first maximum wins
		for _, draw := range []func() float64{o.Normal, ties} {
			in := o.In(b*c*h*w, draw)
			o.Launch(ir.MaxPool, fmt.Sprint("maxpool ", g), []int{in, o.Out(b * c * oh * ow)}, ints)
			o.Launch(ir.MaxPoolBack, fmt.Sprint("maxpool_back ", g), []int{in, o.In(b*c*oh*ow, o.Normal), o.Out(b * c * h * w)}, ints)
		}
	}
}

// addElementwise adds every binary and unary operator and a transpose.
func (o *Odd) addElementwise() {
	// Positive operands from a small set, so that pow is defined and comparisons tie.
	few := func() float64 { return []float64{0.5, 1, 1.5, 2, 3}[o.Rng.Intn(5)] }
	const n = 300
	for op := 0; op <= 10; op++ {
		for _, st := range [][2]int{{1, 1}, {1, 0}, {0, 1}} {
			a, b := o.In(n, few), o.In(n, few)
			p := ir.BinaryParams{N: n, SA: st[0], SB: st[1], Op: ir.BinaryOp(op)}
			o.Launch(ir.Binary, fmt.Sprintf("binary op %d strides %v", op, st), []int{a, b, o.Out(n)}, p.Ints())
		}
	}
	for op := 0; op < len(ir.UnaryOps); op++ {
		draw := o.Normal // and positive where the operator needs it
		switch op {
		case 7, 8, 11, 12, 13:
			draw = func() float64 { return 0.1 + 3*o.Rng.Float64() }
		case 17:
			draw = func() float64 { return -0.9 + 3*o.Rng.Float64() }
		}
		o.Launch(ir.Unary, fmt.Sprint("unary op ", op), []int{o.In(n, draw), o.Out(n)}, ir.UnaryParams{N: n, F: ir.UnaryOp(op)}.Ints())
	}
	// A transpose of a [3,4,5,2] tensor by the pattern (3,0,2,1): out [2,3,5,4].
	p := ir.Gather4Params{N: 120, Dims: [4]int{2, 3, 5, 4}, Strides: [4]int{1, 40, 2, 10}}
	o.Launch(ir.Gather4, "transpose", []int{o.In(120, o.Normal), o.Out(120)}, p.Ints())
}

// addBatchNorm adds the four batch normalisation launches on x [B, C, S]: 5 examples of 3
// channels of 1 value (a vector), 25 (a 5x5 image) and 61 (305 values a channel, more than
// a block of threads), values off zero by a channel's own offset.
func (o *Odd) addBatchNorm() {
	for _, s := range []int{1, 25, 61} {
		p := ir.BatchNormParams{B: 5, C: 3, S: s}
		n := p.B * p.C * p.S
		i := 0
		x := o.In(n, func() float64 { i++; return 2*o.Normal() + float64((i-1)/p.S%p.C) })
		pos := func() float64 { return 0.2 + o.Rng.Float64() }
		mean, vr := o.Out(p.C), o.Out(p.C)
		scale, shift, dy := o.In(p.C, o.Normal), o.In(p.C, o.Normal), o.In(n, o.Normal)
		dscale, dshift := o.Out(p.C), o.Out(p.C)
		what := fmt.Sprint(" [5,3,", s, "]")
		add := func(op ir.Op, args []int, reals []float64) {
			o.P.Launches = append(o.P.Launches, ir.Launch{Op: op, Dtype: o.P.Dtype, What: op.String() + what, Node: 1, Args: args, Ints: p.Ints(), Reals: reals})
		}
		eps := []float64{1e-5}
		add(ir.BatchNormStats, []int{x, mean, vr}, nil)
		add(ir.BatchNorm, []int{x, mean, vr, scale, shift, o.Out(n)}, eps)
		// The running statistics' shape of input: a variance that is not the batch's.
		add(ir.BatchNorm, []int{x, o.In(p.C, o.Normal), o.In(p.C, pos), scale, shift, o.Out(n)}, eps)
		add(ir.BatchNormBackScale, []int{x, mean, vr, dy, dscale, dshift}, eps)
		add(ir.BatchNormBackData, []int{x, mean, vr, scale, dy, dscale, dshift, o.Out(n)}, eps)
	}
}

// ConvCases are geometries of the fused convolutions: B, C, H, W, kh, kw, padH, padW,
// strideH, strideW, dilH, dilW, Cout. Padding, strides, dilation, one output channel and
// more than a tile of them (of the image's, for ConvData), taps fewer and more than a step,
// filters of at most 32 taps with at most 8 channels and with more, the LeNet's two layers
// (the first at 5 images: 3920 positions, not a whole number of tiles).
var ConvCases = [][13]int{{2, 3, 7, 6, 3, 2, 1, 0, 2, 1, 2, 1, 4}, {11, 3, 7, 6, 3, 3, 1, 1, 2, 2, 1, 1, 1},
	{1, 2, 5, 9, 1, 4, 0, 2, 1, 3, 1, 1, 7}, {9, 1, 12, 10, 5, 5, 2, 2, 1, 1, 1, 1, 6}, {3, 6, 8, 8, 5, 5, 0, 0, 1, 1, 1, 1, 16},
	{2, 4, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1, 20}, {2, 12, 9, 8, 3, 2, 1, 0, 2, 3, 1, 2, 9}, {5, 1, 28, 28, 5, 5, 2, 2, 1, 1, 1, 1, 6},
	{3, 6, 14, 14, 5, 5, 0, 0, 1, 1, 1, 1, 16}, {2, 2, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 20}}

// addRouted adds the backward of a ConvReLUPool of parameters p through its route (RouteData,
// RouteFilter in parts of 1, 2 and all images, each part's FilterSum), on routes to every
// place, masked or not, and windows with none.
func (o *Odd) addRouted(p ir.ConvPoolParams, what string) {
	c := p.Conv
	pooled, img, filt := c.B*c.Cout*p.Pool.OH*p.Pool.OW, c.B*c.C*c.H*c.W, c.Cout*c.C*c.KH*c.KW
	places := func() float64 { return float64(o.Rng.Intn(9) - 1) }
	route, dp, im := o.In(pooled, places), o.In(pooled, o.Normal), o.In(img, o.Normal)
	o.Launch(ir.RouteData, "route_data "+what, []int{route, dp, o.In(filt, o.Normal), o.Out(img)}, p.Ints())
	for _, images := range []int{1, 2, c.B} {
		rp := ir.RouteFilterParams{ConvPoolParams: p, Images: images}
		parts := o.Out(rp.Parts() * (filt + c.Cout))
		o.Launch(ir.RouteFilter, fmt.Sprint("route_filter ", what, " ", images), []int{route, dp, im, parts}, rp.Ints())
		fs := ir.FilterSumParams{Parts: rp.Parts(), Cout: c.Cout, K: filt / c.Cout}
		o.Launch(ir.FilterSum, fmt.Sprint("filter_sum ", what, " ", images), []int{parts, o.Out(filt), o.Out(c.Cout)}, fs.Ints())
	}
}

// ConvPoolCases are geometries of a convolution with its ReLU and 2x2 pooling: B, C, H, W,
// k, padH, padW, Cout (unit strides). Odd sides (the pooling drops the last row or column),
// the LeNet's two layers, more than a tile of channels (out, and in: the image gradient's).
var ConvPoolCases = [][8]int{{3, 2, 9, 7, 3, 1, 1, 5}, {10, 1, 12, 12, 5, 2, 2, 6}, {2, 4, 6, 5, 1, 0, 0, 3},
	{5, 1, 28, 28, 5, 2, 2, 6}, {3, 6, 14, 14, 5, 0, 0, 16}, {3, 3, 10, 11, 3, 1, 1, 20}, {2, 10, 7, 8, 3, 1, 1, 4}}

// AddConvs adds the fused convolutions on ConvCases (Conv, ConvReLU, ConvData, ConvFilter,
// and ConvFilterSplit in parts of 1, 2 and 4 images, and the backward through a 2x2 pooling's
// route: addRouted), ConvReLUPool and the backward through its route on ConvPoolCases, and
// the gradients through a pooling (MaxPoolBackMask, PoolRouteBack) on windows of 2x2 at
// stride 2 and of 3x3 overlapping with padding.
func (o *Odd) AddConvs() {
	for _, g := range ConvCases {
		b, c, h, w, kh, kw, ph, pw, sh, sw, dh, dw, cout := g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12]
		oh, ow := (h+2*ph-dh*(kh-1)-1)/sh+1, (w+2*pw-dw*(kw-1)-1)/sw+1
		cp := ir.ConvParams{ConvGeom: ir.ConvGeom{B: b, C: c, H: h, W: w, KH: kh, KW: kw, PadH: ph, PadW: pw, StrideH: sh, StrideW: sw,
			DilH: dh, DilW: dw, OH: oh, OW: ow}, Cout: cout}
		img, out, filt := b*c*h*w, b*cout*oh*ow, cout*c*kh*kw
		o.Launch(ir.Conv, fmt.Sprint("conv ", g), []int{o.In(img, o.Normal), o.In(filt, o.Normal), o.In(cout, o.Normal), o.Out(out)}, cp.Ints())
		o.Launch(ir.ConvReLU, fmt.Sprint("conv_relu ", g), []int{o.In(img, o.Normal), o.In(filt, o.Normal), o.In(cout, o.Normal), o.Out(out), o.Out(out)}, cp.Ints())
		o.Launch(ir.ConvData, fmt.Sprint("conv_data ", g), []int{o.In(out, o.Normal), o.In(filt, o.Normal), o.Out(img)}, cp.Ints())
		dout, im := o.In(out, o.Normal), o.In(img, o.Normal)
		o.Launch(ir.ConvFilter, fmt.Sprint("conv_filter ", g), []int{dout, im, o.Out(filt)}, cp.Ints())
		for _, images := range []int{1, 2, 4} {
			sp := ir.ConvSplitParams{Conv: cp, Images: images}
			o.Launch(ir.ConvFilterSplit, fmt.Sprint("conv_filter_split ", g, images), []int{dout, im, o.Out(sp.Parts() * filt)}, sp.Ints())
		}
		if oh >= 2 && ow >= 2 { // strides, dilation, padding under a pooling's route
			o.addRouted(ir.ConvPoolParams{Conv: cp, Pool: ir.PoolGeom{B: b, C: cout, H: oh, W: ow, KH: 2, KW: 2, StrideH: 2, StrideW: 2, OH: oh / 2, OW: ow / 2}}, fmt.Sprint(g))
		}
	}
	for _, g := range ConvPoolCases {
		b, c, h, w, k, ph, pw, cout := g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
		oh, ow := h+2*ph-k+1, w+2*pw-k+1
		p := ir.ConvPoolParams{
			Conv: ir.ConvParams{ConvGeom: ir.ConvGeom{B: b, C: c, H: h, W: w, KH: k, KW: k, PadH: ph, PadW: pw, StrideH: 1, StrideW: 1,
				DilH: 1, DilW: 1, OH: oh, OW: ow}, Cout: cout},
			Pool: ir.PoolGeom{B: b, C: cout, H: oh, W: ow, KH: 2, KW: 2, StrideH: 2, StrideW: 2, OH: oh / 2, OW: ow / 2}}
		pooled := b * cout * (oh / 2) * (ow / 2)
		o.Launch(ir.ConvReLUPool, fmt.Sprint("conv_relu_pool ", g), []int{o.In(b*c*h*w, o.Normal), o.In(cout*c*k*k, o.Normal), o.In(cout, o.Normal),
			o.Out(pooled), o.Out(pooled)}, p.Ints())
		o.addRouted(p, fmt.Sprint(g))
	}
	for _, pg := range [][10]int{{3, 2, 8, 6, 2, 2, 0, 0, 2, 2}, {2, 3, 7, 6, 3, 3, 1, 1, 2, 2}, {2, 6, 9, 7, 2, 2, 0, 0, 2, 2}} {
		b, c, h, w, kh, kw, ph, pw, sh, sw := pg[0], pg[1], pg[2], pg[3], pg[4], pg[5], pg[6], pg[7], pg[8], pg[9]
		oh, ow := (h+2*ph-kh)/sh+1, (w+2*pw-kw)/sw+1
		g := ir.PoolGeom{B: b, C: c, H: h, W: w, KH: kh, KW: kw, PadH: ph, PadW: pw, StrideH: sh, StrideW: sw, OH: oh, OW: ow}
		bits := func() float64 { return float64(o.Rng.Intn(2)) }
		o.Launch(ir.MaxPoolBackMask, fmt.Sprint("maxpool_back_mask ", pg), []int{o.In(b*c*h*w, o.Normal), o.In(b*c*oh*ow, o.Normal),
			o.In(b*c*h*w, bits), o.Out(b * c * h * w)}, g.Ints())
		// Routes: every place, masked or not, and windows with none.
		kk := kh * kw
		places := func() float64 { return float64(o.Rng.Intn(2*kk+1) - 1) }
		o.Launch(ir.PoolRouteBack, fmt.Sprint("pool_route_back ", pg), []int{o.In(b*c*oh*ow, places), o.In(b*c*oh*ow, o.Normal), o.Out(b * c * h * w)}, g.Ints())
	}
}
