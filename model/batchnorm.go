package model

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Batch normalisation as four Gorgonia ops of our own, x [B, C, ...] viewed as [B, C, S] (S
// = H·W for an image, 1 for a vector), so that no executor transposes the image or runs the
// dozens of small ops the formula makes of Gorgonia's own:
//
//	BNStatsOp     x → mean[c] = Σx/n, or var[c] = Σ(x − mean)²/n (biased), n = B·S
//	BNOp          x, mean, var, scale, shift → y = x̂·scale + shift, x̂ = (x − mean)/√(var + ε)
//	BNParamGradOp x, mean, var, dy → dscale = Σ dy·x̂, or dshift = Σ dy
//	BNBackDataOp  x, mean, var, scale, dy, dscale, dshift → dx = scale/(n·√(var + ε))·(n·dy − dshift − x̂·dscale)
//
// BNOp's SymDiff gives dx the total derivative through the batch's statistics (the standard
// batch normalisation backward pass), so the statistics are not differentiated through: their
// op declares its input not differentiable. Each channel's sums run in order of b, then s, in
// float64, as ir's BatchNormStats and the executors' kernels (ir/ref is their arithmetic);
// the lowering makes each pair of ops with the same inputs (mean and variance, dscale and
// dshift) one launch.

// bnShape is x viewed as [B, C, S].
type bnShape struct{ B, C, S int }

func bnShapeOf(s tensor.Shape) (bnShape, error) {
	if len(s) < 2 {
		return bnShape{}, fmt.Errorf("graph: batchnorm of a %v tensor: want [batch, channels, ...]", s)
	}
	sh := bnShape{B: s[0], C: s[1], S: 1}
	for _, d := range s[2:] {
		sh.S *= d
	}
	return sh, nil
}

// n is the number of values each channel's statistics are taken over.
func (sh bnShape) n() int { return sh.B * sh.S }

// each calls f(i) for the index i of every value of channel c, in order of b, then s.
func (sh bnShape) each(c int, f func(i int)) {
	for b := 0; b < sh.B; b++ {
		row := (b*sh.C + c) * sh.S
		for s := 0; s < sh.S; s++ {
			f(row + s)
		}
	}
}

// BNStatsOp is each channel's mean over the batch (and the image), or with Var its biased
// variance: x [B, C, ...] of rank Dims in, [C] out. Not differentiated through (BNOp's
// gradient accounts for it).
type BNStatsOp struct {
	Var  bool
	Dims int // the rank of x: 2 for vectors, 4 for images
}

func (op *BNStatsOp) Arity() int { return 1 }
func (op *BNStatsOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: op.Dims, Of: a}, G.TensorType{Dims: 1, Of: a})
}
func (op *BNStatsOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	sh, err := bnInShape("batchnorm statistics", 1, in)
	return tensor.Shape{sh.C}, err
}
func (op *BNStatsOp) Do(in ...G.Value) (G.Value, error) {
	return bnDo("batchnorm statistics", 1, in, true,
		func(out []float32, a [][]float32, sh bnShape) { bnStatsInto(out, a[0], sh, op.Var) },
		func(out []float64, a [][]float64, sh bnShape) { bnStatsInto(out, a[0], sh, op.Var) })
}
func (op *BNStatsOp) ReturnsPtr() bool     { return false }
func (op *BNStatsOp) CallsExtern() bool    { return false }
func (op *BNStatsOp) OverwritesInput() int { return -1 }
func (op *BNStatsOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "bnstats(var=%v,dims=%d)", op.Var, op.Dims)
}
func (op *BNStatsOp) Hashcode() uint32 { return hashOf(op) }
func (op *BNStatsOp) String() string {
	if op.Var {
		return "BNVar"
	}
	return "BNMean"
}

// DiffWRT: the statistics are not differentiated through.
func (op *BNStatsOp) DiffWRT(inputs int) []bool { return make([]bool, inputs) }

// SymDiff is never called (DiffWRT is false).
func (op *BNStatsOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("graph: %v is not differentiated: BNOp's gradient goes through it", op)
}

