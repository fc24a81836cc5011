package model

import (
	"fmt"
	"slices"
	"strings"
)

// MaxHidden bounds the hidden units of the xor and mlp models: far beyond any useful net,
// small enough that no parameter's size overflows.
const MaxHidden = 1 << 24

// MaxLayers bounds the hidden layers of an mlp: far beyond any useful net.
const MaxLayers = 64

// ParamShape is the name and shape of one parameter, known from a Spec before anything is
// allocated.
type ParamShape struct {
	Name  string
	Shape []int
}

// Len is the number of values of the parameter.
func (p ParamShape) Len() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// mlpSpec and cnnSpec are the only specs of their kinds that graphtrain builds. An mlp with
// one hidden layer records its size in Hidden alone (as every checkpoint before deeper
// mlps did); a deeper one also lists every layer in Layers.
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

// HiddenLayers lists the sizes of the hidden layers, first to last: Layers, or [Hidden]
// when the model has one hidden layer (xor, and an mlp with one).
func (s Spec) HiddenLayers() []int {
	if len(s.Layers) > 0 {
		return append([]int(nil), s.Layers...)
	}
	return []int{s.Hidden}
}

// Equal reports whether two specs are the same model.
func (s Spec) Equal(o Spec) bool {
	return s.Kind == o.Kind && s.Inputs == o.Inputs && s.Hidden == o.Hidden && s.Outputs == o.Outputs &&
		s.Bias == o.Bias && s.Activation == o.Activation && s.Dtype == o.Dtype && slices.Equal(s.Layers, o.Layers)
}

// LayerSizes writes the sizes of the mlp's layers, inputs to outputs: 784-512-256-10.
func (s Spec) LayerSizes() string {
	parts := []string{fmt.Sprint(s.Inputs)}
	for _, h := range s.HiddenLayers() {
		parts = append(parts, fmt.Sprint(h))
	}
	return strings.Join(append(parts, fmt.Sprint(s.Outputs)), "-")
}

func cnnSpec() Spec {
	return Spec{Kind: "cnn", Inputs: ImageSize, Outputs: Classes, Bias: true, Activation: "relu", Dtype: "float32"}
}

// Check reports whether graphtrain builds a model of this spec, without building it.
func (s Spec) Check() error {
	var want Spec
	switch s.Kind {
	case "xor", "mlp":
		if s.Hidden < 1 || s.Hidden > MaxHidden {
			return fmt.Errorf("%w: %d hidden units: must be between 1 and %d", ErrSpec, s.Hidden, MaxHidden)
		}
		want = XORSpec(s.Hidden, s.Bias)
		if s.Kind == "mlp" {
			if err := checkLayers(s.HiddenLayers()); err != nil {
				return err
			}
			if len(s.Layers) == 1 || len(s.Layers) > 1 && s.Layers[0] != s.Hidden {
				return fmt.Errorf("%w: layers %v with hidden %d: layers lists two or more hidden layers, the first of Hidden units (one layer is given by hidden alone)", ErrSpec, s.Layers, s.Hidden)
			}
			want = mlpSpec(s.HiddenLayers()...)
		}
	case "cnn":
		want = cnnSpec()
	default:
		return fmt.Errorf("%w: unknown model kind %q (want xor, mlp or cnn)", ErrSpec, Short(s.Kind))
	}
	if !s.Equal(want) {
		return fmt.Errorf("%w: %s is not a model graphtrain builds (the nearest is %s)", ErrSpec, s, want)
	}
	return nil
}

// checkLayers checks the hidden layer sizes of an mlp.
func checkLayers(layers []int) error {
	if len(layers) < 1 || len(layers) > MaxLayers {
		return fmt.Errorf("%w: %d hidden layers: must be between 1 and %d", ErrSpec, len(layers), MaxLayers)
	}
	for _, h := range layers {
		if h < 1 || h > MaxHidden {
			return fmt.Errorf("%w: %d hidden units: must be between 1 and %d", ErrSpec, h, MaxHidden)
		}
	}
	return nil
}

// String writes the spec as model.json says it, for messages.
func (s Spec) String() string {
	if len(s.Layers) > 0 && len(s.Layers) <= MaxLayers {
		return fmt.Sprintf("%s %s %s bias=%v %s", Short(s.Kind), s.LayerSizes(), Short(s.Activation), s.Bias, Short(s.Dtype))
	}
	return fmt.Sprintf("%s %d-%d-%d %s bias=%v %s", Short(s.Kind), s.Inputs, s.Hidden, s.Outputs, Short(s.Activation), s.Bias, Short(s.Dtype))
}

