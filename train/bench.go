package train

import (
	"fmt"
	"runtime"
	"sort"
	"time"

	"gorgonia.org/tensor"

	"graphtrain/backend"
	"graphtrain/model"
)

// BenchResult holds the figures of one model on one backend.
type BenchResult struct {
	Model         string  `json:"model"`
	Device        string  `json:"device"`
	Batch         int     `json:"batch"`
	Steps         int     `json:"steps"`
	SamplesPerSec float64 `json:"samples_per_second"`
	StepP50ms     float64 `json:"step_p50_ms"`
	StepP95ms     float64 `json:"step_p95_ms"`
	AllocsPerStep float64 `json:"allocs_per_step"`
	BytesPerStep  float64 `json:"bytes_per_step"`
	Resident      bool    `json:"resident"`         // the batches were gathered on the device, as training does
	Launch        string  `json:"launch,omitempty"` // how a GPU ran the step (StepLauncher)
}

// Bench times steps training steps (forward, backward, update) of m on backend b, after a
// few untimed warm-up steps. x and y are the batches to feed, cycled through; nil x means
// random inputs with random one-hot targets. Samples per second and allocations come from
// the steps run back to back (a device waited for once, at the end); the latency p50 and p95
// from up to 200 more steps, each waited for.
func Bench(m *model.Model, b backend.Backend, s *model.Solver, batch, steps int, x, y []*tensor.Dense) (*BenchResult, error) {
	if steps < 1 || batch < 1 {
		return nil, fmt.Errorf("graph: bench needs at least 1 step and a batch of at least 1")
	}
	net, err := m.Build(batch, true)
	if err != nil {
		return nil, err
	}
	tr, err := b.NewTrainer(net, s)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	if len(x) == 0 {
		x, y = randomBatches(m, batch, 4)
	}
	step := func(i int) error { return tr.Step(x[i%len(x)], y[i%len(y)]) }
	rewind := func() error { return nil } // before each phase
	// A trainer that can hold the training set on its device is timed the way Train uses it:
	// the batches tiled into one set of steps·batch examples, uploaded once; each step then
	// gathers its batch on the device and uploads nothing.
	dtr, resident := tr.(backend.DatasetTrainer)
	if resident = resident && m.Spec.Dtype == "float32"; resident {
		n := max(steps, 3) * batch
		in, out := m.Spec.Inputs, m.Spec.Outputs
		xs, ys := make([]float32, 0, n*in), make([]float32, 0, n*out)
		for k := 0; len(xs) < n*in; k++ {
			xs = append(xs, x[k%len(x)].Data().([]float32)...)
			ys = append(ys, y[k%len(y)].Data().([]float32)...)
		}
		if err := dtr.SetDataset(xs, ys, n); err != nil {
			return nil, err
		}
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		step = func(int) error { return dtr.StepNext() }
		rewind = func() error { return dtr.SetOrder(order) }
	}
	wait := func() error { _, err := tr.Loss(); return err } // waits for the device
	if err := rewind(); err != nil {
		return nil, err
	}
	for i := 0; i < 3; i++ {
		if err := step(i); err != nil {
			return nil, err
		}
	}
	if err := wait(); err != nil {
		return nil, err
	}
	// Throughput: steps back to back, as training runs them, waiting once at the end.
	if err := rewind(); err != nil {
		return nil, err
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	for i := 0; i < steps; i++ {
		if err := step(i); err != nil {
			return nil, err
		}
	}
	if err := wait(); err != nil {
		return nil, err
	}
	total := time.Since(start).Seconds()
	runtime.ReadMemStats(&ms1)
	launch := ""
	if sl, ok := tr.(backend.StepLauncher); ok {
		launch = sl.Launching()
	}
	// Latency: each step waited for, so p50 and p95 are what a caller of one step waits.
	if err := rewind(); err != nil {
		return nil, err
	}
	lat := make([]float64, min(steps, 200))
	for i := range lat {
		t0 := time.Now()
		if err := step(i); err != nil {
			return nil, err
		}
		if err := wait(); err != nil {
			return nil, err
		}
		lat[i] = time.Since(t0).Seconds() * 1e3
	}
	sort.Float64s(lat)
	n := len(lat)
	return &BenchResult{
		Model: m.Spec.Kind, Device: b.Name(), Batch: batch, Steps: steps,
		SamplesPerSec: float64(batch*steps) / total,
		StepP50ms:     lat[n/2],
		StepP95ms:     lat[min(n-1, n*95/100)],
		AllocsPerStep: float64(ms1.Mallocs-ms0.Mallocs) / float64(steps),
		BytesPerStep:  float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(steps),
		Resident:      resident,
		Launch:        launch,
	}, nil
}

// randomBatches makes n batches from RandomBatch, seeded 1 to n.
func randomBatches(m *model.Model, batch, n int) (xs, ys []*tensor.Dense) {
	for k := 1; k <= n; k++ {
		x, y := model.RandomBatch(m, batch, int64(k))
		xs, ys = append(xs, x), append(ys, y)
	}
	return xs, ys
}
