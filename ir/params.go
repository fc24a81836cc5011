package ir

import (
	"fmt"
	"slices"
)

// A launch's integer parameters travel as Launch.Ints, a positional []int64: the CUDA kernels
// take them in that order as their arguments (cuda/kernels/*.cu) and the golden programs list
// them so. This file is the one place that knows the positions: each family of parameters is
// a struct here, its Ints method encodes it and a Launch method of the same name decodes it,
// checking the op and the number of integers. Every other encoder and decoder goes through
// them. A bool travels as 0 or 1.

// BinaryParams are a Binary launch's: c[i] = a[i·SA] Op b[i·SB] for i < N. A stride of 0
// broadcasts a scalar, 1 walks the buffer. Ints n, sa, sb, op.
type BinaryParams struct {
	N, SA, SB int
	Op        BinaryOp
}

// UnaryParams are a Unary launch's: c[i] = F(a[i]) for i < N. Ints n, f.
type UnaryParams struct {
	N int
	F UnaryOp
}

// Gather4Params are a Gather4 launch's: out, of shape Dims = (d0,d1,d2,d3) and N = d0·d1·d2·d3
// elements, is out[i0,i1,i2,i3] = in[i0·s0 + i1·s1 + i2·s2 + i3·s3] with Strides =
// (s0,s1,s2,s3). Ints n, d0..d3, s0..s3.
type Gather4Params struct {
	N       int
	Dims    [4]int
	Strides [4]int
}

// GemmParams are a Gemm, GemmBias, GemmBiasReLU or GemmMul launch's: C [M,N] = op(A)·op(B) over K, A [M,K] ([K,M]
// when TransA), B [K,N] ([N,K] when TransB). Ints m, n, k, transA, transB.
type GemmParams struct {
	M, N, K        int
	TransA, TransB bool
}

// GemmSplitParams are a GemmSplit launch's: the product of GemmParams cut along K into parts
// of KC (the last perhaps shorter), part z of P [parts,M,N] summing k in [z·KC, (z+1)·KC).
// Ints those of Gemm, then kc.
type GemmSplitParams struct {
	GemmParams
	KC int
}

// ReduceSumParams are a ReduceSum launch's: in viewed as [Outer, Length, Inner] is summed
// along Length into out [Outer, Inner]. Ints outer, length, inner.
type ReduceSumParams struct {
	Outer, Length, Inner int
}

// SoftmaxXentParams are a SoftmaxXent launch's: x, y and dx are [Rows, Cols], terms [Rows].
// Ints rows, cols.
type SoftmaxXentParams struct {
	Rows, Cols int
}

// SoftmaxParams are a Softmax or SoftmaxBack launch's: every buffer is [Rows, Cols], the
// softmax taken along Cols, the log softmax when Log. Ints rows, cols, isLog.
type SoftmaxParams struct {
	Rows, Cols int
	Log        bool
}

// ConvGeom is an Im2col or Col2im launch's geometry: images (B, C, H, W), a KH x KW kernel
// with padding PadH, PadW, strides StrideH, StrideW and dilations DilH, DilW, giving an output
// of OH x OW positions; the columns are (B, OH, OW, C·KH·KW). Ints B, C, H, W, kh, kw, padH,
// padW, strideH, strideW, dilH, dilW, OH, OW.
type ConvGeom struct {
	B, C, H, W       int
	KH, KW           int
	PadH, PadW       int
	StrideH, StrideW int
	DilH, DilW       int
	OH, OW           int
}

// ConvParams are a Conv, ConvData, ConvFilter or ConvReLU launch's: the geometry of its
// Im2col and the output channels Cout, the filters [Cout, C·KH·KW], the output (B, Cout, OH,
// OW). Ints those of Im2col, then Cout.
type ConvParams struct {
	ConvGeom
	Cout int
}

// PoolGeom is a MaxPool, MaxPoolBack, MaxPoolBackMask or PoolRouteBack launch's geometry: the
// input (B, C, H, W), KH x KW windows with padding PadH, PadW and strides StrideH, StrideW,
// the pooled output (B, C, OH, OW). Ints B, C, H, W, kh, kw, padH, padW, strideH, strideW, OH,
// OW.
type PoolGeom struct {
	B, C, H, W       int
	KH, KW           int
	PadH, PadW       int
	StrideH, StrideW int
	OH, OW           int
}