// ParamShapes lists the parameters of a model of this spec, in the order of Model.Params.
func (s Spec) ParamShapes() ([]ParamShape, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	h := s.Hidden
	switch s.Kind {
	case "xor":
		ps := []ParamShape{{"weights0", []int{2, h}}, {"weights1", []int{h, 1}}}
		if s.Bias {
			ps = append(ps, ParamShape{"bias0", []int{1, h}}, ParamShape{"bias1", []int{1, 1}})
		}
		return ps, nil
	case "mlp":
		return mlpParamShapes(s.HiddenLayers()), nil
	}
	return []ParamShape{
		{"conv0", []int{6, 1, 5, 5}}, {"conv0_bias", []int{1, 6, 1, 1}},
		{"conv1", []int{16, 6, 5, 5}}, {"conv1_bias", []int{1, 16, 1, 1}},
		{"weights0", []int{400, 120}}, {"bias0", []int{1, 120}},
		{"weights1", []int{120, 84}}, {"bias1", []int{1, 84}},
		{"weights2", []int{84, Classes}}, {"bias2", []int{1, Classes}},
	}, nil
}

// mlpParamShapes lists an mlp's parameters, layer by layer: weights<i> [in, out] and
// bias<i> [1, out], i from 0 (the first hidden layer) to len(hidden) (the output layer).
func mlpParamShapes(hidden []int) []ParamShape {
	var ps []ParamShape
	in := ImageSize
	for i, out := range append(append([]int(nil), hidden...), Classes) {
		ps = append(ps, ParamShape{fmt.Sprintf("weights%d", i), []int{in, out}}, ParamShape{fmt.Sprintf("bias%d", i), []int{1, out}})
		in = out
	}
	return ps
}

// elemBytes is the size of one value of the spec's dtype.
func (s Spec) elemBytes() int64 {
	if s.Dtype == "float64" {
		return 8
	}
	return 4
}

// ParamBytes is the memory the parameters of a model of this spec take.
func (s Spec) ParamBytes() (int64, error) {
	ps, err := s.ParamShapes()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range ps {
		n += int64(p.Len())
	}
	return n * s.elemBytes(), nil
}

// TrainBytes estimates the memory that training a model of this spec on the CPU takes with
// batch examples a step and a solver keeping slots buffers per parameter: the parameters,
// their gradients and the solver's state, and the values of the graph's nodes for a batch in
// the forward and the backward pass (Gorgonia's TapeMachine keeps them all; the cnn's
// convolutions also unfold their input, im2col). It errs on the high side by a little; it is
// meant to refuse a job that cannot fit, not to plan memory.
func (s Spec) TrainBytes(batch, slots int) (int64, error) {
	params, err := s.ParamBytes()
	if err != nil {
		return 0, err
	}
	var perExample int64 // values per example, forward and backward
	switch s.Kind {
	case "xor":
		perExample = 2 * int64(2+6*s.Hidden+6)
	case "mlp":
		perExample = 2 * int64(2*ImageSize+8*Classes)
		for _, h := range s.HiddenLayers() {
			perExample += 2 * 6 * int64(h)
		}
	case "cnn":
		// input, im2col of both convolutions (28·28·25 and 10·10·150), conv, bias, ReLU
		// and pool outputs, the dense layers.
		perExample = 2 * int64(ImageSize+28*28*25+10*10*150+4*6*28*28+2*6*14*14+4*16*10*10+2*400+4*120+4*84+8*Classes)
	}
	return params*int64(3+slots) + int64(batch)*perExample*s.elemBytes(), nil
}

// Short cuts a string from a file to 40 bytes for a message.
func Short(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:40] + "..."
}

// SpecFor is the spec of the model graphtrain builds of kind: hidden units for xor and mlp,
// biases for xor (the MNIST models always have them). It allocates nothing, so that a job's
// memory can be estimated (TrainBytes) before its model is made.
func SpecFor(kind string, hidden int, bias bool) (Spec, error) {
	var s Spec
	switch kind {
	case "xor":
		s = XORSpec(hidden, bias)
	case "mlp":
		s = mlpSpec(hidden)
	case "cnn":
		s = cnnSpec()
	default:
		return Spec{}, fmt.Errorf("%w: unknown model kind %q (want xor, mlp or cnn)", ErrSpec, Short(kind))
	}
	return s, s.Check()
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
