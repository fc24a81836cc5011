package train

import (
	"fmt"
	"runtime"
	"sort"
	"time"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/model"
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
	Rounds        int     `json:"rounds,omitempty"` // timed side by side with other thread counts, in this many rounds (BenchThreads)
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
	rs, err := benchSides(func() (*model.Model, *model.Solver, error) { return m, s, nil }, b, batch, steps, 1, []int{0}, x, y)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// BenchThreads is Bench at several numbers of threads side by side, so that their ratios
// hold on a machine whose load changes from one minute to the next: a trainer of a model
// from build for each GOMAXPROCS of threads (made while it is set: a CPU trainer keeps the
// workers it was made with), then the steps in rounds, each round running its share of
// every trainer's steps in turn with GOMAXPROCS set to its threads, and the latencies the
// same way. A result per entry of threads, in order; GOMAXPROCS is restored. On the 2-core
// EPYC the speed of the same binary moved by 1.4x between runs a minute apart (2026-12-05),
// more than the ratio a second core gives, when each thread count ran all its steps in turn.
func BenchThreads(build func() (*model.Model, *model.Solver, error), b backend.Backend, batch, steps, rounds int, threads []int, x, y []*tensor.Dense) ([]*BenchResult, error) {
	if steps < 1 || batch < 1 || rounds < 1 || len(threads) == 0 {
		return nil, fmt.Errorf("graph: bench needs at least 1 step, a batch of at least 1, 1 round and 1 number of threads")
	}
	for _, t := range threads {
		if t < 1 {
			return nil, fmt.Errorf("graph: bench at %d threads: at least 1", t)
		}
	}
	return benchSides(build, b, batch, steps, min(rounds, steps), threads, x, y)
}

// A benchSide is one trainer of a side-by-side bench, at its GOMAXPROCS (0: as it is), and
// what its rounds measured.
type benchSide struct {
	threads       int
	tr            backend.Trainer
	bs            *benchSteps
	secs          float64
	allocs, bytes float64 // totals over the rounds
	lat           []float64
}

// at runs f with GOMAXPROCS set to the side's threads, and sets it back after.
func (sd *benchSide) at(f func() error) error {
	if sd.threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(sd.threads))
	}
	return f()
}

// benchSides makes a trainer for each of threads, warms each up, and times steps steps and
// min(steps, 200) latencies of each in rounds (Bench: one side, one round).
func benchSides(build func() (*model.Model, *model.Solver, error), b backend.Backend, batch, steps, rounds int, threads []int, x, y []*tensor.Dense) ([]*BenchResult, error) {
	sides := make([]*benchSide, len(threads))
	defer func() {
		for _, sd := range sides {
			if sd != nil {
				sd.tr.Close()
			}
		}
	}()
	var set *benchSet // the resident set, tiled once for every side that holds one
	for i, t := range threads {
		sd := &benchSide{threads: t}
		err := sd.at(func() error {
			m, s, err := build()
			if err != nil {
				return err
			}
			var bx, by []*tensor.Dense
			if sd.tr, bx, by, err = benchTrainer(m, b, s, batch, x, y); err != nil {
				return err
			}
			sides[i] = sd
			if set == nil {
				set = setFor(sd.tr, m, batch, steps, bx, by)
			}
			if sd.bs, err = newBenchSteps(sd.tr, m, set, bx, by); err != nil {
				return err
			}
			return sd.bs.warmUp()
		})
		if err != nil {
			return nil, err
		}
	}
	nlat := min(steps, 200)
	for r := 0; r < rounds; r++ {
		for _, sd := range sides {
			err := sd.at(func() error {
				k := share(steps, rounds, r)
				secs, allocs, bytes, err := sd.bs.throughput(k)
				sd.secs, sd.allocs, sd.bytes = sd.secs+secs, sd.allocs+allocs*float64(k), sd.bytes+bytes*float64(k)
				return err
			})
			if err != nil {
				return nil, err
			}
		}
	}
	for r := 0; r < rounds; r++ {
		for _, sd := range sides {
			err := sd.at(func() error {
				lat, err := sd.bs.latencies(share(nlat, rounds, r))
				sd.lat = append(sd.lat, lat...)
				return err
			})
			if err != nil {
				return nil, err
			}
		}
	}
	out := make([]*BenchResult, len(sides))
	for i, sd := range sides {
		sort.Float64s(sd.lat)
		n := len(sd.lat)
		launch := ""
		if sl, ok := sd.tr.(backend.StepLauncher); ok {
			launch = sl.Launching()
		}
		out[i] = &BenchResult{
			Model: sd.bs.kind, Device: b.Name(), Batch: batch, Steps: steps,
			SamplesPerSec: float64(batch*steps) / sd.secs,
			StepP50ms:     sd.lat[n/2],
			StepP95ms:     sd.lat[min(n-1, n*95/100)],
			AllocsPerStep: sd.allocs / float64(steps),
			BytesPerStep:  sd.bytes / float64(steps),
			Resident:      sd.bs.resident(),
			Launch:        launch,
		}
		if rounds > 1 {
			out[i].Rounds = rounds
		}
	}
	return out, nil
}