// ConvPoolParams are a ConvReLUPool or ConvReLUPoolBack launch's: the convolution's, then
// the pooling's of its activation (B, Cout, OH, OW). Ints those of Conv, then those of
// MaxPool.
type ConvPoolParams struct {
	Conv ConvParams
	Pool PoolGeom
}

// ConvSplitParams are a ConvFilterSplit launch's: the convolution's, then the images of
// each part (the last part may have fewer). Ints those of Conv, then images.
type ConvSplitParams struct {
	Conv   ConvParams
	Images int
}

// Parts is the number of parts: ⌈B / Images⌉.
func (p ConvSplitParams) Parts() int { return (p.Conv.B + p.Images - 1) / p.Images }

// RouteFilterParams are a RouteFilter launch's: the ConvReLUPool's, then the images of each
// part (the last part may have fewer). Ints those of ConvReLUPool, then images.
type RouteFilterParams struct {
	ConvPoolParams
	Images int
}

// Parts is the number of parts: ⌈B / Images⌉.
func (p RouteFilterParams) Parts() int { return (p.Conv.B + p.Images - 1) / p.Images }

// FilterSumParams are a FilterSum launch's: the parts, the channels and the taps (without the
// bias's column). Ints parts, cout, k.
type FilterSumParams struct{ Parts, Cout, K int }

// GatherRowsParams are a GatherRows launch's: dst [Rows, Cols] gathers Rows rows of Cols
// values. Ints rows, cols.
type GatherRowsParams struct {
	Rows, Cols int
}

// CursorAddParams are a CursorAdd launch's: cursor += N. Ints n.
type CursorAddParams struct {
	N int
}

// UpdateParams are an SGD, Momentum or Adam launch's: the parameter, its gradient and its
// state are N values each. Ints n.
type UpdateParams struct {
	N int
}

// DropoutParams are a Dropout launch's: N elements of the mask of dropout layer Layer under
// Seed, an element dropped where its Philox word is below Threshold (a uint32). Ints n,
// layer, seed, threshold.
type DropoutParams struct {
	N, Layer  int
	Seed      int64
	Threshold uint32
}

// BatchNormParams are a BatchNormStats, BatchNorm, BatchNormBackScale or BatchNormBackData
// launch's: x viewed as [B, C, S], B examples of C channels of S values each (S = H·W for an
// image, 1 for a vector), normalised per channel over B·S values. Ints b, c, s.
type BatchNormParams struct {
	B, C, S int
}

// AugmentParams are an Augment launch's: Batch examples of C channels of H x W pixels, each
// moved by a transform drawn under Seed (augment.go) at most Shift whole pixels along each
// axis, turned by at most 2·atan(TanHalf) and scaled by at most Scale of its size, then
// distorted by an elastic field (elastic.go) of Alpha pixels smoothed by a Gaussian truncated
// at Radius pixels whose weights fall by Decay = exp(−1/(2σ²)) (none where Alpha is 0). Ints
// batch, c, h, w, seed, shift, radius; Reals tanHalf, scale, alpha, decay.
type AugmentParams struct {
	Batch, C, H, W int
	Seed           int64
	Shift          int
	TanHalf, Scale float64
	Radius         int
	Alpha, Decay   float64
}

// The number of integers of each family.
const (
	binaryLen     = 4
	unaryLen      = 2
	gather4Len    = 9
	gemmLen       = 5
	gemmSplitLen  = gemmLen + 1
	reduceSumLen  = 3
	xentLen       = 2
	softmaxLen    = 3
	convGeomLen   = 14
	convLen       = convGeomLen + 1
	poolGeomLen   = 12
	convPoolLen   = convLen + poolGeomLen
	convSplitLen  = convLen + 1
	routeSplitLen = convPoolLen + 1
	filterSumLen  = 3
	gatherRowsLen = 2
	countLen      = 1
	dropoutLen    = 4
	batchNormLen  = 3
	augmentLen    = 7
)

// Ints encodes the parameters: n, sa, sb, op.
func (p BinaryParams) Ints() []int64 { return i64s(p.N, p.SA, p.SB, int(p.Op)) }

