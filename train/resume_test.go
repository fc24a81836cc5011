package train

import (
	"path/filepath"
	"testing"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// TestResumeKeepsTheBest: a run resumed after its best epoch saves a worse epoch to OUT/last
// only; OUT keeps the best model, and both record the best validation accuracy so far.
func TestResumeKeepsTheBest(t *testing.T) {
	const n, batch = 40, 8
	m, _ := model.NewMLP(16, 1)
	xs, ys, labels := labelledBatch(m, n)
	out := filepath.Join(t.TempDir(), "out")
	cfg := TrainConfig{Epochs: 2, Batch: batch, Backend: vm.VM{}, Out: out,
		Train: &sliceBatches{x: xs, y: ys, n: n, b: batch},
		Val:   Labelled{Images: xs, Labels: labels}}
	cfg.Solver, _ = model.NewSolver("adam", 1e-2)
	first, err := Train(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	best := first.BestVal
	if best <= 1.0/n {
		t.Fatalf("the first run reached %v validation accuracy: too little to test with", best)
	}
	r, err := Resume(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Start != 2 || r.BestVal != best || r.Dir != checkpoint.LastDir(out) {
		t.Fatalf("resume from %s: epoch %d, best %v; want epoch 2 from %s, best %v", r.Dir, r.Start, r.BestVal, checkpoint.LastDir(out), best)
	}
	// Make the resumed epochs worse than the best: every weight 0 and a bias that picks the
	// class of exactly one example, which a tiny rate keeps.
	c := labels[0]
	for _, p := range r.Model.Params {
		w := p.T.Data().([]float32)
		clear(w)
		if p.Name == "bias1" {
			w[c] = 1
		}
	}
	for i := 1; i < n; i++ {
		if labels[i] == c {
			labels[i] = (c + 1) % model.Classes
		}
	}
	cfg.Val.Labels = labels
	cfg.Epochs, cfg.StartEpoch, cfg.BestVal = 3, r.Start, r.BestVal
	cfg.Solver, _ = model.NewSolver("sgd", 1e-30)
	res, err := Train(r.Model, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.BestEpoch == 3 {
		t.Errorf("epoch 3 (validation accuracy below %v) was saved to OUT as the best", best)
	}
	_, _, inOut, err := checkpoint.LoadCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	_, _, inLast, err := checkpoint.LoadCheckpoint(checkpoint.LastDir(out))
	if err != nil {
		t.Fatal(err)
	}
	if inOut.Epoch == 3 || inLast.Epoch != 3 {
		t.Errorf("OUT holds epoch %d and OUT/last epoch %d; want the best (1 or 2) and 3", inOut.Epoch, inLast.Epoch)
	}
	if v := inLast.Metrics[BestValKey]; v != best {
		t.Errorf("OUT/last records %s %v, want %v", BestValKey, v, best)
	}
}

// TestTargetAccuracyStops: training stops at the end of the first epoch whose validation
// accuracy reaches the target, and says when; an unreachable target trains every epoch.
func TestTargetAccuracyStops(t *testing.T) {
	const n, batch = 40, 8
	for _, c := range []struct {
		target    float64
		wantEpoch bool
	}{{0.2, true}, {1.01, false}} {
		m, _ := model.NewMLP(16, 1)
		xs, ys, labels := labelledBatch(m, n)
		cfg := TrainConfig{Epochs: 6, Batch: batch, Backend: vm.VM{}, Out: filepath.Join(t.TempDir(), "out"),
			Train: &sliceBatches{x: xs, y: ys, n: n, b: batch}, Val: Labelled{Images: xs, Labels: labels}, TargetAccuracy: c.target}
		cfg.Solver, _ = model.NewSolver("adam", 1e-2)
		var accs []float64
		cfg.OnEpoch = func(st EpochStats) { accs = append(accs, st.ValAccuracy) }
		res, err := Train(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !c.wantEpoch {
			if res.TargetEpoch != 0 || res.Epochs != 6 {
				t.Errorf("target %v: stopped at %d (target epoch %d)", c.target, res.Epochs, res.TargetEpoch)
			}
			continue
		}
		first := 0
		for i, a := range accs {
			if a >= c.target && first == 0 {
				first = i + 1
			}
		}
		if first == 0 || res.TargetEpoch != first || res.Epochs != first || res.SecondsToTarget <= 0 {
			t.Errorf("target %v: accuracies %v; stopped at %d, target epoch %d, %v s", c.target, accs, res.Epochs, res.TargetEpoch, res.SecondsToTarget)
		}
	}
}

// labelledBatch is n random examples for m, their one-hot targets and their labels.
func labelledBatch(m *model.Model, n int) (xs, ys []float32, labels []uint8) {
	x, y := model.RandomBatch(m, n, 3)
	xs, ys = x.Data().([]float32), y.Data().([]float32)
	labels = make([]uint8, n)
	for i := range labels {
		for k := 0; k < model.Classes; k++ {
			if ys[i*model.Classes+k] == 1 {
				labels[i] = uint8(k)
			}
		}
	}
	return xs, ys, labels
}
