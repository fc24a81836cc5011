package train

import (
	"fmt"
	"math"
	"time"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// XORConfig says how to train the XOR net.
type XORConfig struct {
	Epochs   int
	LR       float64
	LogEvery int                           // call Log every LogEvery epochs (0: never)
	Log      func(epoch int, loss float64) // progress, may be nil
	Stop     func() bool                   // polled every epoch; true ends training early
	Backend  backend.Backend               // nil: the vm backend (Gorgonia's TapeMachine)
	Fallback backend.Backend               // when Backend cannot make a trainer (nil: an error)
	Warn     func(msg string)              // says why the fallback runs, may be nil
}

// XORResult is the outcome of TrainXOR.
type XORResult struct {
	Epochs      int       // epochs run
	Loss        float64   // loss of the last epoch, before its update
	Predictions []float64 // ŷ for 00 01 10 11 from the last epoch's forward pass, before its update
	Seconds     float64
	Device      string
}

// TrainXOR trains m on the four XOR examples with full-batch gradient descent. As in the
// original, the reported predictions come from the last epoch's forward pass, computed just
// before that epoch's update; m holds the weights after it.
func TrainXOR(m *model.Model, cfg XORConfig) (*XORResult, error) {
	if m.Spec.Kind != "xor" {
		return nil, fmt.Errorf("graph: TrainXOR: model is %q, not xor", m.Spec.Kind)
	}
	if cfg.Epochs < 1 {
		return nil, fmt.Errorf("graph: epochs %d: must be at least 1", cfg.Epochs)
	}
	b := cfg.Backend
	if b == nil {
		b = vm.VM{}
	}
	solver, err := model.NewSolver("sgd", cfg.LR)
	if err != nil {
		return nil, err
	}
	net, err := m.Build(4, true)
	if err != nil {
		return nil, err
	}
	tr, b, err := backend.NewTrainer(b, cfg.Fallback, net, solver, cfg.Warn)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	x, y := model.XORBatch()
	res := &XORResult{Device: b.Name()}
	start := time.Now()
	var loss float64
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		if err := tr.Step(x, y); err != nil {
			return nil, err
		}
		x, y = nil, nil // the same four examples every epoch: a GPU uploads them once
		res.Epochs = epoch
		if cfg.Log != nil && cfg.LogEvery > 0 && (epoch%cfg.LogEvery == 0 || epoch == 1) {
			if loss, err = tr.Loss(); err != nil {
				return nil, err
			}
			cfg.Log(epoch, loss)
		}
		if cfg.Stop != nil && cfg.Stop() {
			break
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if res.Loss, err = tr.Loss(); err != nil {
		return nil, err
	}
	if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		return nil, fmt.Errorf("graph: XOR loss became %v; lower the learning rate", res.Loss)
	}
	out, err := tr.Output()
	if err != nil {
		return nil, err
	}
	res.Predictions = append([]float64(nil), out.Data().([]float64)...)
	return res, tr.Sync()
}
