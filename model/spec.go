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
		s.Bias == o.Bias && s.Activation == o.Activation && s.Dtype == o.Dtype && slices.Equal(s.Layers, o.Layers) &&
		s.Description == o.Description && slices.Equal(s.Image, o.Image) && s.Seed == o.Seed && s.Augment.Equal(o.Augment)
}

// LayerSizes writes the sizes of the mlp's layers, inputs to outputs: 784-512-256-10.
func (s Spec) LayerSizes() string {
	parts := []string{fmt.Sprint(s.Inputs)}
	for _, h := range s.HiddenLayers() {
		parts = append(parts, fmt.Sprint(h))
	}
	return strings.Join(append(parts, fmt.Sprint(s.Outputs)), "-")
}

// checkHidden checks the hidden units of an xor net or an mlp's first layer.
func checkHidden(h int) error {
	if h < 1 || h > MaxHidden {
		return fmt.Errorf("%w: %d hidden units: must be between 1 and %d", ErrSpec, h, MaxHidden)
	}
	return nil
}

// checkLayers checks the hidden layer sizes of an mlp.
func checkLayers(layers []int) error {
	if len(layers) < 1 || len(layers) > MaxLayers {
		return fmt.Errorf("%w: %d hidden layers: must be between 1 and %d", ErrSpec, len(layers), MaxLayers)
	}
	for _, h := range layers {
		if err := checkHidden(h); err != nil {
			return err
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
	k, placed, err := s.placed()
	if err != nil {
		return nil, err
	}
	if k.params != nil {
		return k.params(placed), nil
	}
	return paramShapes(placed), nil
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
	k, _ := lookupKind(s.Kind)
	return params*int64(3+slots) + int64(batch)*k.perExample(s)*s.elemBytes(), nil
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
	k, err := lookupKind(kind)
	if err != nil {
		return Spec{}, err
	}
	s := Spec{Kind: k.name, Hidden: hidden, Bias: bias}
	if k.classifier {
		s.Bias = true
	}
	s, err = k.nearest(s)
	if err != nil {
		return Spec{}, err
	}
	return s, s.Check()
}