// bnStatsInto sets out [C] to each channel's mean of x, or its biased variance about the
// (unrounded) mean.
func bnStatsInto[T float32 | float64](out, x []T, sh bnShape, variance bool) {
	n := float64(sh.n())
	for c := 0; c < sh.C; c++ {
		var sum float64
		sh.each(c, func(i int) { sum += float64(x[i]) })
		mu := sum / n
		if !variance {
			out[c] = T(mu)
			continue
		}
		var sq float64
		sh.each(c, func(i int) { d := float64(x[i]) - mu; sq += d * d })
		out[c] = T(sq / n)
	}
}

// BNOp normalises each channel of x: y = (x − mean)/√(var + ε)·scale + shift, with the
// batch's statistics (BNStatsOp) in training, the running ones at evaluation. Args x [B, C,
// ...], mean, var, scale, shift [C].
type BNOp struct {
	Eps float64
	// Running names the running mean and variance of a training graph's BNOp (whose
	// statistics are the batch's): what a forward pass at evaluation normalises with
	// instead (ir.Launch.Eval). Empty at evaluation, where they are the op's inputs.
	Running [2]string
}

func (op *BNOp) Arity() int { return 5 }
func (op *BNOp) Type() hm.Type {
	x, v := hm.TypeVariable('x'), hm.TypeVariable('v')
	return hm.NewFnType(x, v, v, v, v, x)
}
func (op *BNOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	_, err := bnInShape("batchnorm", 5, in)
	if err != nil {
		return nil, err
	}
	return in[0].(tensor.Shape).Clone(), nil
}
func (op *BNOp) Do(in ...G.Value) (G.Value, error) {
	return bnDo("batchnorm", 5, in, false,
		func(y []float32, a [][]float32, sh bnShape) { bnNormInto(y, a[0], a[1], a[2], a[3], a[4], sh, op.Eps) },
		func(y []float64, a [][]float64, sh bnShape) { bnNormInto(y, a[0], a[1], a[2], a[3], a[4], sh, op.Eps) })
}
func (op *BNOp) ReturnsPtr() bool      { return false }
func (op *BNOp) CallsExtern() bool     { return false }
func (op *BNOp) OverwritesInput() int  { return -1 }
func (op *BNOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "batchnorm(%v,%q)", op.Eps, op.Running) }
func (op *BNOp) Hashcode() uint32      { return hashOf(op) }
func (op *BNOp) String() string        { return fmt.Sprintf("BatchNorm{ε %v}", op.Eps) }

// DiffWRT: x, scale and shift; not the statistics (dx is the total derivative through them).
func (op *BNOp) DiffWRT(inputs int) []bool { return []bool{true, false, false, true, true} }

// SymDiff: dscale and dshift (BNParamGradOp), and dx from them (BNBackDataOp).
func (op *BNOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if len(in) != 5 {
		return nil, fmt.Errorf("graph: batchnorm: %d inputs, want 5", len(in))
	}
	x, mean, vr, scale := in[0], in[1], in[2], in[3]
	dscale, err := G.ApplyOp(&BNParamGradOp{Eps: op.Eps}, x, mean, vr, grad)
	if err != nil {
		return nil, err
	}
	dshift, err := G.ApplyOp(&BNParamGradOp{Shift: true, Eps: op.Eps}, x, mean, vr, grad)
	if err != nil {
		return nil, err
	}
	dx, err := G.ApplyOp(&BNBackDataOp{Eps: op.Eps}, x, mean, vr, scale, grad, dscale, dshift)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, nil, nil, dscale, dshift}, nil
}

// bnInv is 1/√(var + ε).
func bnInv(vr, eps float64) float64 { return 1 / math.Sqrt(vr+eps) }

// bnNormInto sets y = (x − mean)·inv·scale + shift.
func bnNormInto[T float32 | float64](y, x, mean, vr, scale, shift []T, sh bnShape, eps float64) {
	for c := 0; c < sh.C; c++ {
		m, k, s, b := float64(mean[c]), bnInv(float64(vr[c]), eps), float64(scale[c]), float64(shift[c])
		sh.each(c, func(i int) { y[i] = T((float64(x[i])-m)*k*s + b) })
	}
}

