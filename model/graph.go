package model

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A graph model is a Gorgonia graph of the user's own (NewGraphModel): its inputs, targets,
// cost, output and parameter nodes. Its Spec says only its kind and sizes; the graph itself
// is not in the Spec, so a graph model cannot be rebuilt from a model.json: its parameters
// are loaded into the user's graph again (checkpoint.LoadParamsInto).

// GraphKind is the Spec.Kind of a model made from a user's graph. It is not one of Kinds():
// NewModel, Spec.Check and checkpoint.LoadCheckpoint refuse it.
const GraphKind = "graph"

// ErrGraph is wrapped by every error about a user's graph that NewGraphModel refuses.
var ErrGraph = errors.New("your Gorgonia graph cannot be trained")

// GraphNodes are the nodes of a user's Gorgonia graph that training needs, all in the same
// graph and all float32.
type GraphNodes struct {
	X      *G.Node   // the inputs: an input node [batch, inputs] (reshape inside the graph for images)
	Y      *G.Node   // the targets: an input node of batch rows, as many values as Out
	Cost   *G.Node   // the scalar that training minimises
	Out    *G.Node   // the predictions: [batch, ...]
	Params []*G.Node // the trained tensors: input nodes with values and unique names
}

// maxParamName bounds a parameter's name, which is also a file name in a checkpoint.
const maxParamName = 100

// paramName is what a parameter's name may be: it names its .npy file in a checkpoint.
var paramName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// NewGraphModel makes the model of the user's graph g: the parameters' tensors (the nodes'
// values, shared, so that training updates the graph's own values) named by their nodes, and
// one Net holding g, with the gradients of the cost with respect to every parameter added to
// g (gorgonia.Grad). Call it once per graph. Build returns that Net, for the graph's batch
// size only. Nodes that do not fit (nil, not in g, not input nodes, a cost that is not a
// scalar, names that are not file names or not unique, ...) are refused with an error that
// wraps ErrGraph and says what to change.
func NewGraphModel(g *G.ExprGraph, nodes GraphNodes) (m *Model, err error) {
	defer RecoverGorgonia(&err, "your graph")
	if err := nodes.check(g); err != nil {
		return nil, err
	}
	batch := nodes.X.Shape()[0]
	m = &Model{Spec: Spec{Kind: GraphKind, Inputs: nodes.X.Shape()[1], Outputs: nodes.Out.Shape().TotalSize() / batch, Dtype: "float32"}}
	net := &Net{Model: m, G: g, Batch: batch, X: nodes.X, Y: nodes.Y, Out: nodes.Out, Loss: nodes.Cost, Nodes: nodes.Params}
	for _, n := range nodes.Params {
		m.Params = append(m.Params, &Param{Name: n.Name(), T: n.Value().(*tensor.Dense)})
	}
	if err := net.bindInputs(); err != nil {
		return nil, err
	}
	net.outVal = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(net.Out.Shape().Clone()...))
	G.Read(net.Out, &net.outVal)
	if net.Grads, err = G.Grad(net.Loss, net.Nodes...); err != nil {
		return nil, fmt.Errorf("%w: the gradients of the cost (does it depend on every parameter, through ops Gorgonia differentiates?): %v", ErrGraph, err)
	}
	m.graph = net
	return m, nil
}

// bindInputs gives X and Y zero values when they have none, so that a forward pass that
// feeds X alone runs.
func (n *Net) bindInputs() error {
	for _, in := range []*G.Node{n.X, n.Y} {
		if in.Value() != nil {
			continue
		}
		if err := G.Let(in, tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(in.Shape().Clone()...))); err != nil {
			return fmt.Errorf("%w: give %s a value: %v", ErrGraph, in.Name(), err)
		}
	}
	return nil
}

// graphNet is the Net of a graph model, for its own batch size only.
func (m *Model) graphNet(batch int) (*Net, error) {
	if m.graph == nil {
		return nil, fmt.Errorf("%w: a %s model comes from your graph (NewGraphModel), not from its spec", ErrGraph, GraphKind)
	}
	if batch != m.graph.Batch {
		return nil, fmt.Errorf("%w: it takes batches of %d examples, not %d (its X has %d rows)", ErrGraph, m.graph.Batch, batch, m.graph.Batch)
	}
	return m.graph, nil
}

// check says what is wrong with the nodes as a trainable graph g, or nil.
func (nodes GraphNodes) check(g *G.ExprGraph) error {
	if g == nil {
		return fmt.Errorf("%w: the graph is nil", ErrGraph)
	}
	named := []struct {
		what string
		n    *G.Node
	}{{"X", nodes.X}, {"Y", nodes.Y}, {"Cost", nodes.Cost}, {"Out", nodes.Out}}
	for _, c := range named {
		if err := checkNode(g, c.what, c.n); err != nil {
			return err
		}
	}
	if err := nodes.checkShapes(); err != nil {
		return err
	}
	return nodes.checkParams(g)
}

