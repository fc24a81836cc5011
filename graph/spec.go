package graph

import (
	"fmt"
	"slices"
)

// MaxHidden bounds the hidden units of the xor and mlp models: far beyond any useful net,
// small enough that no parameter's size overflows.
const MaxHidden = 1 << 24

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

// mlpSpec and cnnSpec are the only specs of their kinds that graphtrain builds.
func mlpSpec(hidden int) Spec {
	return Spec{Kind: "mlp", Inputs: ImageSize, Hidden: hidden, Outputs: Classes, Bias: true, Activation: "relu", Dtype: "float32"}
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
		want = xorSpec(s.Hidden, s.Bias)
		if s.Kind == "mlp" {
			want = mlpSpec(s.Hidden)
		}
	case "cnn":
		want = cnnSpec()
	default:
		return fmt.Errorf("%w: unknown model kind %q (want xor, mlp or cnn)", ErrSpec, short(s.Kind))
	}
	if s != want {
		return fmt.Errorf("%w: %s is not a model graphtrain builds (the nearest is %s)", ErrSpec, s, want)
	}
	return nil
}

// String writes the spec as model.json says it, for messages.
func (s Spec) String() string {
	return fmt.Sprintf("%s %d-%d-%d %s bias=%v %s", short(s.Kind), s.Inputs, s.Hidden, s.Outputs, short(s.Activation), s.Bias, short(s.Dtype))
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
		return []ParamShape{{"weights0", []int{ImageSize, h}}, {"bias0", []int{1, h}}, {"weights1", []int{h, Classes}}, {"bias1", []int{1, Classes}}}, nil
	}
	return []ParamShape{
		{"conv0", []int{6, 1, 5, 5}}, {"conv0_bias", []int{1, 6, 1, 1}},
		{"conv1", []int{16, 6, 5, 5}}, {"conv1_bias", []int{1, 16, 1, 1}},
		{"weights0", []int{400, 120}}, {"bias0", []int{1, 120}},
		{"weights1", []int{120, 84}}, {"bias1", []int{1, 84}},
		{"weights2", []int{84, Classes}}, {"bias2", []int{1, Classes}},
	}, nil
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
		perExample = 2 * int64(2*ImageSize+6*s.Hidden+8*Classes)
	case "cnn":
		// input, im2col of both convolutions (28·28·25 and 10·10·150), conv, bias, ReLU
		// and pool outputs, the dense layers.
		perExample = 2 * int64(ImageSize+28*28*25+10*10*150+4*6*28*28+2*6*14*14+4*16*10*10+2*400+4*120+4*84+8*Classes)
	}
	return params*int64(3+slots) + int64(batch)*perExample*s.elemBytes(), nil
}

// short cuts a string from a file to 40 bytes for a message.
func short(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:40] + "..."
}

// sameShape compares two shapes.
func sameShape(a, b []int) bool { return slices.Equal(a, b) }

// SpecFor is the spec of the model graphtrain builds of kind: hidden units for xor and mlp,
// biases for xor (the MNIST models always have them). It allocates nothing, so that a job's
// memory can be estimated (TrainBytes) before its model is made.
func SpecFor(kind string, hidden int, bias bool) (Spec, error) {
	var s Spec
	switch kind {
	case "xor":
		s = xorSpec(hidden, bias)
	case "mlp":
		s = mlpSpec(hidden)
	case "cnn":
		s = cnnSpec()
	default:
		return Spec{}, fmt.Errorf("%w: unknown model kind %q (want xor, mlp or cnn)", ErrSpec, short(kind))
	}
	return s, s.Check()
}
