package model

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/ir"
)

// This file builds the layers made of more than one Gorgonia op: dropout (a DropoutOp keyed
// by the step counter), batch normalisation (ops of our own: batchnorm.go) and average
// pooling (made of Gorgonia's own ops, so that every executor runs it with the kernels it
// has and autodiff gives its gradient).

// BNMomentum and BNEps are batch normalisation's constants, PyTorch's defaults: the running
// statistics move by BNMomentum of the way to each batch's, and BNEps is added to the
// variance before its square root.
const (
	BNMomentum = 0.1
	BNEps      = 1e-5
)

// The names of a batch normalisation's parameters: bn<i>_scale and bn<i>_shift are trained,
// bn<i>_mean and bn<i>_var are its running statistics.
func bnNames(i int) [4]string {
	p := fmt.Sprintf("bn%d_", i)
	return [4]string{p + "scale", p + "shift", p + "mean", p + "var"}
}

// DropoutOp is a dropout layer as a Gorgonia op: y = x ⊙ mask / (1 − Rate), with the mask
// of layer Layer drawn from Philox under Seed at the step its second argument holds (a
// float64 scalar: the solver's updates so far). Its gradient is the same op on the
// gradient: the same mask, drawn again. The lowering turns it into an ir.Dropout launch.
type DropoutOp struct {
	Rate  float64
	Layer int
	Seed  int64
}

// Scale is what a kept value is multiplied by: 1/(1 − Rate).
func (op *DropoutOp) Scale() float64 { return 1 / (1 - op.Rate) }

func (op *DropoutOp) Arity() int { return 2 }

func (op *DropoutOp) Type() hm.Type {
	// Not 'b': Gorgonia's type inference names the result so.
	x, step := hm.TypeVariable('x'), hm.TypeVariable('s')
	return hm.NewFnType(x, step, x)
}

func (op *DropoutOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("graph: dropout: %d inputs, want 2", len(in))
	}
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("graph: dropout: input of unknown shape")
	}
	return s.Clone(), nil
}

func (op *DropoutOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("graph: dropout: %d inputs, want 2", len(in))
	}
	x, ok := in[0].(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("graph: dropout: input is %T, not a dense tensor", in[0])
	}
	step, err := stepOf(in[1])
	if err != nil {
		return nil, err
	}
	y := tensor.New(tensor.Of(x.Dtype()), tensor.WithShape(x.Shape().Clone()...))
	switch xs := x.Data().(type) {
	case []float32:
		dropoutInto(y.Data().([]float32), xs, op, step)
	case []float64:
		dropoutInto(y.Data().([]float64), xs, op, step)
	default:
		return nil, fmt.Errorf("graph: dropout of %v values", x.Dtype())
	}
	return y, nil
}

// dropoutInto sets y to x with op's mask at step applied: the arithmetic of ir.Dropout.
func dropoutInto[T float32 | float64](y, x []T, op *DropoutOp, step int64) {
	words := make([]uint32, (len(x)+3)/4*4)
	ir.DropoutWords(words, op.Seed, op.Layer, step)
	th, scale := ir.DropoutThreshold(op.Rate), T(op.Scale())
	for i, v := range x {
		y[i] = 0
		if words[i] >= th {
			y[i] = v * scale
		}
	}
}

// stepOf reads the step counter's value.
func stepOf(v G.Value) (int64, error) {
	switch s := v.(type) {
	case *G.F64:
		return int64(*s), nil
	case *tensor.Dense:
		if f, ok := s.Data().(float64); ok {
			return int64(f), nil
		}
	}
	return 0, fmt.Errorf("graph: dropout: the step is %T, not a float64", v)
}

func (op *DropoutOp) ReturnsPtr() bool     { return false }
func (op *DropoutOp) CallsExtern() bool    { return false }
func (op *DropoutOp) OverwritesInput() int { return -1 }
func (op *DropoutOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "dropout(%v,%d,%d)", op.Rate, op.Layer, op.Seed)
}
func (op *DropoutOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *DropoutOp) String() string { return fmt.Sprintf("Dropout{%v,layer %d}", op.Rate, op.Layer) }

// DiffWRT: differentiable in x, not in the step.
func (op *DropoutOp) DiffWRT(inputs int) []bool { return []bool{true, false} }

// SymDiff is the same mask on the gradient.
func (op *DropoutOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("graph: dropout: %d inputs, want 2", len(in))
	}
	dx, err := G.ApplyOp(op, grad, in[1])
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, nil}, nil
}

// dropout adds p's dropout to net's graph in training; at evaluation (no gradients) it is
// the identity.
func (net *Net) dropout(x *G.Node, p Placed, layer int) (*G.Node, error) {
	if !net.training || p.Rate == 0 {
		return x, nil
	}
	return G.ApplyOp(&DropoutOp{Rate: p.Rate, Layer: layer, Seed: net.Model.Spec.Seed}, x, net.stepNode())
}

