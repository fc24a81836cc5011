package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
	"gorgonia.org/tensor"

	"graphtrain/backend"
	"graphtrain/datasets"
	"graphtrain/internal/meminfo"
	"graphtrain/model"
	"graphtrain/train"
)

type benchOpts struct {
	models, devices string
	steps, batch    int
	dataDir         string
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
xor) of each model on each backend and prints samples per second, step latency (p50, p95),
allocations per step and the process's peak RSS, and each backend's speed relative to vm,
Gorgonia's TapeMachine (the "vs vm" column, when vm is timed too). Inputs are random unless
--data-dir gives MNIST, whose first batches are then used.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &benchOpts{}
			fs.StringVar(&o.models, "model", strings.Join(model.NamedKinds(), ","), "models to time, comma-separated: "+strings.Join(model.NamedKinds(), ", "))
			fs.StringVar(&o.devices, "devices", "", "backends to time, comma-separated: vm, cpu, cuda (default: --device's backend when --device is given, else every usable one compiled in)")
			fs.IntVar(&o.steps, "steps", 0, "timed steps per model and backend (0: "+defaultsText(defaultBenchSteps, model.NamedKinds()...)+")")
			fs.IntVar(&o.batch, "batch", 128, "batch size for mlp and cnn (xor always uses its 4 examples)")
			fs.StringVar(&o.dataDir, "data-dir", "", "directory with the MNIST files to take the batches from (default: random inputs)")
			return o
		},
		run: runBench,
	})
}

func runBench(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*benchOpts)
	models, err := checkBenchFlags(fs, o)
	if err != nil {
		return err
	}
	if err := checkBenchMemory(models, o.batch); err != nil {
		return err
	}
	backends, autoDevices, err := benchBackends(e, o)
	if err != nil {
		return err
	}
	xs, ys, err := benchData(e, o)
	if err != nil {
		return err
	}
	var results []*train.BenchResult
	e.resultf("%-5s %-6s %6s %6s %14s %10s %10s %12s %8s\n", "model", "device", "batch", "steps", "samples/s", "p50 ms", "p95 ms", "allocs/step", "vs vm")
	for _, kind := range models {
		vmRate := 0.0
		for _, b := range backends {
			r, err := benchOne(kind, b, o, xs, ys)
			if err != nil && autoDevices && b.Name() != "vm" {
				// Every usable backend was asked for, none named: one that cannot take this
				// model is reported and skipped, as training would fall back.
				fmt.Fprintf(e.stderr, "graphtrain: %s not timed on %s: %v\n", kind, b.Name(), err)
				continue
			}
			if err != nil {
				return fmt.Errorf("bench %s on %s: %w", kind, b.Name(), err)
			}
			if b.Name() == "vm" {
				vmRate = r.SamplesPerSec
			}
			printBenchRow(e, kind, b.Name(), r, vmRate)
			results = append(results, r)
		}
	}
	rss, _ := meminfo.PeakResident()
	e.resultf("peak RSS %.0f MiB\n", float64(rss)/(1<<20))
	if e.g.JSON {
		return e.emitJSON(map[string]any{"results": results, "peak_rss_bytes": rss})
	}
	return nil
}

// checkBenchFlags checks bench's flags and returns the models to time.
func checkBenchFlags(fs *pflag.FlagSet, o *benchOpts) ([]string, error) {
	if fs.NArg() > 0 {
		return nil, usagef("bench takes no arguments, got %q", fs.Args())
	}
	if o.steps < 0 || o.steps > maxBenchSteps {
		return nil, usagef("--steps %d: must be between 1 and %d (or 0 for the defaults); a few hundred steps time a model well", o.steps, maxBenchSteps)
	}
	if err := checkSize("batch", o.batch, 1, maxBatch, "lower --batch"); err != nil {
		return nil, err
	}
	models := splitList(o.models)
	for _, k := range models {
		if _, ok := defaultBenchSteps[k]; !ok {
			return nil, usagef("--model %q: must be xor, mlp or cnn (or a comma-separated list of them)", k)
		}
	}
	if len(models) == 0 {
		return nil, usagef("--model: name at least one of xor, mlp, cnn")
	}
	return models, nil
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
		return nil, false, fmt.Errorf("--devices %s: none of them can run here", strings.Join(devices, ","))
	}
	return backends, false, nil
}

// benchData is the first train.BenchBatches batches of MNIST with --data-dir, as tensors
// (none without: the steps then draw random batches).
func benchData(e *env, o *benchOpts) (xs, ys []*tensor.Dense, err error) {
	if o.dataDir == "" {
		return nil, nil, nil
	}
	trainSet, _, err := mnistData(e, datasets.MNIST, o.dataDir)
	if err != nil {
		return nil, nil, err
	}
	bs := datasets.NewBatches(trainSet, o.batch, 1, true)
	bs.Reset(1)
	for i := 0; i < train.BenchBatches && bs.Next(); i++ {
		xs = append(xs, tensor.New(tensor.WithShape(o.batch, model.ImageSize), tensor.WithBacking(append([]float32(nil), bs.X...))))
		ys = append(ys, tensor.New(tensor.WithShape(o.batch, model.Classes), tensor.WithBacking(append([]float32(nil), bs.Y...))))
	}
	return xs, ys, nil
}

// benchOne times one model's steps on backend b: the XOR net with plain gradient descent on
// its 4 examples, mlp and cnn with Adam at --batch on xs, ys (random batches when none).
func benchOne(kind string, b backend.Backend, o *benchOpts, xs, ys []*tensor.Dense) (*train.BenchResult, error) {
	batch, steps := o.batch, o.steps
	if steps == 0 {
		steps = defaultBenchSteps[kind]
	}
	if kind == "xor" {
		m, err := model.NewNamed(kind, []int{4}, false, 42)
		if err != nil {
			return nil, err
		}
		s, _ := model.NewSolver("sgd", 0.1)
		return train.Bench(m, b, s, 4, steps, nil, nil)
	}
	m, err := newModel(kind, []int{256}, false, 1)
	if err != nil {
		return nil, err
	}
	s, _ := model.NewSolver("adam", 1e-3)
	return train.Bench(m, b, s, batch, steps, xs, ys)
}

// printBenchRow prints one row of bench's table, with the speed relative to vm's (vmRate,
// 0 when vm was not timed) and how the steps were launched.
func printBenchRow(e *env, kind, device string, r *train.BenchResult, vmRate float64) {
	ratio := ""
	if device != "vm" && vmRate > 0 {
		ratio = fmt.Sprintf("%.1fx", r.SamplesPerSec/vmRate)
	}
	e.resultf("%-5s %-6s %6d %6d %14.0f %10.3f %10.3f %12.0f %8s\n", kind, device, r.Batch, r.Steps, r.SamplesPerSec, r.StepP50ms, r.StepP95ms, r.AllocsPerStep, ratio)
	if r.Launch != "" {
		e.resultf("      %s steps launched: %s\n", device, r.Launch)
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

// checkBenchMemory refuses a bench whose largest model would not fit in memory at --batch.
func checkBenchMemory(models []string, batch int) error {
	for _, kind := range models {
		if kind == "xor" {
			continue // always 4 examples
		}
		spec, err := model.SpecFor(kind, 256, false)
		if err != nil {
			return err
		}
		need, err := train.BenchMemory(spec, batch)
		if err != nil {
			return err
		}
		if err := checkMemory(need, fmt.Sprintf("lower --batch (the %s model)", kind)); err != nil {
			return err
		}
	}
	return nil
}
