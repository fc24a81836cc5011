package vm

import (
	"fmt"
	"math"
	"runtime"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/model"
)

// VM is the backend that runs graphs with Gorgonia's TapeMachine: the reference CPU VM that
// every executor of lowered programs is checked against.
type VM struct{}

func init() { backend.Register(VM{}) }

// Name returns "vm".
func (VM) Name() string { return "vm" }

// Available is always nil: the CPU is always there.
func (VM) Available() error { return nil }

// Describe names the CPU threads Go will use.
func (VM) Describe() string {
	return fmt.Sprintf("Gorgonia TapeMachine, %s/%s, GOMAXPROCS=%d (of %d CPUs)", runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU())
}

// NewTrainer compiles net into a TapeMachine.
func (VM) NewTrainer(net *model.Net, s *model.Solver) (t backend.Trainer, err error) {
	if net.Grads == nil {
		return nil, fmt.Errorf("graph: NewTrainer: net built without gradients")
	}
	if err := net.Check(); err != nil {
		return nil, err
	}
	if err := s.Init(net.Model); err != nil {
		return nil, err
	}
	defer model.RecoverGorgonia(&err, "compile "+net.Model.Spec.Kind+" graph")
	// Compile only what a step reads: the loss, the output (with its Read) and the gradients.
	// Grad also differentiates nodes that no parameter's gradient needs (the cnn's first im2col
	// patches, its ReLU masks: a [B·784,25] product and four elementwise products per step);
	// the whole graph would compute those and throw them away.
	roots := append(G.Nodes{net.Loss, net.Out}, net.Grads...)
	vm := newTapeMachine(net.G.SubgraphRoots(roots...))
	return &trainer{net: net, vm: vm, solver: s, grads: make([]*tensor.Dense, len(net.Grads))}, nil
}

type trainer struct {
	net     *model.Net
	vm      G.VM
	solver  *model.Solver
	grads   []*tensor.Dense
	lossSum float64 // losses of the steps since MeanLoss was last called
	steps   int
}

func (c *trainer) Step(x, y *tensor.Dense) (err error) {
	defer model.RecoverGorgonia(&err, "training step")
	if err := Feed(c.net.X, x); err != nil {
		return err
	}
	if err := Feed(c.net.Y, y); err != nil {
		return err
	}
	if c.net.Step != nil { // dropout's masks are drawn at the updates so far
		if err := G.Let(c.net.Step, float64(c.solver.Steps)); err != nil {
			return err
		}
	}
	c.vm.Reset()
	if err := c.vm.RunAll(); err != nil {
		return fmt.Errorf("graph: training step: %w", err)
	}
	loss, err := c.Loss()
	if err != nil {
		return err
	}
	c.lossSum += loss
	c.steps++
	for i, gn := range c.net.Grads {
		d, ok := gn.Value().(*tensor.Dense)
		if !ok {
			return fmt.Errorf("graph: gradient of %s is %T, not a dense tensor", c.net.Model.Params[i].Name, gn.Value())
		}
		c.grads[i] = d
	}
	return c.solver.Update(c.net.Model.Params, c.grads)
}

func (c *trainer) Loss() (float64, error) { return Scalar(c.net.Loss.Value()) }

func (c *trainer) MeanLoss() (float64, error) {
	if c.steps == 0 {
		return 0, fmt.Errorf("graph: no loss yet: run a step first")
	}
	mean := c.lossSum / float64(c.steps)
	c.lossSum, c.steps = 0, 0
	return mean, nil
}

func (c *trainer) Output() (*tensor.Dense, error) {
	d, ok := c.net.OutValue().(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("graph: no output yet")
	}
	return d, nil
}

func (c *trainer) SetLR(lr float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("graph: learning rate %v: must be a positive number", lr)
	}
	c.solver.Rate = lr
	return nil
}

func (c *trainer) Sync() error { return nil }

func (c *trainer) Close() error { return c.vm.Close() }

// Feed sets an input node's value, checking its shape.
func Feed(n *G.Node, v *tensor.Dense) error {
	if v == nil {
		return nil
	}
	if !v.Shape().Eq(n.Shape()) {
		return fmt.Errorf("%w: input %s is %v, the graph wants %v", model.ErrShape, n.Name(), v.Shape(), n.Shape())
	}
	return G.Let(n, v)
}

// Scalar is the value of a scalar node (a float32 or float64, or a tensor of one).
func Scalar(v G.Value) (float64, error) {
	switch x := v.(type) {
	case nil:
		return 0, fmt.Errorf("graph: no value yet")
	case *G.F64:
		return float64(*x), nil
	case *G.F32:
		return float64(*x), nil
	case tensor.Tensor:
		switch d := x.Data().(type) {
		case float64:
			return d, nil
		case float32:
			return float64(d), nil
		case []float64:
			if len(d) == 1 {
				return d[0], nil
			}
		case []float32:
			if len(d) == 1 {
				return float64(d[0]), nil
			}
		}
	}
	return 0, fmt.Errorf("graph: %T is not a scalar", v)
}
