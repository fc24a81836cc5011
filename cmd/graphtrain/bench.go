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

// defaultBenchSteps keep each measurement to a few seconds on a 2-core CPU.
var defaultBenchSteps = map[string]int{"xor": 2000, "mlp": 100, "cnn": 30}

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
			fs.StringVar(&o.models, "model", "xor,mlp,cnn", "models to time, comma-separated: xor, mlp, cnn")
			fs.StringVar(&o.devices, "devices", "", "backends to time, comma-separated: vm, cpu, cuda (default: --device's backend when --device is given, else every usable one compiled in)")
			fs.IntVar(&o.steps, "steps", 0, "timed steps per model and backend (0: "+defaultsText(defaultBenchSteps, "xor", "mlp", "cnn")+")")
			fs.IntVar(&o.batch, "batch", 128, "batch size for mlp and cnn (xor always uses its 4 examples)")
			fs.StringVar(&o.dataDir, "data-dir", "", "directory with the MNIST files to take the batches from (default: random inputs)")
			return o
		},
		run: runBench,
	})
}

func runBench(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*benchOpts)
	if fs.NArg() > 0 {
		return usagef("bench takes no arguments, got %q", fs.Args())
	}
	if o.steps < 0 {
		return usagef("--steps %d: must be at least 1 (or 0 for the defaults)", o.steps)
	}
	if o.batch < 1 {
		return usagef("--batch %d: must be at least 1", o.batch)
	}
	models := splitList(o.models)
	for _, k := range models {
		if _, ok := defaultBenchSteps[k]; !ok {
			return usagef("--model %q: must be xor, mlp or cnn (or a comma-separated list of them)", k)
		}
	}
	if len(models) == 0 {
		return usagef("--model: name at least one of xor, mlp, cnn")
	}
	if err := checkBenchMemory(models, o.batch); err != nil {
		return err
	}
	var backends []backend.Backend
	autoDevices := o.devices == "" && e.g.Device == "auto"
	if o.devices == "" {
		if e.g.Device != "auto" {
			b, _, err := selectBackend(e.g.Device)
			if err != nil {
				return err
			}
			backends = append(backends, b)
		} else {
			for _, b := range backend.Backends() {
				if err := b.Available(); err != nil {
					fmt.Fprintf(e.stderr, "graphtrain: %s not timed: %v\n", b.Name(), err)
					continue
				}
				backends = append(backends, b)
			}
		}
	} else {
		for _, d := range splitList(o.devices) {
			if d != "vm" && d != "cpu" && d != "cuda" {
				return usagef("--devices %q: must be vm, cpu or cuda (or several, comma-separated)", d)
			}
			b, _, err := selectBackend(d)
			if err != nil {
				return err
			}
			backends = append(backends, b)
		}
	}

	var xs, ys []*tensor.Dense
	if o.dataDir != "" {
		trainSet, _, err := mnistData(e, datasets.MNIST, o.dataDir)
		if err != nil {
			return err
		}
		bs := datasets.NewBatches(trainSet, o.batch, 1, true)
		bs.Reset(1)
		for i := 0; i < train.BenchBatches && bs.Next(); i++ {
			xs = append(xs, tensor.New(tensor.WithShape(o.batch, model.ImageSize), tensor.WithBacking(append([]float32(nil), bs.X...))))
			ys = append(ys, tensor.New(tensor.WithShape(o.batch, model.Classes), tensor.WithBacking(append([]float32(nil), bs.Y...))))
		}
	}

	var results []*train.BenchResult
	e.resultf("%-5s %-6s %6s %6s %14s %10s %10s %12s %8s\n", "model", "device", "batch", "steps", "samples/s", "p50 ms", "p95 ms", "allocs/step", "vs vm")
	for _, kind := range models {
		vmRate := 0.0
		for _, b := range backends {
			var m *model.Model
			var s *model.Solver
			var err error
			batch, steps := o.batch, o.steps
			if steps == 0 {
				steps = defaultBenchSteps[kind]
			}
			var bx, by []*tensor.Dense
			if kind == "xor" {
				m, err = newModel(kind, []int{4}, false, 42)
				s, _ = model.NewSolver("sgd", 0.1)
				batch = 4
			} else {
				m, err = newModel(kind, []int{256}, false, 1)
				s, _ = model.NewSolver("adam", 1e-3)
				bx, by = xs, ys
			}
			if err != nil {
				return err
			}
			r, err := train.Bench(m, b, s, batch, steps, bx, by)
			if err != nil && autoDevices && b.Name() != "vm" {
				// Every usable backend was asked for, none named: one that cannot take this
				// model is reported and skipped, as training would fall back.
				fmt.Fprintf(e.stderr, "graphtrain: %s not timed on %s: %v\n", kind, b.Name(), err)
				continue
			}
			if err != nil {
				return fmt.Errorf("bench %s on %s: %w", kind, b.Name(), err)
			}
			ratio := ""
			if b.Name() == "vm" {
				vmRate = r.SamplesPerSec
			} else if vmRate > 0 {
				ratio = fmt.Sprintf("%.1fx", r.SamplesPerSec/vmRate)
			}
			e.resultf("%-5s %-6s %6d %6d %14.0f %10.3f %10.3f %12.0f %8s\n", kind, b.Name(), r.Batch, r.Steps, r.SamplesPerSec, r.StepP50ms, r.StepP95ms, r.AllocsPerStep, ratio)
			if r.Launch != "" {
				e.resultf("      %s steps launched: %s\n", b.Name(), r.Launch)
			}
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