// BNParamGradOp is the gradient of a BNOp's scale, dscale[c] = Σ dy·x̂, or with Shift its
// shift's, dshift[c] = Σ dy. Args x, mean, var, dy (the same for both: the lowering makes
// the pair one launch).
type BNParamGradOp struct {
	Shift bool
	Eps   float64
}

func (op *BNParamGradOp) Arity() int { return 4 }
func (op *BNParamGradOp) Type() hm.Type {
	x, v := hm.TypeVariable('x'), hm.TypeVariable('v')
	return hm.NewFnType(x, v, v, x, v)
}
func (op *BNParamGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	sh, err := bnInShape("batchnorm parameter gradient", 4, in)
	return tensor.Shape{sh.C}, err
}
func (op *BNParamGradOp) Do(in ...G.Value) (G.Value, error) {
	return bnDo("batchnorm parameter gradient", 4, in, true,
		func(out []float32, a [][]float32, sh bnShape) {
			bnParamGradInto(out, a[0], a[1], a[2], a[3], sh, op.Eps, op.Shift)
		},
		func(out []float64, a [][]float64, sh bnShape) {
			bnParamGradInto(out, a[0], a[1], a[2], a[3], sh, op.Eps, op.Shift)
		})
}
func (op *BNParamGradOp) ReturnsPtr() bool     { return false }
func (op *BNParamGradOp) CallsExtern() bool    { return false }
func (op *BNParamGradOp) OverwritesInput() int { return -1 }
func (op *BNParamGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "bnparamgrad(shift=%v,%v)", op.Shift, op.Eps)
}
func (op *BNParamGradOp) Hashcode() uint32 { return hashOf(op) }
func (op *BNParamGradOp) String() string {
	if op.Shift {
		return "BNShiftGrad"
	}
	return "BNScaleGrad"
}

// bnParamGradInto sets out [C] to Σ dy·x̂, or Σ dy with shift.
func bnParamGradInto[T float32 | float64](out, x, mean, vr, dy []T, sh bnShape, eps float64, shift bool) {
	for c := 0; c < sh.C; c++ {
		m, k := float64(mean[c]), bnInv(float64(vr[c]), eps)
		var sum float64
		if shift {
			sh.each(c, func(i int) { sum += float64(dy[i]) })
		} else {
			sh.each(c, func(i int) { sum += float64(dy[i]) * (float64(x[i]) - m) * k })
		}
		out[c] = T(sum)
	}
}

// BNBackDataOp is the gradient of a BNOp's x in training, through y and the batch's
// statistics both: dx = scale·inv/n·(n·dy − dshift − x̂·dscale), inv = 1/√(var + ε), n = B·S.
// Args x, mean, var, scale, dy, dscale, dshift.
type BNBackDataOp struct{ Eps float64 }

func (op *BNBackDataOp) Arity() int { return 7 }
func (op *BNBackDataOp) Type() hm.Type {
	x, v := hm.TypeVariable('x'), hm.TypeVariable('v')
	return hm.NewFnType(x, v, v, v, x, v, v, x)
}
func (op *BNBackDataOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	_, err := bnInShape("batchnorm data gradient", 7, in)
	if err != nil {
		return nil, err
	}
	return in[0].(tensor.Shape).Clone(), nil
}
func (op *BNBackDataOp) Do(in ...G.Value) (G.Value, error) {
	return bnDo("batchnorm data gradient", 7, in, false,
		func(dx []float32, a [][]float32, sh bnShape) {
			bnBackDataInto(dx, a[0], a[1], a[2], a[3], a[4], a[5], a[6], sh, op.Eps)
		},
		func(dx []float64, a [][]float64, sh bnShape) {
			bnBackDataInto(dx, a[0], a[1], a[2], a[3], a[4], a[5], a[6], sh, op.Eps)
		})
}
func (op *BNBackDataOp) ReturnsPtr() bool      { return false }
func (op *BNBackDataOp) CallsExtern() bool     { return false }
func (op *BNBackDataOp) OverwritesInput() int  { return -1 }
func (op *BNBackDataOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "bnbackdata(%v)", op.Eps) }
func (op *BNBackDataOp) Hashcode() uint32      { return hashOf(op) }
func (op *BNBackDataOp) String() string        { return "BNBackData" }

