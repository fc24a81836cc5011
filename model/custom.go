package model

import (
	"fmt"
)

// A custom model is a classifier given by a model description (ParseArch): any sequence of
// layers on images [C, H, W] or vectors, its last dense layer's units the classes, trained on
// softmax cross-entropy. Its Spec records the description in its normalised form.
var customKind = kind{
	name:       "custom",
	classifier: true,
	nearest:    customNearest,
	arch:       customArch,
	input:      customInput,
	perExample: customPerExample,
	loss:       softmaxCrossEntropy,
	described:  true,
}

// CustomSpec is the spec of the model description text on examples of shape in (an image
// [C, H, W], or a vector of in.C values): the description read, completed (NormalizeArch) and
// checked against in, before anything is allocated.
func CustomSpec(text string, in Shape) (Spec, error) {
	layers, err := ParseArch(text)
	if err != nil {
		return Spec{}, err
	}
	if in.C < 1 || in.H < 0 || in.W < 0 || (in.H == 0) != (in.W == 0) || in.Size() > MaxInputs {
		return Spec{}, fmt.Errorf("%w: input %s: want C, H and W from 1 (or a vector), at most %d values", ErrSpec, in, MaxInputs)
	}
	norm, placed, err := NormalizeArch(in, layers)
	if err != nil {
		return Spec{}, err
	}
	s := Spec{Kind: "custom", Inputs: in.Size(), Outputs: placed[len(placed)-1].Out.C,
		Bias: true, Activation: "", Dtype: "float32", Description: Describe(norm)}
	if in.H > 0 {
		s.Image = []int{in.C, in.H, in.W}
	}
	return s, nil
}

// MaxInputs bounds the values of one example of a custom model.
const MaxInputs = 1 << 24

// NewCustom makes the model of a description on examples of shape in, its parameters uniform
// in ±1/√fan_in drawn from seed.
func NewCustom(text string, in Shape, seed int64) (*Model, error) {
	s, err := CustomSpec(text, in)
	if err != nil {
		return nil, err
	}
	return NewModel(s, seed)
}

// customArch is the layers of a custom spec (its description checked by customNearest).
func customArch(s Spec) []Layer {
	layers, _ := ParseArch(s.Description)
	return layers
}

// customInput is the shape of one example of a custom model.
func customInput(s Spec) Shape {
	if len(s.Image) == 3 {
		return Shape{s.Image[0], s.Image[1], s.Image[2]}
	}
	return Shape{C: s.Inputs}
}

// customNearest checks a custom spec: its description reads and fits its input, and the
// rest of the spec is what CustomSpec makes of them.
func customNearest(s Spec) (Spec, error) {
	if len(s.Image) != 0 && len(s.Image) != 3 {
		return Spec{}, fmt.Errorf("%w: image %v: want [channels, height, width]", ErrSpec, s.Image)
	}
	in := customInput(s)
	if len(s.Image) == 3 && in.Size() != s.Inputs {
		return Spec{}, fmt.Errorf("%w: image %v holds %d values, inputs says %d", ErrSpec, s.Image, in.Size(), s.Inputs)
	}
	want, err := CustomSpec(s.Description, in)
	if err != nil {
		return Spec{}, err
	}
	want.Seed = s.Seed
	want.Dtype = s.Dtype // a float64 copy (for gradient checks) is the same model
	if s.Dtype != "float64" {
		want.Dtype = "float32"
	}
	return want, nil
}

// customPerExample estimates the values a training step keeps per example: every layer's
// output, forward and backward, and a convolution's unfolded input.
func customPerExample(s Spec) int64 {
	placed, err := Place(customInput(s), customArch(s))
	if err != nil {
		return 0
	}
	n := 2 * int64(s.Inputs+8*s.Outputs)
	for _, p := range placed {
		n += 2 * 4 * int64(p.Out.Size())
		if p.Op == "conv" {
			n += 2 * int64(p.In.C*p.Kernel*p.Kernel) * int64(p.Out.H*p.Out.W)
		}
	}
	return n
}

// BuiltinDescription is the model description of a built-in kind with its default sizes
// (mlp: 784-256-10), as --help prints it.
func BuiltinDescription(kind string, hidden ...int) (string, error) {
	s, err := SpecFor(kind, 256, true)
	if err != nil {
		return "", err
	}
	if kind == mlpKind.name && len(hidden) > 0 {
		if s, err = MLPSpec(hidden); err != nil {
			return "", err
		}
	}
	arch, err := s.Arch()
	if err != nil {
		return "", err
	}
	return Describe(arch), nil
}
