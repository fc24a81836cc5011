package model

import "fmt"

// The mlp, float32, with the shapes of bench/peers/torch_mnist.py's: 784-H-10,
//
//	z = ReLU(x·W0 + b0)·W1 + b1                    x [B,784], W0 [784,H], W1 [H,10]
//
// and deeper, 784-H0-H1-...-10: ReLU(x·W0 + b0) → ReLU(·W1 + b1) → ... → ·WL + bL, ending in
// logits [B,10] and softmax cross-entropy (mnist.go). Parameters start as PyTorch's layers
// start them, uniform in ±1/√fan_in (weights and biases), drawn layer by layer, weights<i>
// then bias<i>, so that one hidden layer gives the net of before deeper mlps, draw for draw.
var mlpKind = kind{
	name:       "mlp",
	classifier: true,
	nearest: func(s Spec) (Spec, error) {
		if err := checkHidden(s.Hidden); err != nil {
			return Spec{}, err
		}
		if err := checkLayers(s.HiddenLayers()); err != nil {
			return Spec{}, err
		}
		if len(s.Layers) == 1 || len(s.Layers) > 1 && s.Layers[0] != s.Hidden {
			return Spec{}, fmt.Errorf("%w: layers %v with hidden %d: layers lists two or more hidden layers, the first of Hidden units (one layer is given by hidden alone)", ErrSpec, s.Layers, s.Hidden)
		}
		return mlpSpec(s.HiddenLayers()...), nil
	},
	arch: func(s Spec) []Layer {
		var ls []Layer
		for _, h := range s.HiddenLayers() {
			ls = append(ls, Dense(h, true), ReLU)
		}
		return append(ls, Dense(s.Outputs, true))
	},
	input: vectorInput,
	perExample: func(s Spec) int64 {
		n := 2 * int64(2*ImageSize+8*Classes)
		for _, h := range s.HiddenLayers() {
			n += 2 * 6 * int64(h)
		}
		return n
	},
	loss:   softmaxCrossEntropy,
	hidden: MaxLayers,
}

// mlpSpec is the spec of the mlp with these hidden layers. One hidden layer is recorded in
// Hidden alone (as every checkpoint before deeper mlps did); a deeper net also lists every
// layer in Layers.
func mlpSpec(hidden ...int) Spec {
	s := Spec{Kind: "mlp", Inputs: ImageSize, Outputs: Classes, Bias: true, Activation: "relu", Dtype: "float32"}
	if len(hidden) > 0 {
		s.Hidden = hidden[0]
	}
	if len(hidden) > 1 {
		s.Layers = append([]int(nil), hidden...)
	}
	return s
}

// NewMLP returns the 784-H-10 ReLU net.
func NewMLP(hidden int, seed int64) (*Model, error) {
	if hidden < 1 {
		return nil, fmt.Errorf("graph: hidden units %d: must be at least 1", hidden)
	}
	return NewDeepMLP([]int{hidden}, seed)
}

// NewDeepMLP returns the ReLU net 784-H0-H1-...-10 with the hidden layers given.
func NewDeepMLP(hidden []int, seed int64) (*Model, error) {
	if err := checkLayers(hidden); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	return NewModel(mlpSpec(hidden...), seed)
}

// MLPSpec is the spec of the mlp with these hidden layers (784-512-256-10: [512, 256]). It
// allocates nothing.
func MLPSpec(hidden []int) (Spec, error) {
	if err := checkLayers(hidden); err != nil {
		return Spec{}, err
	}
	s := mlpSpec(hidden...)
	return s, s.Check()
}