// bnBackDataInto sets dx = scale·inv/n·(n·dy − dshift − x̂·dscale).
func bnBackDataInto[T float32 | float64](dx, x, mean, vr, scale, dy, dscale, dshift []T, sh bnShape, eps float64) {
	n := float64(sh.n())
	for c := 0; c < sh.C; c++ {
		m, k := float64(mean[c]), bnInv(float64(vr[c]), eps)
		f, ds, db := float64(scale[c])*k/n, float64(dscale[c]), float64(dshift[c])
		sh.each(c, func(i int) { dx[i] = T(f * (n*float64(dy[i]) - db - (float64(x[i])-m)*k*ds)) })
	}
}

// hashOf is the FNV-1a hash of what op writes.
func hashOf(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// bnInShape checks a batch normalisation op's input shapes: arity of them, the first (and
// any other of x's shape) x's, the others [C].
func bnInShape(what string, arity int, in []G.DimSizer) (bnShape, error) {
	if len(in) != arity {
		return bnShape{}, fmt.Errorf("graph: %s: %d inputs, want %d", what, len(in), arity)
	}
	x, ok := in[0].(tensor.Shape)
	if !ok {
		return bnShape{}, fmt.Errorf("graph: %s: input of unknown shape", what)
	}
	sh, err := bnShapeOf(x)
	if err != nil {
		return sh, err
	}
	for i, d := range in[1:] {
		s, ok := d.(tensor.Shape)
		if !ok || (!s.Eq(x) && s.TotalSize() != sh.C) {
			return sh, fmt.Errorf("graph: %s: input %d is %v, want %v or [%d]", what, i+1, d, x, sh.C)
		}
	}
	return sh, nil
}

// bnDo runs a batch normalisation op on the host: the inputs dense tensors of one dtype, the
// first x, the result [C] (perChannel) or of x's shape, filled by f32 or f64.
func bnDo(what string, arity int, in []G.Value, perChannel bool,
	f32 func([]float32, [][]float32, bnShape), f64 func([]float64, [][]float64, bnShape)) (G.Value, error) {
	if len(in) != arity {
		return nil, fmt.Errorf("graph: %s: %d inputs, want %d", what, len(in), arity)
	}
	ts := make([]*tensor.Dense, arity)
	for i, v := range in {
		t, ok := v.(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("graph: %s: input %d is %T, not a dense tensor", what, i, v)
		}
		ts[i] = t
	}
	sh, err := bnShapeOf(ts[0].Shape())
	if err != nil {
		return nil, err
	}
	shape := ts[0].Shape().Clone()
	if perChannel {
		shape = tensor.Shape{sh.C}
	}
	y := tensor.New(tensor.Of(ts[0].Dtype()), tensor.WithShape(shape...))
	switch out := y.Data().(type) {
	case []float32:
		a, err := bnData[float32](what, ts, sh)
		if err != nil {
			return nil, err
		}
		f32(out, a, sh)
	case []float64:
		a, err := bnData[float64](what, ts, sh)
		if err != nil {
			return nil, err
		}
		f64(out, a, sh)
	default:
		return nil, fmt.Errorf("graph: %s of %v values", what, ts[0].Dtype())
	}
	return y, nil
}

// bnData is the inputs' values, each x's size or C, all of x's dtype.
func bnData[T float32 | float64](what string, ts []*tensor.Dense, sh bnShape) ([][]T, error) {
	a := make([][]T, len(ts))
	for i, t := range ts {
		v, ok := t.Data().([]T)
		if !ok || (len(v) != sh.B*sh.C*sh.S && len(v) != sh.C) {
			return nil, fmt.Errorf("graph: %s: input %d is %v %v, want %v values of x's shape or %d", what, i, t.Dtype(), t.Shape(), ts[0].Dtype(), sh.C)
		}
		a[i] = v
	}
	return a, nil
}