// Ints encodes the parameters: n, f.
func (p UnaryParams) Ints() []int64 { return i64s(p.N, int(p.F)) }

// Ints encodes the parameters: n, d0..d3, s0..s3.
func (p Gather4Params) Ints() []int64 {
	d, s := p.Dims, p.Strides
	return i64s(p.N, d[0], d[1], d[2], d[3], s[0], s[1], s[2], s[3])
}

// Ints encodes the parameters: m, n, k, transA, transB.
func (p GemmParams) Ints() []int64 { return i64s(p.M, p.N, p.K, b2i(p.TransA), b2i(p.TransB)) }

// Ints encodes the parameters: m, n, k, transA, transB, kc.
func (p GemmSplitParams) Ints() []int64 { return append(p.GemmParams.Ints(), int64(p.KC)) }

// Ints encodes the parameters: outer, length, inner.
func (p ReduceSumParams) Ints() []int64 { return i64s(p.Outer, p.Length, p.Inner) }

// Ints encodes the parameters: rows, cols.
func (p SoftmaxXentParams) Ints() []int64 { return i64s(p.Rows, p.Cols) }

// Ints encodes the parameters: rows, cols, isLog.
func (p SoftmaxParams) Ints() []int64 { return i64s(p.Rows, p.Cols, b2i(p.Log)) }

// Ints encodes the geometry: B, C, H, W, kh, kw, padH, padW, strideH, strideW, dilH, dilW,
// OH, OW.
func (g ConvGeom) Ints() []int64 {
	return i64s(g.B, g.C, g.H, g.W, g.KH, g.KW, g.PadH, g.PadW, g.StrideH, g.StrideW, g.DilH, g.DilW, g.OH, g.OW)
}

// Ints encodes the parameters: those of the ConvGeom, then Cout.
func (p ConvParams) Ints() []int64 { return append(p.ConvGeom.Ints(), int64(p.Cout)) }

// Ints encodes the geometry: B, C, H, W, kh, kw, padH, padW, strideH, strideW, OH, OW.
func (g PoolGeom) Ints() []int64 {
	return i64s(g.B, g.C, g.H, g.W, g.KH, g.KW, g.PadH, g.PadW, g.StrideH, g.StrideW, g.OH, g.OW)
}

// Ints encodes the parameters: those of Conv, then those of Pool.
func (p ConvPoolParams) Ints() []int64 { return append(p.Conv.Ints(), p.Pool.Ints()...) }

// Ints encodes the parameters: those of Conv, then images.
func (p ConvSplitParams) Ints() []int64 { return append(p.Conv.Ints(), int64(p.Images)) }

// Ints encodes the parameters: those of ConvReLUPool, then images.
func (p RouteFilterParams) Ints() []int64 { return append(p.ConvPoolParams.Ints(), int64(p.Images)) }

// Ints encodes the parameters: parts, cout, k.
func (p FilterSumParams) Ints() []int64 { return i64s(p.Parts, p.Cout, p.K) }

// Ints encodes the parameters: rows, cols.
func (p GatherRowsParams) Ints() []int64 { return i64s(p.Rows, p.Cols) }

// Ints encodes the parameters: n.
func (p CursorAddParams) Ints() []int64 { return i64s(p.N) }

// Ints encodes the parameters: n.
func (p UpdateParams) Ints() []int64 { return i64s(p.N) }

// Ints encodes the parameters: n, layer, seed, threshold.
func (p DropoutParams) Ints() []int64 {
	return []int64{int64(p.N), int64(p.Layer), p.Seed, int64(p.Threshold)}
}

// Ints encodes the parameters: b, c, s.
func (p BatchNormParams) Ints() []int64 { return i64s(p.B, p.C, p.S) }

// Ints encodes the integer parameters: batch, c, h, w, seed, shift, radius.
func (p AugmentParams) Ints() []int64 {
	return []int64{int64(p.Batch), int64(p.C), int64(p.H), int64(p.W), p.Seed, int64(p.Shift), int64(p.Radius)}
}

// Reals encodes the real parameters: tanHalf, scale, alpha, decay.
func (p AugmentParams) Reals() []float64 { return []float64{p.TanHalf, p.Scale, p.Alpha, p.Decay} }

