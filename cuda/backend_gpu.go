//go:build gpu

package cuda

import (
	"fmt"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/runner"
)

func init() { backend.Register(Backend{}) }

// Backend is the "cuda" backend: it lowers a training graph to a Program and runs it on
// GPU 0.
type Backend struct{}

// Name returns "cuda".
func (Backend) Name() string { return "cuda" }

// Available sets up the GPU (once per process) and says why it cannot be used, if it
// cannot: no driver, no device, no memory.
func (Backend) Available() error {
	_, err := openGPU()
	return err
}

// Describe names the GPU and the driver's CUDA version, or says why there is none.
func (Backend) Describe() string {
	g, err := openGPU()
	if err != nil {
		return err.Error()
	}
	graphs := "a step launched as one CUDA graph"
	switch {
	case g.noGraphs != nil:
		graphs = fmt.Sprintf("a step launched kernel by kernel (no CUDA graphs: %v)", g.noGraphs)
	case !graphsOn():
		graphs = "a step launched kernel by kernel (GRAPHTRAIN_CUDA_GRAPH=0)"
	}
	return fmt.Sprintf("%s, compute capability %s, %.1f GiB, driver CUDA %s; %s", g.dev.Name, g.dev.ComputeCapability, float64(g.dev.MemoryBytes)/(1<<30), g.driver, graphs)
}

// NewTrainer lowers net and the solver's update to a Program, allocates every buffer it
// plans, and uploads the parameters, the solver state and the constants (runner.NewTrainer
// on the GPU).
func (Backend) NewTrainer(net *model.Net, s *model.Solver) (backend.Trainer, error) {
	g, err := openGPU()
	if err != nil {
		return nil, err
	}
	p, err := Lower(net, s)
	if err != nil {
		return nil, err
	}
	if err := s.Init(net.Model); err != nil {
		return nil, err
	}
	t, err := runner.NewTrainer(&device{g: g}, p, net, s)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// NewPredictor lowers m's forward pass for the GPU, batch examples at a time
// (runner.LowerForward), allocates what it uses and uploads m's parameters as they are now.
func (Backend) NewPredictor(m *model.Model, batch int) (backend.Predictor, error) {
	g, err := openGPU()
	if err != nil {
		return nil, err
	}
	p, net, err := runner.LowerForward(m, batch, Lower)
	if err != nil {
		return nil, err
	}
	pr, err := runner.NewPredictor(&device{g: g}, p, net)
	if err != nil {
		return nil, err
	}
	return pr, nil
}