// stepNode is the net's step counter (Net.Step), made at the first call.
func (net *Net) stepNode() *G.Node {
	if net.Step == nil {
		net.Step = G.NewScalar(net.G, G.Float64, G.WithName("step"), G.WithValue(0.0))
	}
	return net.Step
}

// batchNorm adds p's batch normalisation to net's graph: over the batch (and the image, for
// an image) each channel is standardised, y = (x − μ)/√(σ² + ε)·scale + shift (BNOp), with
// the batch's statistics (BNStatsOp) in training, moving the running ones (net.running), and
// the running statistics at evaluation. x [B, C] or [B, C, H, W] is normalised in place, its
// channels second: no transposes (batchnorm.go).
func (net *Net) batchNorm(x *G.Node, p Placed) (*G.Node, error) {
	scale, shift, mean, vr := net.node(p.Names[0]), net.node(p.Names[1]), net.node(p.Names[2]), net.node(p.Names[3])
	if !net.training {
		return G.ApplyOp(&BNOp{Eps: BNEps}, x, mean, vr, scale, shift)
	}
	b := &builder{g: net.G}
	dims := len(x.Shape())
	mu := b.keep(G.ApplyOp(&BNStatsOp{Dims: dims}, x))
	v := b.keep(G.ApplyOp(&BNStatsOp{Var: true, Dims: dims}, x))
	if b.err != nil {
		return nil, b.err
	}
	y, err := G.ApplyOp(&BNOp{Eps: BNEps, Running: [2]string{p.Names[2], p.Names[3]}}, x, mu, v, scale, shift)
	if err != nil {
		return nil, err
	}
	n := x.Shape().TotalSize() / p.Out.C
	unbiased := float64(n) / float64(max(1, n-1))
	net.running[p.Names[2]] = b.mul(b.sub(mean, mu), b.scalar(BNMomentum))
	net.running[p.Names[3]] = b.mul(b.sub(vr, b.mul(v, b.scalar(unbiased))), b.scalar(BNMomentum))
	return y, b.err
}

// avgPool adds p's average pooling: the windows as columns (Im2col), each summed and scaled
// by 1/k², and the channels put second again.
func (net *Net) avgPool(x *G.Node, p Placed) (*G.Node, error) {
	k, s := p.Kernel, p.Stride
	cols, err := G.Im2Col(x, tensor.Shape{k, k}, []int{0, 0}, []int{s, s}, []int{1, 1})
	if err != nil {
		return nil, err
	}
	b := &builder{g: net.G}
	in, out := p.In, p.Out
	sum := b.sum(b.reshape(cols, tensor.Shape{net.Batch * out.H * out.W * in.C, k * k}), 1)
	mean := b.mul(sum, b.scalar(1/float64(k*k)))
	y := b.reshape(mean, tensor.Shape{net.Batch, out.H, out.W, in.C})
	if b.err != nil {
		return nil, b.err
	}
	return G.Transpose(y, 0, 3, 1, 2)
}

// builder chains Gorgonia ops, keeping the first error (after which every op returns nil).
type builder struct {
	g   *G.ExprGraph
	err error
}

func (b *builder) keep(n *G.Node, err error) *G.Node {
	if b.err == nil {
		b.err = err
	}
	if b.err != nil {
		return nil
	}
	return n
}

func (b *builder) scalar(v float64) *G.Node {
	if b.err != nil {
		return nil
	}
	return G.NewConstant(v)
}

func (b *builder) sub(x, y *G.Node) *G.Node { return b.binary(G.Sub, x, y) }

// mul is x ⊙ y, or x·y for a scalar y.
func (b *builder) mul(x, y *G.Node) *G.Node {
	if y != nil && y.IsScalar() {
		return b.binary(G.Mul, x, y)
	}
	return b.binary(G.HadamardProd, x, y)
}

// binary applies f to x and y, a scalar constant y first made of x's dtype.
func (b *builder) binary(f func(x, y *G.Node) (*G.Node, error), x, y *G.Node) *G.Node {
	if b.err != nil {
		return nil
	}
	if y.IsScalar() && x.Dtype() == tensor.Float32 && y.Dtype() == tensor.Float64 {
		if v, ok := y.Value().Data().(float64); ok && y.Op() != nil {
			y = G.NewConstant(float32(v))
		}
	}
	return b.keep(f(x, y))
}

func (b *builder) reshape(x *G.Node, s tensor.Shape) *G.Node {
	if b.err != nil {
		return nil
	}
	return b.keep(G.Reshape(x, s))
}

func (b *builder) sum(x *G.Node, axes ...int) *G.Node {
	if b.err != nil {
		return nil
	}
	return b.keep(G.Sum(x, axes...))
}