// Identity is p with every transform the identity (shift, rotation, scale and elastic
// distortion 0): the launch copies its input, as a forward pass at evaluation does.
func (p AugmentParams) Identity() AugmentParams {
	p.Shift, p.TanHalf, p.Scale = 0, 0, 0
	p.Radius, p.Alpha, p.Decay = 0, 0, 0
	return p
}

// BinaryParams decodes a Binary launch's parameters.
func (l Launch) BinaryParams() (BinaryParams, error) {
	v, err := l.ints(binaryLen, Binary)
	if err != nil {
		return BinaryParams{}, err
	}
	return BinaryParams{N: v[0], SA: v[1], SB: v[2], Op: BinaryOp(v[3])}, nil
}

// UnaryParams decodes a Unary launch's parameters.
func (l Launch) UnaryParams() (UnaryParams, error) {
	v, err := l.ints(unaryLen, Unary)
	if err != nil {
		return UnaryParams{}, err
	}
	return UnaryParams{N: v[0], F: UnaryOp(v[1])}, nil
}

// Gather4Params decodes a Gather4 launch's parameters.
func (l Launch) Gather4Params() (Gather4Params, error) {
	v, err := l.ints(gather4Len, Gather4)
	if err != nil {
		return Gather4Params{}, err
	}
	return Gather4Params{N: v[0], Dims: [4]int(v[1:5]), Strides: [4]int(v[5:9])}, nil
}

// GemmParams decodes a Gemm, GemmBias, GemmBiasReLU or GemmMul launch's parameters.
func (l Launch) GemmParams() (GemmParams, error) {
	v, err := l.ints(gemmLen, Gemm, GemmBias, GemmBiasReLU, GemmMul)
	if err != nil {
		return GemmParams{}, err
	}
	return gemmOf(l.Op, v)
}

// GemmSplitParams decodes a GemmSplit launch's parameters.
func (l Launch) GemmSplitParams() (GemmSplitParams, error) {
	v, err := l.ints(gemmSplitLen, GemmSplit)
	if err != nil {
		return GemmSplitParams{}, err
	}
	g, err := gemmOf(l.Op, v[:gemmLen])
	return GemmSplitParams{GemmParams: g, KC: v[gemmLen]}, err
}

// ReduceSumParams decodes a ReduceSum launch's parameters.
func (l Launch) ReduceSumParams() (ReduceSumParams, error) {
	v, err := l.ints(reduceSumLen, ReduceSum)
	if err != nil {
		return ReduceSumParams{}, err
	}
	return ReduceSumParams{Outer: v[0], Length: v[1], Inner: v[2]}, nil
}

// SoftmaxXentParams decodes a SoftmaxXent launch's parameters.
func (l Launch) SoftmaxXentParams() (SoftmaxXentParams, error) {
	v, err := l.ints(xentLen, SoftmaxXent)
	if err != nil {
		return SoftmaxXentParams{}, err
	}
	return SoftmaxXentParams{Rows: v[0], Cols: v[1]}, nil
}

// SoftmaxParams decodes a Softmax or SoftmaxBack launch's parameters.
func (l Launch) SoftmaxParams() (SoftmaxParams, error) {
	v, err := l.ints(softmaxLen, Softmax, SoftmaxBack)
	if err != nil {
		return SoftmaxParams{}, err
	}
	isLog, err := flag(l.Op, "isLog", v[2])
	return SoftmaxParams{Rows: v[0], Cols: v[1], Log: isLog}, err
}

// ConvGeom decodes an Im2col or Col2im launch's geometry.
func (l Launch) ConvGeom() (ConvGeom, error) {
	v, err := l.ints(convGeomLen, Im2col, Col2im)
	if err != nil {
		return ConvGeom{}, err
	}
	return convGeomOf(v), nil
}

// ConvParams decodes a Conv, ConvData, ConvFilter or ConvReLU launch's parameters.
func (l Launch) ConvParams() (ConvParams, error) {
	v, err := l.ints(convLen, Conv, ConvData, ConvFilter, ConvReLU)
	if err != nil {
		return ConvParams{}, err
	}
	return convOf(v), nil
}

