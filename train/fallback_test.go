package train

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// brokenGPU is a backend that is there but cannot take a graph, as a GPU without the memory
// for it, or at a batch beyond its launch limits.
type brokenGPU struct{ vm.VM }

func (brokenGPU) Name() string { return "cuda" }

func (brokenGPU) NewTrainer(*model.Net, *model.Solver) (backend.Trainer, error) {
	return nil, errors.New("out of memory")
}

// TestTrainFallsBack: when the chosen backend cannot make a trainer, Train and TrainXOR go on
// with the fallback (the CPU under --device auto), say why, and record the backend that ran;
// without a fallback the error stands.
func TestTrainFallsBack(t *testing.T) {
	m, _ := model.NewMLP(8, 1)
	x, y := model.RandomBatch(m, 16, 3)
	var warned []string
	cfg := TrainConfig{
		Epochs: 1, Batch: 8, Backend: brokenGPU{}, Fallback: vm.VM{}, Out: filepath.Join(t.TempDir(), "out"),
		Train: &sliceBatches{x: x.Data().([]float32), y: y.Data().([]float32), n: 16, b: 8},
		Warn:  func(msg string) { warned = append(warned, msg) },
	}
	cfg.Solver, _ = model.NewSolver("adam", 1e-3)
	res, err := Train(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Device != "vm" || len(warned) != 1 || !strings.Contains(warned[0], "out of memory") || !strings.Contains(warned[0], "training on vm") {
		t.Errorf("device %q, warnings %q", res.Device, warned)
	}
	_, _, ck, err := checkpoint.LoadCheckpoint(cfg.Out)
	if err != nil || ck.Backend != "vm" {
		t.Errorf("checkpoint backend %q, %v", ck.Backend, err)
	}
	cfg.Fallback = nil
	cfg.Out = filepath.Join(t.TempDir(), "out2")
	if _, err := Train(m, cfg); err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("no fallback: %v", err)
	}

	xm, _ := model.NewXOR(4, false, 42)
	warned = nil
	r, err := TrainXOR(xm, XORConfig{Epochs: 10, LR: 0.1, Backend: brokenGPU{}, Fallback: vm.VM{}, Warn: func(msg string) { warned = append(warned, msg) }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Device != "vm" || len(warned) != 1 {
		t.Errorf("xor: device %q, warnings %q", r.Device, warned)
	}
}
