package graph

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Backend runs built graphs. VM, Gorgonia's TapeMachine, is always registered; package cpu
// registers "cpu" (the compiled CPU executor) and package cuda "cuda" (in builds with the gpu
// tag) when a program imports them.
type Backend interface {
	// Name is the name --device selects it by: "vm", "cpu" or "cuda".
	Name() string
	// Available is nil when the backend can run now, or the reason it cannot.
	Available() error
	// Describe is one line about the hardware it runs on.
	Describe() string
	// NewTrainer compiles net (built with gradients) for training with s.
	NewTrainer(net *Net, s *Solver) (Trainer, error)
}

// Trainer runs one compiled training graph.
type Trainer interface {
	// Step feeds x [batch, inputs] and y [batch, outputs], runs the forward and the backward
	// pass, and updates the parameters with the solver. A nil x or y feeds the last step's
	// again (nothing to upload).
	Step(x, y *tensor.Dense) error
	// Loss is the loss of the last step, computed before its update. On a GPU it waits for
	// the step: call it only when the value is needed.
	Loss() (float64, error)
	// MeanLoss is the mean loss of the steps since the last call (or the start), and starts
	// a new sum. On a GPU the sum is kept on the device and read back once per call.
	MeanLoss() (float64, error)
	// Output is the net's output of the last step [batch, outputs], before its update.
	Output() (*tensor.Dense, error)
	// SetLR sets the learning rate of the steps that follow (a schedule's), leaving the
	// solver's base rate LR as it is.
	SetLR(lr float64) error
	// Sync makes the Model's parameter tensors and the solver state current (a GPU copies
	// them back to the host).
	Sync() error
	// Close frees what the trainer holds.
	Close() error
}

// DatasetTrainer is a Trainer that keeps the whole training set on its device and gathers
// each batch there, so that a step uploads nothing: the GPU backend implements it. Train uses
// it when the trainer and the batches both allow it.
type DatasetTrainer interface {
	Trainer
	// SetDataset uploads the training inputs [n*inputs] and one-hot targets [n*outputs], once.
	// A trainer on the CPU may read them in place: they must not change while it trains.
	SetDataset(x, y []float32, n int) error
	// SetOrder uploads the order of the examples for the next pass (once per epoch) and
	// rewinds to its start.
	SetOrder(order []int) error
	// StepNext runs a step on the next batch of the order: examples order[k·B : (k+1)·B] for
	// the k-th call since SetOrder.
	StepNext() error
}

// Dataset is what Batches also are when their whole set can be handed to a device: the
// examples, one-hot targets, and the order of the current pass (after Reset).
type Dataset interface {
	Examples() (x, y []float32, n int)
	Order() []int
}

var (
	backendsMu sync.Mutex
	backends   = map[string]Backend{}
)

// Register makes a backend selectable by its name. Backends call it from init.
func Register(b Backend) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	backends[b.Name()] = b
}

// Backends lists the registered (compiled-in) backends: vm, cpu, cuda, then any other.
func Backends() []Backend {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	var out []Backend
	for _, b := range backends {
		out = append(out, b)
	}
	rank := map[string]int{"vm": 0, "cpu": 1, "cuda": 2}
	sort.Slice(out, func(i, j int) bool {
		ri, iok := rank[out[i].Name()]
		rj, jok := rank[out[j].Name()]
		if iok != jok {
			return iok
		}
		if ri != rj {
			return ri < rj
		}
		return out[i].Name() < out[j].Name()
	})
	return out
}

// Lookup is the registered backend of that name, or nil.
func Lookup(name string) Backend {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	return backends[name]
}