// checkNode checks that n, the node called what, is a float32 node of g.
func checkNode(g *G.ExprGraph, what string, n *G.Node) error {
	switch {
	case n == nil:
		return fmt.Errorf("%w: %s is nil: give the node", ErrGraph, what)
	case n.Graph() != g:
		return fmt.Errorf("%w: %s (%s) belongs to another graph", ErrGraph, what, n.Name())
	case n.Dtype() != tensor.Float32:
		return fmt.Errorf("%w: %s (%s) is %v: graphtrain trains float32 graphs (G.Float32)", ErrGraph, what, n.Name(), n.Dtype())
	}
	return nil
}

// checkShapes checks that X and Y are input matrices of the same batch, that Out has that
// batch and as many values as Y, and that Cost is a scalar.
func (nodes GraphNodes) checkShapes() error {
	for _, c := range []struct {
		what string
		n    *G.Node
	}{{"X", nodes.X}, {"Y", nodes.Y}} {
		if !c.n.IsVar() {
			return fmt.Errorf("%w: %s (%s) is computed by an op, not an input node: make it with G.NewMatrix", ErrGraph, c.what, c.n.Name())
		}
		if s := c.n.Shape(); len(s) != 2 || s[0] < 1 || s[1] < 1 {
			return fmt.Errorf("%w: %s (%s) is %v: want a matrix [batch, values]", ErrGraph, c.what, c.n.Name(), s)
		}
	}
	if nodes.X == nodes.Y {
		return fmt.Errorf("%w: X and Y are the same node", ErrGraph)
	}
	batch := nodes.X.Shape()[0]
	if nodes.Y.Shape()[0] != batch {
		return fmt.Errorf("%w: X has %d rows and Y %d: both are one batch", ErrGraph, batch, nodes.Y.Shape()[0])
	}
	if s := nodes.Out.Shape(); len(s) == 0 || s[0] != batch || s.TotalSize() != nodes.Y.Shape().TotalSize() {
		return fmt.Errorf("%w: Out (%s) is %v and Y %v: Out needs the batch's %d rows and Y as many values as Out", ErrGraph, nodes.Out.Name(), s, nodes.Y.Shape(), batch)
	}
	if !nodes.Cost.IsScalar() {
		return fmt.Errorf("%w: Cost (%s) is %v, not a scalar: reduce it (G.Mean, G.Sum)", ErrGraph, nodes.Cost.Name(), nodes.Cost.Shape())
	}
	return nil
}

// checkParams checks that the parameters are input nodes of g with dense float32 values and
// unique names that are file names, none of them X or Y.
func (nodes GraphNodes) checkParams(g *G.ExprGraph) error {
	if len(nodes.Params) == 0 {
		return fmt.Errorf("%w: no Params: list the nodes that training updates", ErrGraph)
	}
	seen := map[string]bool{}
	for i, n := range nodes.Params {
		what := fmt.Sprintf("Params[%d]", i)
		if err := checkNode(g, what, n); err != nil {
			return err
		}
		if err := checkParam(what, n, nodes); err != nil {
			return err
		}
		if seen[n.Name()] {
			return fmt.Errorf("%w: %s: two parameters are called %q: name each uniquely (G.WithName)", ErrGraph, what, n.Name())
		}
		seen[n.Name()] = true
	}
	return nil
}

// checkParam checks one parameter node, called what.
func checkParam(what string, n *G.Node, nodes GraphNodes) error {
	name := n.Name()
	switch {
	case n == nodes.X || n == nodes.Y:
		return fmt.Errorf("%w: %s (%s) is X or Y, which are fed, not trained", ErrGraph, what, name)
	case !n.IsVar():
		return fmt.Errorf("%w: %s (%s) is computed by an op, not an input node: make it with G.NewMatrix and a value", ErrGraph, what, name)
	case strings.HasPrefix(name, "%!"):
		return fmt.Errorf("%w: %s has no name: give it one (G.WithName); it names the parameter's file in a checkpoint", ErrGraph, what)
	case len(name) > maxParamName || !paramName.MatchString(name) || strings.HasPrefix(name, "solver."):
		return fmt.Errorf("%w: %s is called %q: a parameter's name is its checkpoint file's, so use letters, digits, '_', '-' and '.' (not first), at most %d, not starting with \"solver.\"", ErrGraph, what, Short(name), maxParamName)
	}
	d, ok := n.Value().(*tensor.Dense)
	if !ok || d == nil {
		return fmt.Errorf("%w: %s (%s) has no tensor value (%T): give it one (G.WithInit or G.WithValue)", ErrGraph, what, name, n.Value())
	}
	if !d.Shape().Eq(n.Shape()) || d.Dtype() != tensor.Float32 {
		return fmt.Errorf("%w: %s (%s) holds a %v %v value, the node is %v float32", ErrGraph, what, name, d.Dtype(), d.Shape(), n.Shape())
	}
	return nil
}