// share is round r's part of n steps over rounds: n/rounds, the first n%rounds rounds one more.
func share(n, rounds, r int) int {
	k := n / rounds
	if r < n%rounds {
		k++
	}
	return k
}

// benchTrainer is a trainer of m at batch on b, and the batches to feed it: x and y, or
// random ones when x is empty. The caller closes it.
func benchTrainer(m *model.Model, b backend.Backend, s *model.Solver, batch int, x, y []*tensor.Dense) (backend.Trainer, []*tensor.Dense, []*tensor.Dense, error) {
	net, err := m.Build(batch, true)
	if err != nil {
		return nil, nil, nil, err
	}
	tr, err := b.NewTrainer(net, s)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(x) == 0 {
		x, y = randomBatches(m, batch, 4)
	}
	return tr, x, y, nil
}

// BenchSetBatches bounds the set a trainer that holds its training set is given by Bench:
// at most this many batches, passed over again as often as the steps need, so that the
// memory of a bench does not grow with its steps.
const BenchSetBatches = 128

// benchSteps runs Bench's steps on one trainer: the batches x and y fed in turn or, on a
// trainer that holds the training set (dtr not nil), the set's batches gathered on its device
// in order, the order started again when the set is done.
type benchSteps struct {
	kind    string // the model's
	tr      backend.Trainer
	x, y    []*tensor.Dense
	dtr     backend.DatasetTrainer // nil: the batches are fed
	order   []int                  // the order of the set held by dtr
	batches int                    // the batches in the set held by dtr
	taken   int                    // of those, the ones stepped on since the order started
}

// A benchSet is the training set a trainer that can hold one is given by Bench: the batches
// tiled into min(max(steps, 3), BenchSetBatches)·batch examples.
type benchSet struct {
	x, y     []float32
	n, batch int
}

// setFor is the set of a bench of steps steps of m at batch on tr, the batches x and y tiled;
// nil where tr holds no set or the model is not float32 (its batches are fed).
func setFor(tr backend.Trainer, m *model.Model, batch, steps int, x, y []*tensor.Dense) *benchSet {
	if _, ok := tr.(backend.DatasetTrainer); !ok || m.Spec.Dtype != "float32" {
		return nil
	}
	n := min(max(steps, 3), BenchSetBatches) * batch
	in, out := m.Spec.Inputs, m.Spec.Outputs
	xs, ys := make([]float32, 0, n*in), make([]float32, 0, n*out)
	for k := 0; len(xs) < n*in; k++ {
		xs = append(xs, x[k%len(x)].Data().([]float32)...)
		ys = append(ys, y[k%len(y)].Data().([]float32)...)
	}
	return &benchSet{xs, ys, n, batch}
}

// newBenchSteps prepares the steps of Bench. A float32 model on a trainer that can hold the
// training set on its device is timed the way Train uses it: the set (setFor) uploaded once
// (on the CPU read in place, so that the trainers of a side-by-side bench share it); each
// step then gathers its batch on the device and uploads nothing (the order, when the set is
// done). Otherwise the batches x and y are fed in turn.
func newBenchSteps(tr backend.Trainer, m *model.Model, set *benchSet, x, y []*tensor.Dense) (*benchSteps, error) {
	bs := &benchSteps{tr: tr, x: x, y: y, kind: m.Spec.Kind}
	dtr, ok := tr.(backend.DatasetTrainer)
	if !ok || set == nil {
		return bs, nil
	}
	if err := dtr.SetDataset(set.x, set.y, set.n); err != nil {
		return nil, err
	}
	bs.order = make([]int, set.n)
	for i := range bs.order {
		bs.order[i] = i
	}
	bs.dtr, bs.batches = dtr, set.n/set.batch
	return bs, nil
}

// resident reports whether the batches are gathered on the device.
func (bs *benchSteps) resident() bool { return bs.dtr != nil }

// step runs step i: on batch i (cycling through them), or the next of the held set.
func (bs *benchSteps) step(i int) error {
	if bs.dtr != nil {
		if bs.taken == bs.batches {
			if err := bs.rewind(); err != nil {
				return err
			}
		}
		bs.taken++
		return bs.dtr.StepNext()
	}
	return bs.tr.Step(bs.x[i%len(bs.x)], bs.y[i%len(bs.y)])
}

// rewind starts the held set's order again (before each phase); nothing when batches are fed.
func (bs *benchSteps) rewind() error {
	if bs.dtr != nil {
		bs.taken = 0
		return bs.dtr.SetOrder(bs.order)
	}
	return nil
}