// PoolGeom decodes a MaxPool, MaxPoolBack, MaxPoolBackMask or PoolRouteBack launch's
// geometry.
func (l Launch) PoolGeom() (PoolGeom, error) {
	v, err := l.ints(poolGeomLen, MaxPool, MaxPoolBack, MaxPoolBackMask, PoolRouteBack)
	if err != nil {
		return PoolGeom{}, err
	}
	return poolGeomOf(v), nil
}

// ConvPoolParams decodes a ConvReLUPool, ConvReLUPoolBack or RouteData launch's parameters.
func (l Launch) ConvPoolParams() (ConvPoolParams, error) {
	v, err := l.ints(convPoolLen, ConvReLUPool, ConvReLUPoolBack, RouteData)
	if err != nil {
		return ConvPoolParams{}, err
	}
	return ConvPoolParams{Conv: convOf(v[:convLen]), Pool: poolGeomOf(v[convLen:])}, nil
}

// ConvSplitParams decodes a ConvFilterSplit launch's parameters.
func (l Launch) ConvSplitParams() (ConvSplitParams, error) {
	v, err := l.ints(convSplitLen, ConvFilterSplit)
	if err != nil {
		return ConvSplitParams{}, err
	}
	if v[convLen] < 1 {
		return ConvSplitParams{}, fmt.Errorf("%s: %d images a part", l.Op, v[convLen])
	}
	return ConvSplitParams{Conv: convOf(v[:convLen]), Images: v[convLen]}, nil
}

// RouteFilterParams decodes a RouteFilter launch's parameters.
func (l Launch) RouteFilterParams() (RouteFilterParams, error) {
	v, err := l.ints(routeSplitLen, RouteFilter)
	if err != nil {
		return RouteFilterParams{}, err
	}
	if v[convPoolLen] < 1 {
		return RouteFilterParams{}, fmt.Errorf("%s: %d images a part", l.Op, v[convPoolLen])
	}
	cp := ConvPoolParams{Conv: convOf(v[:convLen]), Pool: poolGeomOf(v[convLen:convPoolLen])}
	return RouteFilterParams{ConvPoolParams: cp, Images: v[convPoolLen]}, nil
}

// FilterSumParams decodes a FilterSum launch's parameters.
func (l Launch) FilterSumParams() (FilterSumParams, error) {
	v, err := l.ints(filterSumLen, FilterSum)
	if err != nil {
		return FilterSumParams{}, err
	}
	return FilterSumParams{Parts: v[0], Cout: v[1], K: v[2]}, nil
}

// GatherRowsParams decodes a GatherRows launch's parameters.
func (l Launch) GatherRowsParams() (GatherRowsParams, error) {
	v, err := l.ints(gatherRowsLen, GatherRows)
	if err != nil {
		return GatherRowsParams{}, err
	}
	return GatherRowsParams{Rows: v[0], Cols: v[1]}, nil
}

// CursorAddParams decodes a CursorAdd launch's parameters.
func (l Launch) CursorAddParams() (CursorAddParams, error) {
	v, err := l.ints(countLen, CursorAdd)
	if err != nil {
		return CursorAddParams{}, err
	}
	return CursorAddParams{N: v[0]}, nil
}

// UpdateParams decodes an SGD, Momentum or Adam launch's parameters.
func (l Launch) UpdateParams() (UpdateParams, error) {
	v, err := l.ints(countLen, SGD, Momentum, Adam)
	if err != nil {
		return UpdateParams{}, err
	}
	return UpdateParams{N: v[0]}, nil
}

// DropoutParams decodes a Dropout launch's parameters, checking that the threshold is a
// uint32, that the elements are counted by 32 bits (the Philox counter's word) and that the
// layer is below ElasticStream (the words from there up are augmentation's).
func (l Launch) DropoutParams() (DropoutParams, error) {
	v, err := l.ints(dropoutLen, Dropout)
	if err != nil {
		return DropoutParams{}, err
	}
	if v[3] < 0 || v[3] > 1<<32-1 || v[0] < 0 || v[0] > 1<<32-4 || v[1] < 0 || v[1] >= ElasticStream {
		return DropoutParams{}, fmt.Errorf("%s: n %d or threshold %d outside 32 bits, or layer %d outside 31", l.Op, v[0], v[3], v[1])
	}
	return DropoutParams{N: v[0], Layer: v[1], Seed: l.Ints[2], Threshold: uint32(v[3])}, nil
}

