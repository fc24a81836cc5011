package backend

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
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
	NewTrainer(net *model.Net, s *model.Solver) (Trainer, error)
	// PredictorMaker compiles a model's forward pass alone (NewPredictor).
	PredictorMaker
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
// each batch there, so that a step uploads nothing: the cpu and the cuda backends' trainers
// implement it (the vm's does not). Train uses it when the trainer and the batches both
// allow it.
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

// NewTrainer makes a trainer for net on b or, when b cannot make one and fallback is not nil
// (--device auto), on fallback, saying why through warn. It returns the backend the trainer
// runs on. A GPU that is there but cannot take this graph (its memory, a batch beyond its
// launch limits, an op without a kernel) then costs speed, not the run.
func NewTrainer(b, fallback Backend, net *model.Net, s *model.Solver, warn func(string)) (Trainer, Backend, error) {
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

// Forwarder is a Trainer that runs the forward pass with its current parameters on its own
// device: Train validates with it, so that a GPU run does not copy its model to the CPU and
// validate there at the CPU's speed. The cpu and the cuda backends' trainers implement it
// (the vm's does not).
type Forwarder interface {
	// Logits runs the forward pass over images [n*inputs], a batch at a time, and hands f
	// each batch's outputs [rows*outputs], in order (valid during the call).
	Logits(images []float32, f func(logits []float32)) error
}

// LaunchTimer is a Trainer that times each launch of its program: rounds steps on the last
// batch, a launch at a time with a wait after each; the program and each launch's timing.
type LaunchTimer interface {
	TimeLaunches(rounds int) (*ir.Program, []LaunchTiming, error)
}

// LaunchTiming is a launch's median time over the rounds of LaunchTimer.TimeLaunches, and what
// ran it where the device names it (a GPU's kernel; "" on the CPU).
type LaunchTiming struct {
	Took   time.Duration
	Kernel string
}

// StepLauncher is a Trainer that says how it launches a step: the GPU backend's runs as one
// CUDA graph, or kernel by kernel and why. Bench reports it.
type StepLauncher interface {
	Launching() string
}
