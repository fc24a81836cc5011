package cpu

import (
	"fmt"
	"runtime"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/internal/gemm"
	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/runner"
)

// Backend is the "cpu" backend: it lowers a training graph for the CPU target (products fused
// with their biases) and runs the program's launches as compiled Go kernels, the products on
// a packed SIMD GEMM, on a pool of GOMAXPROCS workers (GOMAXPROCS when the trainer or the
// predictor is made: parallel.Current).
type Backend struct{}

func init() { backend.Register(Backend{}) }

// Name returns "cpu".
func (Backend) Name() string { return "cpu" }

// Available is always nil: the CPU is always there.
func (Backend) Available() error { return nil }

// Describe names the GEMM kernel and the workers.
func (Backend) Describe() string {
	return fmt.Sprintf("graphtrain's compiled executor, %s/%s, %s products, %d workers (GOMAXPROCS=%d of %d CPUs)",
		runtime.GOOS, runtime.GOARCH, gemm.Kernel(), parallel.Current().Size(), runtime.GOMAXPROCS(0), runtime.NumCPU())
}

// NewTrainer lowers net and the solver's update to a Program for the CPU and compiles it
// (runner.NewTrainer over the CPU's memory).
func (Backend) NewTrainer(net *model.Net, s *model.Solver) (backend.Trainer, error) {
	if err := s.Init(net.Model); err != nil {
		return nil, err
	}
	p, err := lower.Lower(net, s, lower.CPU)
	if err != nil {
		return nil, err
	}
	t, err := newTrainer(p, net, s, parallel.Current())
	if err != nil {
		return nil, err
	}
	return t, nil
}

// newTrainer runs p, lowered from net with s, on a pool of workers.
func newTrainer(p *ir.Program, net *model.Net, s *model.Solver, pool *parallel.Pool) (*runner.Trainer, error) {
	return runner.NewTrainer(newDevice(pool), p, net, s)
}

// NewPredictor lowers m's forward pass for the CPU, batch examples at a time
// (runner.LowerForward), and compiles it with m's parameters as they are now.
func (Backend) NewPredictor(m *model.Model, batch int) (backend.Predictor, error) {
	p, net, err := runner.LowerForward(m, batch, func(net *model.Net, s *model.Solver) (*ir.Program, error) {
		return lower.Lower(net, s, lower.CPU)
	})
	if err != nil {
		return nil, err
	}
	pr, err := runner.NewPredictor(newDevice(parallel.Current()), p, net)
	if err != nil {
		return nil, err
	}
	return pr, nil
}
