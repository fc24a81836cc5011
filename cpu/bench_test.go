package cpu

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/graphtrain/graphtrain/internal/gemm"
	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/internal/vec"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/model"
)

// benchStep times one training step of a model at batch 128 with Adam, as trained by
// default.
func benchStep(b *testing.B, m *model.Model) {
	const batch = 128
	tr := adamTrainer(b, m, batch)
	x, y := model.RandomBatch(m, batch, 1)
	if err := tr.Step(x, y); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tr.Step(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkStepMLP(b *testing.B) {
	m, _ := model.NewMLP(256, 1)
	benchStep(b, m)
}

func BenchmarkStepCNN(b *testing.B) {
	m, _ := model.NewCNN(1)
	benchStep(b, m)
}

// benchModel is a model the step benchmarks train.
type benchModel struct {
	name string
	m    *model.Model
}

// benchModels are the mlp (784-256-10) and the cnn, seed 1.
func benchModels() []benchModel {
	mlp, _ := model.NewMLP(256, 1)
	cnn, _ := model.NewCNN(1)
	return []benchModel{{"mlp", mlp}, {"cnn", cnn}}
}

// trained is the executor of m's trainer (batch 128, Adam) after three steps, made under the
// GOMAXPROCS of the benchmark it is for (a trainer's workers are fixed when it is made).
func trained(b *testing.B, m *model.Model) *executor {
	tr := adamTrainer(b, m, 128)
	x, y := model.RandomBatch(m, 128, 1)
	for i := 0; i < 3; i++ {
		if err := tr.Step(x, y); err != nil {
			b.Fatal(err)
		}
	}
	return executorOf(tr)
}

// BenchmarkLaunches times each launch of the mlp's and the cnn's training step (batch 128,
// Adam) alone, after a few steps: where a step's time goes, and which launches gain from a
// second worker (-cpu 1,2). Each launch gets a trainer of its own, made under the GOMAXPROCS
// it is timed with (a trainer's workers are fixed when it is made).
func BenchmarkLaunches(b *testing.B) {
	for _, c := range benchModels() {
		e := trained(b, c.m)
		for i, l := range e.p.Launches {
			b.Run(fmt.Sprintf("%s/%02d_%s", c.name, i, l.Op), func(b *testing.B) {
				f := trained(b, c.m).steps[i]
				b.ResetTimer()
				for n := 0; n < b.N; n++ {
					f()
				}
			})
		}
	}
}

// BenchmarkStepByLaunch times each call of the mlp's and the cnn's training step (batch 128,
// Adam) inside the step, as it runs (BenchmarkLaunches times each alone, its data hot in
// cache): step-µs is their sum, and -v logs each call's µs a step (the updates are one
// call). Run with -cpu 1,2 to see which launches a second worker gains on and which lose.
func BenchmarkStepByLaunch(b *testing.B) {
	for _, c := range benchModels() {
		b.Run(c.name, func(b *testing.B) {
			e := trained(b, c.m)
			took := make([]time.Duration, len(e.calls))
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				for i, f := range e.calls {
					t0 := time.Now()
					f()
					took[i] += time.Since(t0)
				}
			}
			var sum float64
			line := ""
			for i, d := range took {
				us := float64(d.Nanoseconds()) / 1e3 / float64(b.N)
				sum += us
				line += fmt.Sprintf(" %d:%.1f", i, us)
			}
			b.ReportMetric(sum, "step-µs")
			if b.N > 1 { // not the first, one-step round
				b.Logf("µs a step, by call:%s", line)
			}
		})
	}
}

// BenchmarkDataParallelBound bounds what splitting the batch between workers could gain
// (docs/DESIGN.md, "Helpers poll between launches"): a step of batch 128 on 1 and on 2
// workers, against two independent trainers of batch 64 on 1 worker each, stepping at once
// on their own threads (each with its own parameters and whole Adam update, and no sum of
// gradients). samples/s counts 128 a step in each.
func BenchmarkDataParallelBound(b *testing.B) {
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs GOMAXPROCS >= 2: two trainers at once")
	}
	trainer := func(b *testing.B, m *model.Model, batch, workers int) func() {
		net, err := m.Build(batch, true)
		if err != nil {
			b.Fatal(err)
		}
		s, _ := model.NewSolver("adam", 1e-3)
		if err := s.Init(net.Model); err != nil {
			b.Fatal(err)
		}
		p, err := lower.Lower(net, s, lower.CPU)
		if err != nil {
			b.Fatal(err)
		}
		tr, err := newTrainer(p, net, s, parallel.New(workers))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tr.Close() })
		x, y := model.RandomBatch(m, batch, 1)
		step := func() {
			if err := tr.Step(x, y); err != nil {
				b.Error(err)
			}
		}
		step()
		return step
	}
	for _, c := range benchModels() {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/whole_%d_workers", c.name, workers), func(b *testing.B) {
				step := trainer(b, c.m, 128, workers)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					step()
				}
				b.ReportMetric(float64(b.N*128)/b.Elapsed().Seconds(), "samples/s")
			})
		}
		b.Run(c.name+"/halves_at_once", func(b *testing.B) {
			halves := []func(){trainer(b, c.m, 64, 1), trainer(b, c.m, 64, 1)}
			var wg sync.WaitGroup
			b.ResetTimer()
			for _, step := range halves {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					for i := 0; i < b.N; i++ {
						step()
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N*128)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkUpdateTraffic measures what the solver's update costs inside a step: the mlp's
// step (batch 128, Adam) with and without its update, the first product (the batch times
// W1, which every worker reads whole) and the update timed on their own inside the step as
// "product-µs" and "update-µs" (BenchmarkLaunches times the update alone). Without the
// update nothing writes W1 between steps; with it each worker writes its share of W1
// (Adam's pieces), which the other worker's next product then reads (docs/DESIGN.md, "What
// a second core can give here"). Run with -cpu 1,2.
func BenchmarkUpdateTraffic(b *testing.B) {
	m, _ := model.NewMLP(256, 1)
	for _, update := range []bool{true, false} {
		b.Run(map[bool]string{true: "with_update", false: "without_update"}[update], func(b *testing.B) {
			tr := adamTrainer(b, m, 128)
			x, y := model.RandomBatch(m, 128, 1)
			for i := 0; i < 3; i++ {
				if err := tr.Step(x, y); err != nil {
					b.Fatal(err)
				}
			}
			e := executorOf(tr)
			upd := -1 // the call that runs the updates
			for i, l := range e.p.Launches {
				if l.Op.IsUpdate() {
					upd = i // the updates are one call, after one call a launch before them
					break
				}
			}
			var product, updates time.Duration
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				for i, f := range e.calls {
					switch {
					case i == upd && !update:
					case i == upd, i == 0:
						t0 := time.Now()
						f()
						if i == 0 {
							product += time.Since(t0)
						} else {
							updates += time.Since(t0)
						}
					default:
						f()
					}
				}
			}
			b.ReportMetric(float64(product.Microseconds())/float64(b.N), "product-µs")
			b.ReportMetric(float64(updates.Microseconds())/float64(b.N), "update-µs")
		})
	}
}

// BenchmarkStepFamilies times the mlp's and the cnn's training step (batch 128, Adam) on each
// SIMD family the machine has, the GEMM's and vec's of the same name: on an AVX-512 machine,
// what a machine with AVX2 alone (most laptops) runs, too. Run with -cpu 1,2.
func BenchmarkStepFamilies(b *testing.B) {
	defer gemm.Use(gemm.Kernel())
	defer vec.Use(vec.Impl())
	for _, family := range gemm.Kernels() {
		if family == "go" || gemm.Use(family) != nil || vec.Use(family) != nil {
			continue
		}
		for _, c := range benchModels() {
			b.Run(family+"/"+c.name, func(b *testing.B) {
				e := trained(b, c.m)
				b.ResetTimer()
				for n := 0; n < b.N; n++ {
					e.run()
				}
				b.ReportMetric(128*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}
