//go:build gpu

package cuda

import (
	"fmt"

	"graphtrain/backend"
	"graphtrain/model"
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
// plans, and uploads the parameters, the solver state and the constants.
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
	t := &trainer{g: g, p: p, net: net, s: s}
	if err := g.th.do(t.setup); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// The cuda trainer keeps the training set on the device when Train lets it, and says how it
// launches a step.
var (
	_ backend.DatasetTrainer = (*trainer)(nil)
	_ backend.StepLauncher   = (*trainer)(nil)
	_ backend.Forwarder      = (*trainer)(nil)
)
