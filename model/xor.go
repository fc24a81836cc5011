package model

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/internal/mt19937"
)

// The XOR net of the original numpy experiment:
//
//	h   = σ(X·W0 [+ b0])      X: [4, 2], W0: [2, H], h: [4, H]
//	ŷ   = σ(h·W1 [+ b1])      W1: [H, 1], ŷ: [4, 1]
//	L   = ½·Σ(y − ŷ)²
//
// The original updated W += 0.1·(its back-propagated deltas), which is exactly gradient
// descent on L with learning rate 0.1: with the same starting weights the runs agree.
var xorKind = kind{
	name: "xor",
	nearest: func(s Spec) (Spec, error) {
		if err := checkHidden(s.Hidden); err != nil {
			return Spec{}, err
		}
		return XORSpec(s.Hidden, s.Bias), nil
	},
	arch: func(s Spec) []Layer {
		return []Layer{Dense(s.Hidden, s.Bias), Sigmoid, Dense(s.Outputs, s.Bias), Sigmoid}
	},
	input:    vectorInput,
	newModel: func(s Spec, seed int64) (*Model, error) { return NewXOR(s.Hidden, s.Bias, seed) },
	// weights0, weights1, then the biases: the order of the original's files.
	params: func(placed []Placed) []ParamShape {
		var ws, bs []ParamShape
		for _, p := range placed {
			if p.Weights != "" {
				ws = append(ws, ParamShape{p.Weights, p.WShape})
			}
			if p.Bs != "" {
				bs = append(bs, ParamShape{p.Bs, p.BShp})
			}
		}
		return append(ws, bs...)
	},
	perExample: func(s Spec) int64 { return 2 * int64(2+6*s.Hidden+6) },
	loss:       halfSumOfSquares,
	hidden:     1,
}

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

// halfSumOfSquares sets net.Out to ŷ and net.Loss to ½·Σ(y − ŷ)².
func halfSumOfSquares(net *Net, out *G.Node) error {
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
