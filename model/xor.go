package model

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"graphtrain/internal/mt19937"
)

// The XOR net of the original numpy experiment:
//
//	h   = σ(X·W0 [+ b0])      X: [4, 2], W0: [2, H], h: [4, H]
//	ŷ   = σ(h·W1 [+ b1])      W1: [H, 1], ŷ: [4, 1]
//	L   = ½·Σ(y − ŷ)²
//
// The original updated W += 0.1·(its back-propagated deltas), which is exactly gradient
// descent on L with learning rate 0.1: with the same starting weights the runs agree.
func init() { builders["xor"] = buildXOR }

// XORBatch is the four examples as tensors: inputs [4, 2] and targets [4, 1] (copies).
func XORBatch() (x, y *tensor.Dense) {
	x = tensor.New(tensor.WithShape(4, 2), tensor.WithBacking(append([]float64(nil), XORInputs...)))
	y = tensor.New(tensor.WithShape(4, 1), tensor.WithBacking(append([]float64(nil), XORTargets...)))
	return x, y
}

// XORInputs are the four examples in the order 00 01 10 11, and XORTargets their answers.
var (
	XORInputs  = []float64{0, 0, 0, 1, 1, 0, 1, 1}
	XORTargets = []float64{0, 1, 1, 0}
)

// NewXOR returns the XOR net with hidden sigmoid units, its weights drawn as the original
// did: np.random.seed(seed); weights0 = np.random.rand(2, H); weights1 = np.random.rand(H, 1).
// Biases, when asked for, start at zero. seed must fit in 32 bits, as numpy requires.
func NewXOR(hidden int, bias bool, seed int64) (*Model, error) {
	if hidden < 1 {
		return nil, fmt.Errorf("graph: hidden units %d: must be at least 1", hidden)
	}
	if seed < 0 || seed > math.MaxUint32 {
		return nil, fmt.Errorf("graph: seed %d: must be between 0 and %d", seed, uint32(math.MaxUint32))
	}
	r := mt19937.New(uint32(seed))
	w0 := make([]float64, 2*hidden)
	for i := range w0 {
		w0[i] = r.Float64()
	}
	w1 := make([]float64, hidden)
	for i := range w1 {
		w1[i] = r.Float64()
	}
	m := &Model{Spec: XORSpec(hidden, bias)}
	m.Params = []*Param{
		{Name: "weights0", T: tensor.New(tensor.WithShape(2, hidden), tensor.WithBacking(w0))},
		{Name: "weights1", T: tensor.New(tensor.WithShape(hidden, 1), tensor.WithBacking(w1))},
	}
	if bias {
		m.Params = append(m.Params,
			&Param{Name: "bias0", T: tensor.New(tensor.WithShape(1, hidden), tensor.WithBacking(make([]float64, hidden)))},
			&Param{Name: "bias1", T: tensor.New(tensor.WithShape(1, 1), tensor.WithBacking(make([]float64, 1)))})
	}
	return m, nil
}

// XORSpec is the spec of the XOR net with hidden sigmoid units, with or without biases.
func XORSpec(hidden int, bias bool) Spec {
	return Spec{Kind: "xor", Inputs: 2, Hidden: hidden, Outputs: 1, Bias: bias, Activation: "sigmoid", Dtype: "float64"}
}

func buildXOR(net *Net) error {
	w0, w1 := net.Nodes[0], net.Nodes[1]
	var b0, b1 *G.Node
	if net.Model.Spec.Bias {
		b0, b1 = net.Nodes[2], net.Nodes[3]
	}
	h, err := dense(net.X, w0, b0, G.Sigmoid)
	if err != nil {
		return err
	}
	out, err := dense(h, w1, b1, G.Sigmoid)
	if err != nil {
		return err
	}
	diff, err := G.Sub(net.Y, out)
	if err != nil {
		return err
	}
	sq, err := G.Square(diff)
	if err != nil {
		return err
	}
	sum, err := G.Sum(sq)
	if err != nil {
		return err
	}
	loss, err := G.Mul(sum, G.NewConstant(0.5, G.WithName("half")))
	if err != nil {
		return err
	}
	net.Out, net.Loss = out, loss
	return nil
}

// dense is act(x·w + b): x [batch, in], w [in, out], b [1, out] broadcast over the batch
// (nil for none), act nil for none.
func dense(x, w, b *G.Node, act func(*G.Node) (*G.Node, error)) (*G.Node, error) {
	y, err := G.Mul(x, w)
	if err != nil {
		return nil, err
	}
	if b != nil {
		if y, err = G.BroadcastAdd(y, b, nil, []byte{0}); err != nil {
			return nil, err
		}
	}
	if act != nil {
		return act(y)
	}
	return y, nil
}
