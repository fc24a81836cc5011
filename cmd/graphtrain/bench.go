package main

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/internal/meminfo"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/train"
)

type benchOpts struct {
	models, devices  string
	batches, threads string
	steps            int
	dataDir          string
	byLaunch         bool
}

// maxBenchBatch and maxBenchThreads bound --batch and --threads (the memory check refuses a
// batch too large for this machine before that).
const (
	maxBenchBatch   = maxBatch
	maxBenchThreads = 256
)

// benchPlan is what bench times: each model on each backend at each batch size and number of
// threads.
type benchPlan struct {
	models   []string
	batches  []int
	threads  []int         // GOMAXPROCS for each vm and cpu row; none: GOMAXPROCS as it is
	steps    int           // timed steps; 0: defaultBenchSteps
	set      *datasets.Set // MNIST's training set to take the batches from, or nil: random ones
	byLaunch bool          // time each launch of the cpu and cuda rows' steps too
}

// benchRow is a row of bench's table and a --json result: train.Bench's figures of a model
// on a backend at a batch size and number of threads, and the cost model's.
type benchRow struct {
	*train.BenchResult
	// Threads is GOMAXPROCS while the row ran; nil on cuda, whose steps are the GPU's work.
	Threads *int `json:"threads"`
	// The cost model's training step (ir.Program.Cost) of the program the backend runs, and
	// the same per second at the row's speed; absent when the model could not be lowered.
	FLOPsPerStep      int64   `json:"flops_per_step,omitempty"`
	MovedBytesPerStep int64   `json:"moved_bytes_per_step,omitempty"`
	FLOPsPerSec       float64 `json:"flops_per_second,omitempty"`
	MovedBytesPerSec  float64 `json:"moved_bytes_per_second,omitempty"`
	// With --by-launch (cpu and cuda): each launch of the step timed alone.
	Launches []train.LaunchTime `json:"launches,omitempty"`
}

// defaultBenchSteps keep each measurement to a few seconds on a 2-core CPU: the XOR net's
// tiny steps by the thousand, a convnet's by the ten.
var defaultBenchSteps = func() map[string]int {
	steps := map[string]int{}
	for _, kind := range model.NamedKinds() {
		s, err := model.SpecFor(kind, 256, true)
		switch {
		case err != nil:
		case !s.Classifier():
			steps[kind] = 2000
		case s.Convolutional():
			steps[kind] = 30
		default:
			steps[kind] = 100
		}
	}
	return steps
}()