// wait waits for the device to finish the steps launched (reading the loss).
func (bs *benchSteps) wait() error {
	_, err := bs.tr.Loss()
	return err
}

// run runs steps 0 to n−1 back to back, then waits once.
func (bs *benchSteps) run(n int) error {
	for i := 0; i < n; i++ {
		if err := bs.step(i); err != nil {
			return err
		}
	}
	return bs.wait()
}

// warmUp runs three untimed steps.
func (bs *benchSteps) warmUp() error {
	if err := bs.rewind(); err != nil {
		return err
	}
	return bs.run(3)
}

// throughput times steps steps back to back, as training runs them, waiting once at the
// end: the seconds they took, and the allocations and bytes allocated per step. One untimed
// step comes first, so that the timed ones start as training's do, right after a step: the
// garbage collection before them lets a CPU trainer's idle workers go to sleep, and on a
// side-by-side bench's short rounds waking them weighed on every round's first step (the
// cnn at batch 32 on two threads at half the speed of one, 2026-12-05). Allocations are
// counted over both.
func (bs *benchSteps) throughput(steps int) (secs, allocs, bytes float64, err error) {
	if err := bs.rewind(); err != nil {
		return 0, 0, 0, err
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	if err := bs.run(1); err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	if err := bs.run(steps); err != nil {
		return 0, 0, 0, err
	}
	secs = time.Since(start).Seconds()
	runtime.ReadMemStats(&ms1)
	allocs = float64(ms1.Mallocs-ms0.Mallocs) / float64(steps+1)
	bytes = float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(steps+1)
	return secs, allocs, bytes, nil
}

// latencies times n steps, each waited for, so that they are what a caller of one step
// waits: milliseconds, sorted.
func (bs *benchSteps) latencies(n int) ([]float64, error) {
	if err := bs.rewind(); err != nil {
		return nil, err
	}
	lat := make([]float64, n)
	for i := range lat {
		t0 := time.Now()
		if err := bs.step(i); err != nil {
			return nil, err
		}
		if err := bs.wait(); err != nil {
			return nil, err
		}
		lat[i] = time.Since(t0).Seconds() * 1e3
	}
	sort.Float64s(lat)
	return lat, nil
}

// randomBatches makes n batches from RandomBatch, seeded 1 to n.
func randomBatches(m *model.Model, batch, n int) (xs, ys []*tensor.Dense) {
	for k := 1; k <= n; k++ {
		x, y := model.RandomBatch(m, batch, int64(k))
		xs, ys = append(xs, x), append(ys, y)
	}
	return xs, ys
}

// LaunchTime is one launch of a training step as BenchLaunches timed it: the launch's index
// in the program, its op and what it computes, its median time over the rounds, and by the
// cost model (ir.Program.LaunchCost) its FLOPs and the bytes it moves.
type LaunchTime struct {
	Index  int     `json:"index"`
	Op     string  `json:"op"`
	Kernel string  `json:"kernel,omitempty"` // what ran it, where the device names it (a GPU's kernel)
	What   string  `json:"what"`
	Micros float64 `json:"microseconds"`
	FLOPs  int64   `json:"flops"`
	Bytes  int64   `json:"moved_bytes"`
}

// BenchLaunches trains m on backend b at batch as Bench does (the batches x and y, or random
// ones), three warm-up steps, then rounds more a launch at a time, each launch waited for
// (backend.LaunchTimer): where a step's time goes. A backend that runs no launches (vm, the
// TapeMachine, runs Gorgonia's nodes) is an error that says so.
func BenchLaunches(m *model.Model, b backend.Backend, s *model.Solver, batch, rounds int, x, y []*tensor.Dense) ([]LaunchTime, error) {
	if rounds < 1 || batch < 1 {
		return nil, fmt.Errorf("graph: timing launches needs at least 1 round and a batch of at least 1")
	}
	tr, x, y, err := benchTrainer(m, b, s, batch, x, y)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	lt, ok := tr.(backend.LaunchTimer)
	if !ok {
		return nil, fmt.Errorf("the %s backend runs no launches to time one by one", b.Name())
	}
	bs, err := newBenchSteps(tr, m, setFor(tr, m, batch, 3, x, y), x, y)
	if err != nil {
		return nil, err
	}
	if err := bs.warmUp(); err != nil {
		return nil, err
	}
	p, timed, err := lt.TimeLaunches(rounds)
	if err != nil {
		return nil, err
	}
	out := make([]LaunchTime, len(timed))
	for i, d := range timed {
		c, err := p.LaunchCost(i)
		if err != nil {
			return nil, err
		}
		l := p.Launches[i]
		out[i] = LaunchTime{Index: i, Op: l.Op.String(), Kernel: d.Kernel, What: l.What, Micros: float64(d.Took.Nanoseconds()) / 1e3, FLOPs: c.FLOPs, Bytes: c.Bytes()}
	}
	return out, nil
}