// BatchNormParams decodes a BatchNormStats, BatchNorm, BatchNormBackScale or
// BatchNormBackData launch's parameters, checking that every channel has values.
func (l Launch) BatchNormParams() (BatchNormParams, error) {
	v, err := l.ints(batchNormLen, BatchNormStats, BatchNorm, BatchNormBackScale, BatchNormBackData)
	if err != nil {
		return BatchNormParams{}, err
	}
	if v[0] < 1 || v[1] < 1 || v[2] < 1 {
		return BatchNormParams{}, fmt.Errorf("%s: b %d, c %d, s %d: want each at least 1", l.Op, v[0], v[1], v[2])
	}
	return BatchNormParams{B: v[0], C: v[1], S: v[2]}, nil
}

// AugmentParams decodes an Augment launch's parameters (its Ints and its Reals), checking
// them: examples counted by 32 bits (the Philox counter's word), a shift no longer than the
// image's side, a rotation of at most 90 degrees, a scale below 1, and an elastic field of
// at most MaxElasticRadius and ElasticAlphaPerSide times the image's side.
func (l Launch) AugmentParams() (AugmentParams, error) {
	v, err := l.ints(augmentLen, Augment)
	if err != nil {
		return AugmentParams{}, err
	}
	if len(l.Reals) != 4 {
		return AugmentParams{}, fmt.Errorf("%s wants 4 reals (tan(rotate/2), scale, alpha, decay), has %d", l.Op, len(l.Reals))
	}
	p := AugmentParams{Batch: v[0], C: v[1], H: v[2], W: v[3], Seed: l.Ints[4], Shift: v[5], TanHalf: l.Reals[0], Scale: l.Reals[1],
		Radius: v[6], Alpha: l.Reals[2], Decay: l.Reals[3]}
	if err := p.check(l.Op); err != nil {
		return AugmentParams{}, err
	}
	return p, nil
}

// ints is l's integers as ints, after checking that l is a launch of one of ops and has n
// of them.
func (l Launch) ints(n int, ops ...Op) ([]int, error) {
	if !slices.Contains(ops, l.Op) {
		return nil, fmt.Errorf("%s: not a launch of %v", l.Op, ops)
	}
	if len(l.Ints) != n {
		return nil, fmt.Errorf("%s wants %d integers, has %d", l.Op, n, len(l.Ints))
	}
	v := make([]int, n)
	for i, x := range l.Ints {
		v[i] = int(x)
	}
	return v, nil
}

// gemmOf decodes m, n, k, transA, transB.
func gemmOf(op Op, v []int) (GemmParams, error) {
	ta, err := flag(op, "transA", v[3])
	if err != nil {
		return GemmParams{}, err
	}
	tb, err := flag(op, "transB", v[4])
	return GemmParams{M: v[0], N: v[1], K: v[2], TransA: ta, TransB: tb}, err
}

// convGeomOf decodes the 14 integers of a ConvGeom.
func convGeomOf(v []int) ConvGeom {
	return ConvGeom{B: v[0], C: v[1], H: v[2], W: v[3], KH: v[4], KW: v[5], PadH: v[6], PadW: v[7],
		StrideH: v[8], StrideW: v[9], DilH: v[10], DilW: v[11], OH: v[12], OW: v[13]}
}

// convOf decodes the 15 integers of a ConvParams.
func convOf(v []int) ConvParams {
	return ConvParams{ConvGeom: convGeomOf(v[:convGeomLen]), Cout: v[convGeomLen]}
}

// poolGeomOf decodes the 12 integers of a PoolGeom.
func poolGeomOf(v []int) PoolGeom {
	return PoolGeom{B: v[0], C: v[1], H: v[2], W: v[3], KH: v[4], KW: v[5], PadH: v[6], PadW: v[7],
		StrideH: v[8], StrideW: v[9], OH: v[10], OW: v[11]}
}

// flag decodes a bool, which travels as 0 or 1.
func flag(op Op, name string, x int) (bool, error) {
	if x != 0 && x != 1 {
		return false, fmt.Errorf("%s: %s is %d, not 0 or 1", op, name, x)
	}
	return x == 1, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func i64s(xs ...int) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}
