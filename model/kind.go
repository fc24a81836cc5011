package model

import (
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
)

// A kind is one kind of model graphtrain builds. Each is written in one file (xor.go,
// mlp.go, cnn.go): its name, its sizes, its layers and its loss; everything else (the graph,
// the parameters' names and shapes, the memory estimate) follows from the layers.
type kind struct {
	name string
	// classifier: trained on an MNIST-format data set with softmax cross-entropy, its last
	// layer's units the classes; else the XOR net's sum of squares.
	classifier bool
	// nearest is the spec of this kind graphtrain builds nearest s, or an error about s's
	// sizes.
	nearest func(s Spec) (Spec, error)
	// arch is the layers of a model of spec s (checked by nearest).
	arch func(s Spec) []Layer
	// input is the shape of one example.
	input func(s Spec) Shape
	// newModel makes a model of s with fresh parameters; nil: uniform in ±1/√fan_in, drawn
	// layer by layer from seed.
	newModel func(s Spec, seed int64) (*Model, error)
	// params lists the parameters in the order of Model.Params; nil: layer by layer.
	params func(placed []Placed) []ParamShape
	// perExample is the memory estimate's values per example, forward and backward.
	perExample func(s Spec) int64
	// loss sets net.Out and net.Loss from the last layer's output.
	loss func(net *Net, out *G.Node) error
	// hidden is how many hidden layer sizes the kind takes (--hidden): 0 none, 1 for the XOR
	// net, MaxLayers for the mlp.
	hidden int
	// described: a model of the kind is given by a description, not by its name alone.
	described bool
}

// kinds are the models graphtrain builds, in the order messages list them (set in init: the
// custom kind's checks look kinds up).
var kinds []*kind

func init() { kinds = []*kind{&xorKind, &mlpKind, &cnnKind, &customKind} }

// lookupKind is the kind called name, or an error that lists the kinds.
func lookupKind(name string) (*kind, error) {
	for _, k := range kinds {
		if k.name == name {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: unknown model kind %q (want %s)", ErrSpec, Short(name), kindList())
}

// Kinds are the names of the model kinds graphtrain builds: xor, mlp, cnn.
func Kinds() []string {
	var names []string
	for _, k := range kinds {
		names = append(names, k.name)
	}
	return names
}

// NamedKinds are the kinds a name alone builds (with hidden sizes where they take them): xor,
// mlp, cnn.
func NamedKinds() []string {
	var names []string
	for _, k := range kinds {
		if !k.described {
			names = append(names, k.name)
		}
	}
	return names
}

// HiddenSizes is how many hidden layer sizes a model of the named kind takes: 0 (none), 1 (the
// XOR net) or MaxLayers (the mlp); an error for a kind a name alone does not build.
func HiddenSizes(kind string) (int, error) {
	k, err := lookupKind(kind)
	if err == nil && k.described {
		err = fmt.Errorf("%w: a %s model is given by a description, not by its name", ErrSpec, kind)
	}
	if err != nil {
		return 0, err
	}
	return k.hidden, nil
}

// NewNamed makes a fresh model of a named kind: hidden sizes where the kind takes them (one
// for xor, one or more for mlp, none for cnn), biases for xor (the others always have them).
func NewNamed(kind string, hidden []int, bias bool, seed int64) (*Model, error) {
	n, err := HiddenSizes(kind)
	if err != nil {
		return nil, err
	}
	if len(hidden) > n {
		return nil, fmt.Errorf("%w: a %s model takes %d hidden layer sizes, not %d", ErrSpec, kind, n, len(hidden))
	}
	s, err := SpecFor(kind, 1, bias)
	if n > 0 {
		if len(hidden) == 0 {
			return nil, fmt.Errorf("%w: a %s model needs its hidden layer sizes", ErrSpec, kind)
		}
		if s, err = SpecFor(kind, hidden[0], bias); err == nil && len(hidden) > 1 {
			s, err = MLPSpec(hidden)
		}
	}
	if err != nil {
		return nil, err
	}
	return NewModel(s, seed)
}

// Convolutional reports whether a model of this spec has a convolution.
func (s Spec) Convolutional() bool {
	arch, err := s.Arch()
	if err != nil {
		return false
	}
	for _, l := range arch {
		if l.Op == "conv" {
			return true
		}
	}
	return false
}

// kindList writes the kinds for a message: "xor, mlp or cnn".
func kindList() string {
	names := Kinds()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Classifier reports whether a model of this spec is trained on an MNIST-format data set with
// softmax cross-entropy (mlp, cnn), not the XOR net's sum of squares.
func (s Spec) Classifier() bool {
	k, err := lookupKind(s.Kind)
	return err == nil && k.classifier
}

// Arch is the layers of a model of this spec, checked.
func (s Spec) Arch() ([]Layer, error) {
	k, err := s.check()
	if err != nil {
		return nil, err
	}
	return k.arch(s), nil
}

// placed is the spec's layers with their shapes and parameter names, the spec checked.
func (s Spec) placed() (*kind, []Placed, error) {
	if _, err := s.check(); err != nil {
		return nil, nil, err
	}
	return s.layout()
}

// Layout is the spec's layers placed on its input (Place): each with its input and output
// shapes and its parameters' names and shapes.
func (s Spec) Layout() ([]Placed, error) {
	_, placed, err := s.layout()
	return placed, err
}

// InputShape is the shape of one example of a model of this spec: an image [C, H, W] for
// models that start with a convolution or a pooling, else a vector of Inputs.
func (s Spec) InputShape() (Shape, error) {
	k, err := lookupKind(s.Kind)
	if err != nil {
		return Shape{}, err
	}
	return k.input(s), nil
}

// layout is the spec's layers with their shapes and parameter names, its kind known but its
// sizes not held to what graphtrain trains (a float64 copy for a gradient check builds too).
func (s Spec) layout() (*kind, []Placed, error) {
	k, err := lookupKind(s.Kind)
	if err != nil {
		return nil, nil, err
	}
	placed, err := Place(k.input(s), k.arch(s))
	if err == nil && len(placed) == 0 {
		err = fmt.Errorf("%w: %s has no layers", ErrSpec, s)
	}
	return k, placed, err
}

// check is Check, returning the spec's kind.
func (s Spec) check() (*kind, error) {
	k, err := lookupKind(s.Kind)
	if err != nil {
		return nil, err
	}
	want, err := k.nearest(s)
	if err != nil {
		return nil, err
	}
	want.Augment = s.Augment // any model on images takes it, checked below
	if err := s.checkAugment(); err != nil {
		return nil, err
	}
	if !s.Equal(want) {
		return nil, fmt.Errorf("%w: %s is not a model graphtrain builds (the nearest is %s)", ErrSpec, s, want)
	}
	return k, nil
}

// Check reports whether graphtrain builds a model of this spec, without building it.
func (s Spec) Check() error {
	_, err := s.check()
	return err
}

// imageInput is the input of a model on square one-channel images of Inputs pixels.
func imageInput(s Spec) Shape {
	side := 1
	for side*side < s.Inputs {
		side++
	}
	return Shape{1, side, side}
}

// vectorInput is the input of a model on vectors of Inputs values.
func vectorInput(s Spec) Shape { return Shape{C: s.Inputs} }
