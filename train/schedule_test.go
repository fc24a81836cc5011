package train

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// TestScheduleRates: each schedule's rate at a few steps, worked by hand: cosine per epoch,
// a warmup of 4 steps rising by a quarter a step, one-cycle over 10 steps (PyTorch's
// OneCycleLR with its defaults gives the same: 0.04, 0.52, 1 at its peak step 2, 4e-6 at the
// last).
func TestScheduleRates(t *testing.T) {
	for _, c := range []struct {
		s                  Schedule
		epoch, step, steps int
		want               float64
	}{
		{Schedule{Kind: "constant", Base: 0.1, Epochs: 3}, 2, 5, 10, 0.1},
		{Schedule{Kind: "cosine", Base: 0.1, Epochs: 4}, 1, 7, 10, 0.1},
		{Schedule{Kind: "cosine", Base: 0.1, Epochs: 4}, 3, 1, 10, 0.05},
		{Schedule{Kind: "constant", Base: 0.1, Epochs: 3, Warmup: 4}, 1, 1, 2, 0.025},
		{Schedule{Kind: "constant", Base: 0.1, Epochs: 3, Warmup: 4}, 2, 1, 2, 0.075},
		{Schedule{Kind: "constant", Base: 0.1, Epochs: 3, Warmup: 4}, 2, 2, 2, 0.1},
		{Schedule{Kind: "constant", Base: 0.1, Epochs: 3, Warmup: 4}, 3, 1, 2, 0.1},
		{Schedule{Kind: "cosine", Base: 0.1, Epochs: 2, Warmup: 4}, 2, 2, 2, 0.05},
		{Schedule{Kind: "onecycle", Base: 1, Epochs: 2}, 1, 1, 5, 0.04},
		{Schedule{Kind: "onecycle", Base: 1, Epochs: 2}, 1, 2, 5, 0.52},
		{Schedule{Kind: "onecycle", Base: 1, Epochs: 2}, 1, 3, 5, 1},
		{Schedule{Kind: "onecycle", Base: 1, Epochs: 2}, 2, 5, 5, 4e-6},
	} {
		if got := c.s.Rate(c.epoch, c.step, c.steps); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%+v: epoch %d step %d of %d: rate %v, want %v", c.s, c.epoch, c.step, c.steps, got, c.want)
		}
	}
	// One-cycle's rate is always above 0, rises to the peak and falls after it.
	s := Schedule{Kind: "onecycle", Base: 1e-3, Epochs: 3}
	var rates []float64
	for e := 1; e <= 3; e++ {
		for k := 1; k <= 7; k++ {
			rates = append(rates, s.Rate(e, k, 7))
		}
	}
	peak := slices.Index(rates, slices.Max(rates))
	for i, r := range rates {
		if !(r > 0) || (i > 0 && i <= peak && r < rates[i-1]) || (i > peak && r > rates[i-1]) {
			t.Fatalf("one-cycle rates %v: not rising to the peak and falling after it", rates)
		}
	}
	for _, bad := range []Schedule{{Kind: "linear", Base: 1, Epochs: 1}, {Kind: "cosine", Base: 0, Epochs: 1}, {Kind: "cosine", Base: 1, Epochs: 0}, {Base: 1, Epochs: 1, Warmup: -1}} {
		if bad.Check() == nil {
			t.Errorf("%+v passes Check", bad)
		}
	}
}

// rateSpy is the vm backend, its trainers recording every rate set.
type rateSpy struct {
	vm.VM
	rates *[]float64
}

func (r rateSpy) NewTrainer(net *model.Net, s *model.Solver) (backend.Trainer, error) {
	tr, err := r.VM.NewTrainer(net, s)
	return &spyTrainer{tr, r.rates}, err
}

type spyTrainer struct {
	backend.Trainer
	rates *[]float64
}

func (t *spyTrainer) SetLR(lr float64) error {
	*t.rates = append(*t.rates, lr)
	return t.Trainer.SetLR(lr)
}

// TestScheduleResumesExactly: a run with warmup and one-cycle, AdamW and label-smoothed
// targets stopped after its first epoch and resumed from its checkpoint sets the same rates
// at the same steps and ends with the same parameters, bit for bit, as one that ran
// straight through.
func TestScheduleResumesExactly(t *testing.T) {
	const n, batch, epochs = 40, 8, 3
	sched := &Schedule{Kind: "onecycle", Base: 1e-2, Epochs: epochs, Warmup: 3}
	run := func(m *model.Model, s *model.Solver, start, upto int, out string) []float64 {
		xs, ys, labels := labelledBatch(m, n)
		for i := range ys { // label smoothing's targets, ε 0.1
			ys[i] = ys[i]*0.9 + 0.01
		}
		var rates []float64
		cfg := TrainConfig{Epochs: upto, StartEpoch: start, Batch: batch, Backend: rateSpy{rates: &rates}, Out: out,
			Train: &sliceBatches{x: xs, y: ys, n: n, b: batch}, Val: Labelled{Images: xs, Labels: labels}, Solver: s, Schedule: sched}
		if _, err := Train(m, cfg); err != nil {
			t.Fatal(err)
		}
		return rates
	}
	straight, _ := model.NewMLP(16, 1)
	s, _ := model.NewSolver("adamw", 1e-2)
	all := run(straight, s, 0, epochs, filepath.Join(t.TempDir(), "a"))
	if len(all) != epochs*n/batch {
		t.Fatalf("%d rates set in %d steps: want one a step", len(all), epochs*n/batch)
	}
	m, _ := model.NewMLP(16, 1)
	s, _ = model.NewSolver("adamw", 1e-2)
	out := filepath.Join(t.TempDir(), "b")
	first := run(m, s, 0, 1, out)
	r, err := Resume(out)
	if err != nil {
		t.Fatal(err)
	}
	rest := run(r.Model, r.Solver, r.Start, epochs, out)
	if got := append(first, rest...); !slices.Equal(got, all) {
		t.Errorf("rates stopped and resumed %v, straight through %v", got, all)
	}
	for i, p := range straight.Params {
		a, b := p.T.Float32s(), r.Model.Params[i].T.Float32s()
		if !slices.Equal(a, b) {
			t.Errorf("%s differs after the resume", p.Name)
		}
	}
}