// newTrainer makes a trainer for net on b or, when b cannot make one and fallback is not nil
// (--device auto), on fallback, saying why through warn. It returns the backend the trainer
// runs on. A GPU that is there but cannot take this graph (its memory, a batch beyond its
// launch limits, an op without a kernel) then costs speed, not the run.
func newTrainer(b, fallback Backend, net *Net, s *Solver, warn func(string)) (Trainer, Backend, error) {
	tr, err := b.NewTrainer(net, s)
	if err == nil || fallback == nil || fallback.Name() == b.Name() {
		return tr, b, err
	}
	if warn != nil {
		warn(fmt.Sprintf("%s cannot train this %s net (%v): training on %s instead", b.Name(), net.Model.Spec.Kind, err, fallback.Name()))
	}
	tr, err = fallback.NewTrainer(net, s)
	return tr, fallback, err
}

// VM is the backend that runs graphs with Gorgonia's TapeMachine: the reference CPU VM that
// every executor of lowered programs is checked against.
type VM struct{}

func init() { Register(VM{}) }

// Name returns "vm".
func (VM) Name() string { return "vm" }

// Available is always nil: the CPU is always there.
func (VM) Available() error { return nil }

// Describe names the CPU threads Go will use.
func (VM) Describe() string {
	return fmt.Sprintf("Gorgonia TapeMachine, %s/%s, GOMAXPROCS=%d (of %d CPUs)", runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU())
}

// NewTrainer compiles net into a TapeMachine.
func (VM) NewTrainer(net *Net, s *Solver) (t Trainer, err error) {
	if net.Grads == nil {
		return nil, fmt.Errorf("graph: NewTrainer: net built without gradients")
	}
	if err := net.check(); err != nil {
		return nil, err
	}
	if err := s.Init(net.Model); err != nil {
		return nil, err
	}
	defer recoverGorgonia(&err, "compile "+net.Model.Spec.Kind+" graph")
	// Compile only what a step reads: the loss, the output (with its Read) and the gradients.
	// Grad also differentiates nodes that no parameter's gradient needs (the cnn's first im2col
	// patches, its ReLU masks: a [B·784,25] product and four elementwise products per step);
	// the whole graph would compute those and throw them away.
	roots := append(G.Nodes{net.Loss, net.Out}, net.Grads...)
	vm := newTapeMachine(net.G.SubgraphRoots(roots...))
	return &cpuTrainer{net: net, vm: vm, solver: s, grads: make([]*tensor.Dense, len(net.Grads))}, nil
}

type cpuTrainer struct {
	net     *Net
	vm      G.VM
	solver  *Solver
	grads   []*tensor.Dense
	lossSum float64 // losses of the steps since MeanLoss was last called
	steps   int
}

func (c *cpuTrainer) Step(x, y *tensor.Dense) (err error) {
	defer recoverGorgonia(&err, "training step")
	if err := feed(c.net.X, x); err != nil {
		return err
	}
	if err := feed(c.net.Y, y); err != nil {
		return err
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

func (c *cpuTrainer) Loss() (float64, error) { return scalar(c.net.Loss.Value()) }

func (c *cpuTrainer) MeanLoss() (float64, error) {
	if c.steps == 0 {
		return 0, fmt.Errorf("graph: no loss yet: run a step first")
	}
	mean := c.lossSum / float64(c.steps)
	c.lossSum, c.steps = 0, 0
	return mean, nil
}

func (c *cpuTrainer) Output() (*tensor.Dense, error) {
	d, ok := c.net.outVal.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("graph: no output yet")
	}
	return d, nil
}

func (c *cpuTrainer) SetLR(lr float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("graph: learning rate %v: must be a positive number", lr)
	}
	c.solver.Rate = lr
	return nil
}

func (c *cpuTrainer) Sync() error  { return nil }
func (c *cpuTrainer) Close() error { return c.vm.Close() }

// feed sets an input node's value, checking its shape.
func feed(n *G.Node, v *tensor.Dense) error {
	if v == nil {
		return nil
	}
	if !v.Shape().Eq(n.Shape()) {
		return fmt.Errorf("%w: input %s is %v, the graph wants %v", ErrShape, n.Name(), v.Shape(), n.Shape())
	}
	return G.Let(n, v)
}

func scalar(v G.Value) (float64, error) {
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
