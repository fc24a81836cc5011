package model

import (
	"errors"
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Spec is what a model is, apart from its parameter values: enough to rebuild its graph.
// It is stored in a checkpoint's model.json.
type Spec struct {
	Kind   string `json:"kind"`   // one of Kinds()
	Inputs int    `json:"inputs"` // features per example: 2 for xor, 784 for mnist
	Hidden int    `json:"hidden"` // hidden units (xor, mlp): of the first hidden layer
	// Layers are the sizes of an mlp's hidden layers, first to last, when it has more than
	// one (784-512-256-10: [512, 256], with Hidden 512); empty for one hidden layer, so that
	// a one-layer mlp's model.json is what it always was.
	Layers     []int  `json:"layers,omitempty"`
	Outputs    int    `json:"outputs"`    // 1 for xor, 10 for mnist
	Bias       bool   `json:"bias"`       // whether the dense layers have biases
	Activation string `json:"activation"` // hidden activation: "sigmoid" or "relu"
	Dtype      string `json:"dtype"`      // "float64" or "float32"
	// Description is a custom model's layers, a model description in its normalised form
	// (ParseArch, Describe); empty for the built-in kinds.
	Description string `json:"description,omitempty"`
	// Image is the shape of a custom model's examples, [channels, height, width], when they
	// are images; empty for vectors (and for the built-in kinds, whose cnn reads 28x28).
	Image []int `json:"image,omitempty"`
	// Seed keys a custom model's dropout masks (with the layer, the step and the element):
	// the seed the model was made with, 0 without dropout.
	Seed int64 `json:"seed,omitempty"`
	// Augment is the augmentation of the training images, nil for none.
	Augment *Augment `json:"augment,omitempty"`
}

// Param is one named parameter tensor. Its name is also its file name in a checkpoint
// (name + ".npy").
type Param struct {
	Name string
	T    *tensor.Dense
	// Running marks a running statistic (a batch normalisation's mean or variance): no
	// solver trains it; a training step moves it by its "gradient", w −= g, which is
	// BNMomentum of its distance to the batch's statistic.
	Running bool
}

// Model is a network's definition and parameters. Graphs built from it share its parameter
// tensors, so an update made through one graph is seen by all.
type Model struct {
	Spec   Spec
	Params []*Param

	graph *Net // a graph model's one Net (NewGraphModel); nil for the kinds Build makes
}

// Param returns the parameter called name, or nil.
func (m *Model) Param(name string) *Param {
	for _, p := range m.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Net is one Gorgonia graph built from a Model for a fixed batch size.
type Net struct {
	Model *Model
	G     *G.ExprGraph
	Batch int
	X     *G.Node   // inputs: [batch, inputs] (the cnn reshapes them itself)
	Y     *G.Node   // targets: [batch, outputs]
	Out   *G.Node   // predictions: [batch, outputs], probabilities for mnist
	Loss  *G.Node   // scalar
	Nodes []*G.Node // one per Model.Params, in the same order
	Grads []*G.Node // d Loss / d Nodes[i] (for a running statistic: its step, Param.Running); nil when built without gradients
	// Step is the solver's updates so far, a float64 scalar that dropout's masks and the
	// augmentation's transforms are drawn at: an input every executor sets before a step. Nil
	// without dropout or augmentation in training.
	Step *G.Node
	Acts []*G.Node // the output of each layer of Spec.Arch, in order (Out is the last's, or the loss's input)

	// outVal receives a copy of Out's value as soon as it is computed: the TapeMachine
	// reuses Out's memory for the backward pass.
	outVal G.Value

	training bool               // built with gradients: dropout drops, batch norms use the batch's statistics
	running  map[string]*G.Node // each running statistic's step, by name (Grads)
}

// ErrShape reports a tensor whose shape does not fit the model.
var ErrShape = errors.New("graph: shape mismatch")

// Build makes a graph of m for batch examples at a time: its layers (Spec.Arch) from x, then
// its loss. With grad it also adds the symbolic gradients of the loss with respect to every
// parameter (gorgonia.Grad). A graph model (NewGraphModel) returns its one Net, which has
// its gradients, for its own batch size only.
func (m *Model) Build(batch int, grad bool) (net *Net, err error) {
	if m.Spec.Kind == GraphKind {
		return m.graphNet(batch)
	}
	if _, err := lookupKind(m.Spec.Kind); err != nil {
		return nil, fmt.Errorf("graph: unknown model kind %q", Short(m.Spec.Kind))
	}
	if batch < 1 {
		return nil, fmt.Errorf("graph: batch size %d: must be at least 1", batch)
	}
	k, placed, err := m.Spec.layout()
	if err != nil {
		return nil, err
	}
	defer RecoverGorgonia(&err, "build "+m.Spec.Kind+" graph")
	dt, err := m.dtype()
	if err != nil {
		return nil, err
	}
	g := G.NewGraph()
	net = &Net{Model: m, G: g, Batch: batch, training: grad, running: map[string]*G.Node{}}
	for _, p := range m.Params {
		n := G.NewTensor(g, dt, p.T.Dims(), G.WithShape(p.T.Shape()...), G.WithName(p.Name), G.WithValue(p.T))
		net.Nodes = append(net.Nodes, n)
	}
	net.X = G.NewMatrix(g, dt, G.WithShape(batch, m.Spec.Inputs), G.WithName("x"), G.WithInit(G.Zeroes()))
	net.Y = G.NewMatrix(g, dt, G.WithShape(batch, m.Spec.Outputs), G.WithName("y"), G.WithInit(G.Zeroes()))
	x, err := net.augment(net.X)
	if err != nil {
		return nil, err
	}
	if in := placed[0].In; in.H > 0 { // images: [batch, C, H, W]
		if x, err = G.Reshape(x, tensor.Shape{batch, in.C, in.H, in.W}); err != nil {
			return nil, err
		}
	}
	out, err := buildLayers(net, x, placed)
	if err != nil {
		return nil, err
	}
	if err := k.loss(net, out); err != nil {
		return nil, err
	}
	net.outVal = tensor.New(tensor.Of(dt), tensor.WithShape(net.Out.Shape().Clone()...))
	G.Read(net.Out, &net.outVal)
	if grad {
		if err := net.grads(); err != nil {
			return nil, err
		}
	}
	return net, nil
}

// grads adds the gradients of the loss with respect to the trained parameters
// (gorgonia.Grad), and takes the running statistics' steps from the layers that made them.
func (net *Net) grads() error {
	var trained []*G.Node
	for i, p := range net.Model.Params {
		if !p.Running {
			trained = append(trained, net.Nodes[i])
		}
	}
	gs, err := G.Grad(net.Loss, trained...)
	if err != nil {
		return fmt.Errorf("graph: gradients of %s: %w", net.Model.Spec.Kind, err)
	}
	net.Grads = make([]*G.Node, len(net.Nodes))
	for i, p := range net.Model.Params {
		if !p.Running {
			net.Grads[i], gs = gs[0], gs[1:]
		} else if net.Grads[i] = net.running[p.Name]; net.Grads[i] == nil {
			return fmt.Errorf("graph: running statistic %s: no batch normalisation computes it", p.Name)
		}
	}
	return nil
}

// node is the graph's node of the parameter called name, nil for "" or none.
func (n *Net) node(name string) *G.Node {
	for i, p := range n.Model.Params {
		if name != "" && p.Name == name && i < len(n.Nodes) {
			return n.Nodes[i]
		}
	}
	return nil
}

func (m *Model) dtype() (tensor.Dtype, error) {
	switch m.Spec.Dtype {
	case "float64":
		return tensor.Float64, nil
	case "float32":
		return tensor.Float32, nil
	}
	return tensor.Dtype{}, fmt.Errorf("graph: dtype %q: must be float32 or float64", m.Spec.Dtype)
}

// RecoverGorgonia turns a panic inside Gorgonia into an error, so that none reaches the user.
func RecoverGorgonia(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("graph: %s: %v", what, r)
	}
}

// OutValue is the value of Out from the last run of the graph (a copy taken as soon as it
// was computed: the TapeMachine reuses Out's memory for the backward pass).
func (n *Net) OutValue() G.Value { return n.outVal }

// Check verifies that the net has a node per parameter.
func (n *Net) Check() error {
	if len(n.Nodes) != len(n.Model.Params) {
		return fmt.Errorf("graph: %d nodes for %d parameters", len(n.Nodes), len(n.Model.Params))
	}
	return nil
}

// ErrSpec reports a model spec graphtrain does not build.
var ErrSpec = errors.New("unsupported model")

// NewModel makes a model from spec with freshly initialised parameters.
func NewModel(spec Spec, seed int64) (*Model, error) {
	if spec.Seed == 0 && spec.Kind == customKind.name && strings.Contains(spec.Description, "dropout") {
		spec.Seed = seed // the key of its masks
	}
	if err := spec.Check(); err != nil {
		return nil, err
	}
	k, placed, err := spec.placed()
	if err != nil {
		return nil, err
	}
	m := &Model{Spec: spec}
	if k.newModel != nil {
		if m, err = k.newModel(spec, seed); err != nil {
			return nil, err
		}
	} else {
		m.Params = uniformParams(placed, seed)
	}
	if !m.Spec.Equal(spec) {
		return nil, fmt.Errorf("%w: %s is not a model graphtrain builds (the nearest is %s)", ErrSpec, spec, m.Spec)
	}
	return m, nil
}