func init() {
	register(&command{
		path:  "bench",
		short: "time training steps of each model on each backend, side by side",
		long: `Runs the same training steps (forward, backward, Adam update; plain gradient descent for
xor) of each model on each backend and prints samples per second, the FLOP/s and bytes/s they
achieve by the cost model ('graphtrain graph --cost': the FLOPs and bytes of one step of the
program the backend runs; for vm, of the program with nothing fused, the nearest to its
node-by-node run), step latency (p50, p95), allocations per step and the process's peak
RSS, and each backend's speed relative to vm, Gorgonia's TapeMachine (the "vs vm" column,
against vm at the same batch and threads, when vm is timed too). --batch and --threads take
comma-separated lists: a row for each model, backend, batch size and number of threads, in
that order. The threads are GOMAXPROCS while the row runs (restored after); they do not apply
to cuda, whose rows run once per batch size (threads "-"). The rows of several thread counts
(same model, backend and batch) are timed side by side: a trainer for each, their steps in 5
rounds that take turns, so that their ratios hold when the machine's load changes while they
run (--json: "rounds"). Inputs are random unless
--data-dir gives MNIST, whose first batches are then used. --by-launch then times the cpu and
cuda rows' steps a launch at a time, each launch waited for (the waits make the sum longer
than a step as it runs, a GPU's as one CUDA graph), and prints under each row a line per
launch: its op (on cuda, its kernel), microseconds (the median of the rounds), share of the sum, the GFLOP/s and GB/s it
achieves by the cost model, and what it computes (--json: the row's "launches"); vm runs
Gorgonia's nodes, not launches, and has none.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &benchOpts{}
			fs.StringVar(&o.models, "model", strings.Join(model.NamedKinds(), ","), "models to time, comma-separated: "+strings.Join(model.NamedKinds(), ", "))
			fs.StringVar(&o.devices, "devices", "", "backends to time, comma-separated: vm, cpu, cuda (default: --device's backend when --device is given, else every usable one compiled in)")
			fs.IntVar(&o.steps, "steps", 0, "timed steps per row (0: "+defaultsText(defaultBenchSteps, model.NamedKinds()...)+")")
			fs.StringVar(&o.batches, "batch", "128", "the batch `size[,size...]` of mlp and cnn, a row each: 128,1024,8192 (xor always uses its 4 examples)")
			fs.StringVar(&o.threads, "threads", "", "the GOMAXPROCS `n[,n...]` of the vm and cpu rows, a row each: 1,2,4 (default: GOMAXPROCS as it is; cuda's rows run once, the threads being the host's)")
			fs.StringVar(&o.dataDir, "data-dir", "", "directory with the MNIST files to take the batches from (default: random inputs)")
			fs.BoolVar(&o.byLaunch, "by-launch", false, fmt.Sprintf("also time each launch of the cpu and cuda rows' steps alone (%d steps, or --steps if fewer) and print a line per launch under the row", maxLaunchRounds))
			return o
		},
		run: runBench,
	})
}

func runBench(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*benchOpts)
	plan, err := checkBenchFlags(fs, o)
	if err != nil {
		return err
	}
	if err := checkBenchMemory(plan.models, slices.Max(plan.batches), max(1, len(plan.threads))); err != nil {
		return err
	}
	backends, autoDevices, err := benchBackends(e, o)
	if err != nil {
		return err
	}
	if plan.set, err = benchSet(e, o); err != nil {
		return err
	}
	e.resultf(benchFormat, "model", "device", "batch", "threads", "steps", "samples/s", "GFLOP/s", "GB/s", "p50 ms", "p95 ms", "allocs/step", "vs vm")
	var rows []*benchRow
	for _, kind := range plan.models {
		vm := map[[2]int]float64{} // vm's samples/s by batch and threads
		for _, b := range backends {
			r, err := benchDevice(e, plan, kind, b, vm)
			rows = append(rows, r...)
			if err != nil && autoDevices && b.Name() != "vm" {
				// Every usable backend was asked for, none named: one that cannot take this
				// model is reported and skipped, as training would fall back.
				fmt.Fprintf(e.stderr, "graphtrain: %s not timed on %s: %v\n", kind, b.Name(), err)
				continue
			}
			if err != nil {
				return fmt.Errorf("bench %s on %s: %w", kind, b.Name(), err)
			}
		}
	}
	rss, _ := meminfo.PeakResident()
	e.resultf("peak RSS %.0f MiB\n", float64(rss)/(1<<20))
	if e.g.JSON {
		return e.emitJSON(map[string]any{"results": rows, "peak_rss_bytes": rss})
	}
	return nil
}

// checkBenchFlags checks bench's flags and returns what to time.
func checkBenchFlags(fs *pflag.FlagSet, o *benchOpts) (*benchPlan, error) {
	if fs.NArg() > 0 {
		return nil, usagef("bench takes no arguments, got %q", fs.Args())
	}
	if o.steps < 0 || o.steps > maxBenchSteps {
		return nil, usagef("--steps %d: must be between 1 and %d (or 0 for the defaults); a few hundred steps time a model well", o.steps, maxBenchSteps)
	}
	plan := &benchPlan{models: splitList(o.models), steps: o.steps, byLaunch: o.byLaunch}
	for _, k := range plan.models {
		if _, ok := defaultBenchSteps[k]; !ok {
			return nil, usagef("--model %q: must be xor, mlp or cnn (or a comma-separated list of them)", k)
		}
	}
	if len(plan.models) == 0 {
		return nil, usagef("--model: name at least one of xor, mlp, cnn")
	}
	var err error
	if plan.batches, err = benchList("batch", o.batches, maxBenchBatch, "batch sizes", "128,1024,8192"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(o.threads) != "" {
		if plan.threads, err = benchList("threads", o.threads, maxBenchThreads, "thread counts", "1,2,4"); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// benchList parses the comma-separated whole numbers given to --flag (--batch, --threads):
// each from 1 to most, none twice. what names them and example is a good value, for the
// errors.
func benchList(flag, s string, most int, what, example string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		switch { // a number beyond int is out of range too
		case err != nil && !errors.Is(err, strconv.ErrRange):
			return nil, usagef("--%s %q: %q is not a whole number; give %s, comma-separated (--%s %s)", flag, s, f, what, flag, example)
		case err != nil || n < 1 || n > most:
			return nil, usagef("--%s %s: %s is out of range; give %s from 1 to %d", flag, s, f, what, most)
		case slices.Contains(out, n):
			return nil, usagef("--%s %s: %d is given twice; give each once", flag, s, n)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchBackends are the backends to time: --devices, else --device's, else (auto) every
// usable one compiled in, saying why one is not. auto is true in that last case.
func benchBackends(e *env, o *benchOpts) (backends []backend.Backend, auto bool, err error) {
	if o.devices != "" {
		return listedBackends(e, splitList(o.devices))
	}
	if e.g.Device != "auto" {
		b, _, err := selectBackend(e.g.Device)
		return []backend.Backend{b}, false, err
	}
	for _, b := range backend.Backends() {
		if err := b.Available(); err != nil {
			fmt.Fprintf(e.stderr, "graphtrain: %s not timed: %v\n", b.Name(), err)
			continue
		}
		backends = append(backends, b)
	}
	return backends, true, nil
}

// listedBackends are the backends --devices names. One that cannot run here (cuda in a build
// without the gpu tag, or without a usable GPU) is left out with a line saying why, when
// others are listed; alone, it is an error.
func listedBackends(e *env, devices []string) (backends []backend.Backend, auto bool, err error) {
	for _, d := range devices {
		if d != "vm" && d != "cpu" && d != "cuda" {
			return nil, false, usagef("--devices %q: must be vm, cpu or cuda (or several, comma-separated)", d)
		}
	}
	for _, d := range devices {
		b, _, err := selectBackend(d)
		if err != nil && len(devices) == 1 {
			return nil, false, err
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "graphtrain: %s not timed: %v\n", d, err)
			continue
		}
		backends = append(backends, b)
	}
	if len(backends) == 0 {
		return nil, false, fmt.Errorf("--devices %s: none of them can run here; run 'graphtrain devices' to see which can", strings.Join(devices, ","))
	}
	return backends, false, nil
}

// benchSet is MNIST's training set with --data-dir (nil without: the steps then draw random
// batches).
func benchSet(e *env, o *benchOpts) (*datasets.Set, error) {
	if o.dataDir == "" {
		return nil, nil
	}
	trainSet, _, err := mnistData(e, datasets.MNIST, o.dataDir)
	return trainSet, err
}

// benchData is the first train.BenchBatches batches of set at batch, as tensors (none
// without a set).
func benchData(set *datasets.Set, batch int) (xs, ys []*tensor.Dense) {
	if set == nil {
		return nil, nil
	}
	bs := datasets.NewBatches(set, batch, 1, true)
	bs.Reset(1)
	for i := 0; i < train.BenchBatches && bs.Next(); i++ {
		xs = append(xs, tensor.New(tensor.WithShape(batch, model.ImageSize), tensor.WithBacking(append([]float32(nil), bs.X...))))
		ys = append(ys, tensor.New(tensor.WithShape(batch, model.Classes), tensor.WithBacking(append([]float32(nil), bs.Y...))))
	}
	return xs, ys
}

// benchDevice times kind on b at each batch size and number of threads of plan, printing a
// row for each; on cuda once per batch size (the threads are the host's, not its own). vm
// holds vm's samples/s by batch and threads, for the "vs vm" column; a vm row adds to it.
func benchDevice(e *env, plan *benchPlan, kind string, b backend.Backend, vm map[[2]int]float64) ([]*benchRow, error) {
	var rows []*benchRow
	launch := ""
	for _, batch := range plan.batchesFor(kind) {
		xs, ys := benchData(plan.set, batch)
		cost, costErr := stepCost(kind, b.Name(), batch)
		all := plan.threadsFor(b.Name())
		results, ran, err := benchThreads(kind, b, batch, plan.stepsFor(kind), all, xs, ys)
		if err != nil {
			return rows, err
		}
		for i, threads := range all {
			r, ran := results[i], ran[i]
			row := &benchRow{BenchResult: r}
			if b.Name() != "cuda" {
				row.Threads = &ran
			}
			if costErr == nil {
				row.setCost(cost)
			}
			if b.Name() == "vm" {
				vm[[2]int{r.Batch, ran}] = r.SamplesPerSec
			}
			printBenchRow(e, row, vmRate(vm, row), launch)
			launch, rows = r.Launch, append(rows, row)
			if plan.byLaunch && b.Name() != "vm" {
				rounds := min(plan.stepsFor(kind), maxLaunchRounds)
				_, _, err := benchAt(threads, func() (*train.BenchResult, error) {
					m, s, batch, err := benchModel(kind, batch)
					if err != nil {
						return nil, err
					}
					bx, by := xs, ys
					if kind == "xor" { // its 4 examples, as benchOne
						bx, by = nil, nil
					}
					row.Launches, err = train.BenchLaunches(m, b, s, batch, rounds, bx, by)
					return nil, err
				})
				if err != nil {
					return rows, err
				}
				printLaunches(e, row.Launches, rounds)
			}
		}
	}
	return rows, nil
}

// batchesFor are the batch sizes kind is timed at: the XOR net always takes its 4 examples.
func (p *benchPlan) batchesFor(kind string) []int {
	if kind == "xor" {
		return []int{4}
	}
	return p.batches
}

// threadsFor are the GOMAXPROCS device's rows run with, 0 leaving it as it is: cuda's and, without
// --threads, every device's.
func (p *benchPlan) threadsFor(device string) []int {
	if device == "cuda" || len(p.threads) == 0 {
		return []int{0}
	}
	return p.threads
}

// stepsFor is --steps, else kind's default.
func (p *benchPlan) stepsFor(kind string) int {
	if p.steps == 0 {
		return defaultBenchSteps[kind]
	}
	return p.steps
}

// benchRounds is how many rounds the rows of several thread counts are timed in, side by side
// (train.BenchThreads).
const benchRounds = 5

// benchThreads times steps steps of kind on backend b at batch at each of threads (0: the
// GOMAXPROCS as it is), side by side in benchRounds rounds when there are several: the results,
// and the GOMAXPROCS each ran with.
func benchThreads(kind string, b backend.Backend, batch, steps int, threads []int, xs, ys []*tensor.Dense) ([]*train.BenchResult, []int, error) {
	if len(threads) == 1 {
		r, ran, err := benchAt(threads[0], func() (*train.BenchResult, error) {
			return benchOne(kind, b, batch, steps, xs, ys)
		})
		return []*train.BenchResult{r}, []int{ran}, err
	}
	if kind == "xor" { // its 4 examples, as benchOne
		xs, ys = nil, nil
	}
	build := func() (*model.Model, *model.Solver, error) {
		m, s, _, err := benchModel(kind, batch)
		return m, s, err
	}
	_, _, batch, err := benchModel(kind, batch)
	if err != nil {
		return nil, nil, err
	}
	rs, err := train.BenchThreads(build, b, batch, steps, benchRounds, threads, xs, ys)
	return rs, threads, err
}

// benchAt runs f with GOMAXPROCS set to threads (0: as it is), and sets it back after: f's
// result, and the GOMAXPROCS it ran with.
func benchAt(threads int, f func() (*train.BenchResult, error)) (r *train.BenchResult, ran int, err error) {
	if threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	}
	r, err = f()
	return r, runtime.GOMAXPROCS(0), err
}

// setCost sets the row's cost model figures from one step's cost.
func (r *benchRow) setCost(c ir.Cost) {
	stepsPerSec := r.SamplesPerSec / float64(r.Batch)
	r.FLOPsPerStep, r.MovedBytesPerStep = c.FLOPs, c.Bytes()
	r.FLOPsPerSec, r.MovedBytesPerSec = float64(c.FLOPs)*stepsPerSec, float64(c.Bytes())*stepsPerSec
}

// vmRate is vm's samples/s at the row's batch and threads (on cuda: vm's with the most
// threads at that batch), 0 when vm was not timed there.
func vmRate(vm map[[2]int]float64, r *benchRow) float64 {
	if r.Threads != nil {
		return vm[[2]int{r.Batch, *r.Threads}]
	}
	most, rate := 0, 0.0
	for k, v := range vm {
		if k[0] == r.Batch && k[1] > most {
			most, rate = k[1], v
		}
	}
	return rate
}

// benchTargets are the lowering targets of the programs the backends run, for the cost model.
// vm runs Gorgonia's graph node by node: the nearest Program is the one with nothing fused or
// split.
var benchTargets = map[string]lower.Target{"vm": {Name: "vm"}, "cpu": lower.CPU, "cuda": lower.CUDA}

// stepCost is the cost model's training step (ir.Program.Cost) of bench's kind at batch,
// lowered for device's target.
func stepCost(kind, device string, batch int) (ir.Cost, error) {
	target, ok := benchTargets[device]
	if !ok {
		return ir.Cost{}, fmt.Errorf("no cost model for the %s backend", device)
	}
	m, s, batch, err := benchModel(kind, batch)
	if err != nil {
		return ir.Cost{}, err
	}
	net, err := m.Build(batch, true)
	if err != nil {
		return ir.Cost{}, err
	}
	if err := s.Init(m); err != nil {
		return ir.Cost{}, err
	}
	p, err := lower.Lower(net, s, target)
	if err != nil {
		return ir.Cost{}, err
	}
	total, _, err := p.Cost()
	return total, err
}

// benchModel is the model bench trains for kind, its solver and its batch: the XOR net with
// plain gradient descent on its 4 examples, mlp and cnn with Adam at batch.
func benchModel(kind string, batch int) (*model.Model, *model.Solver, int, error) {
	if kind == "xor" {
		m, err := model.NewNamed(kind, []int{4}, false, 42)
		s, _ := model.NewSolver("sgd", 0.1)
		return m, s, 4, err
	}
	m, err := newModel(kind, []int{256}, false, 1)
	s, _ := model.NewSolver("adam", 1e-3)
	return m, s, batch, err
}

// benchOne times steps steps of kind on backend b at batch, on xs, ys (random batches when
// none).
func benchOne(kind string, b backend.Backend, batch, steps int, xs, ys []*tensor.Dense) (*train.BenchResult, error) {
	m, s, batch, err := benchModel(kind, batch)
	if err != nil {
		return nil, err
	}
	if kind == "xor" {
		xs, ys = nil, nil
	}
	return train.Bench(m, b, s, batch, steps, xs, ys)
}

// benchFormat is the layout of bench's table: its header, and each row printed as strings.
const benchFormat = "%-5s %-6s %6s %7s %6s %14s %9s %8s %10s %10s %12s %8s\n"

// printBenchRow prints a row of bench's table, with the speed relative to vm's (vmRate, 0
// when vm was not timed), and how the steps were launched unless it says what the device's
// previous row said (launched).
func printBenchRow(e *env, r *benchRow, vmRate float64, launched string) {
	ratio, threads, gflops, gbs := "", "-", "-", "-"
	if r.Device != "vm" && vmRate > 0 {
		ratio = fmt.Sprintf("%.1fx", r.SamplesPerSec/vmRate)
	}
	if r.Threads != nil {
		threads = strconv.Itoa(*r.Threads)
	}
	if r.FLOPsPerStep > 0 {
		gflops, gbs = fmt.Sprintf("%.2f", r.FLOPsPerSec/1e9), fmt.Sprintf("%.2f", r.MovedBytesPerSec/1e9)
	}
	e.resultf(benchFormat, r.Model, r.Device, strconv.Itoa(r.Batch), threads, strconv.Itoa(r.Steps), fmt.Sprintf("%.0f", r.SamplesPerSec),
		gflops, gbs, fmt.Sprintf("%.3f", r.StepP50ms), fmt.Sprintf("%.3f", r.StepP95ms), fmt.Sprintf("%.0f", r.AllocsPerStep), ratio)
	if r.Launch != "" && r.Launch != launched {
		e.resultf("      %s steps launched: %s\n", r.Device, r.Launch)
	}
}

// maxLaunchRounds bounds the steps --by-launch times a launch at a time.
const maxLaunchRounds = 20

// printLaunches prints --by-launch's lines under a row: each launch's op (a GPU's kernel),
// mean microseconds over rounds steps, share of their sum, FLOP/s and bytes/s by the cost
// model, and what it computes.
func printLaunches(e *env, ls []train.LaunchTime, rounds int) {
	var sum float64
	for _, l := range ls {
		sum += l.Micros
	}
	e.resultf("      %d launches timed one by one over %d steps, each waited for: %.1f µs a step (the sum of their medians)\n", len(ls), rounds, sum)
	for _, l := range ls {
		what := l.What
		if r := []rune(what); len(r) > 60 {
			what = string(r[:57]) + "..."
		}
		rate := func(x int64) string {
			if x == 0 || l.Micros <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", float64(x)/l.Micros/1e3)
		}
		name := l.Op
		if l.Kernel != "" {
			name = l.Kernel
		}
		e.resultf("      %4d %-24s %10.2f µs %5.1f%% %9s GFLOP/s %9s GB/s  %s\n", l.Index, name, l.Micros, 100*l.Micros/max(sum, 1e-9), rate(l.FLOPs), rate(l.Bytes), what)
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// checkBenchMemory refuses a bench whose largest model would not fit in memory at --batch,
// with trainers of it alive at once (one for each of --threads: they are timed side by side).
func checkBenchMemory(models []string, batch, trainers int) error {
	for _, kind := range models {
		if kind == "xor" {
			continue // always 4 examples
		}
		spec, err := model.SpecFor(kind, 256, false)
		if err != nil {
			return err
		}
		need, err := train.BenchMemory(spec, batch, trainers)
		if err != nil {
			return err
		}
		if err := checkMemory(need, fmt.Sprintf("lower --batch (the %s model)", kind)); err != nil {
			return err
		}
	}
	return nil
}
