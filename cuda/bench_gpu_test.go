//go:build gpu

package cuda

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"gorgonia.org/cu"

	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
)

// BenchmarkStepByLaunch times each launch of the mlp's and the cnn's training step (Adam) on
// the device at batch 128, 1024 and 8192: launch i alone, then a wait for it, b.N times after
// a warm-up, so each time holds one launch and one synchronisation (about 9 µs on an H100,
// docs/DESIGN.md "Launch costs and CUDA graphs"; the step_inc launch, one thread, shows that
// floor). -v logs a table per model and batch: each launch's kernel, µs, and by the cost model
// (ir/cost.go) the GFLOP/s and GB/s it achieves, so that a device session sees which kernels
// are far from their bounds. step-µs is the sum; the step as one CUDA graph takes less
// (bench). Run: (cd cuda && ../.gpu/cuda.test -test.run '^$' -test.bench StepByLaunch
// -test.benchtime 20x -test.v).
func BenchmarkStepByLaunch(b *testing.B) {
	if err := (Backend{}).Available(); err != nil {
		b.Skipf("no CUDA device: %v", err)
	}
	mlp, err := model.NewMLP(256, 1)
	if err != nil {
		b.Fatal(err)
	}
	cnn, err := model.NewCNN(1)
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range []*model.Model{mlp, cnn} {
		for _, batch := range []int{128, 1024, 8192} {
			b.Run(fmt.Sprintf("%s/%d", m.Spec.Kind, batch), func(b *testing.B) {
				tr, _ := newDeviceTrainer(b, m, batch, "adam", 1e-3)
				p := tr.Program()
				x, y := lowertest.Batch(m, batch, 3)
				if err := upload(tr, p.X, x); err != nil {
					b.Fatal(err)
				}
				if err := upload(tr, p.Y, y); err != nil {
					b.Fatal(err)
				}
				c := launchesOf(tr)
				took := make([]time.Duration, len(p.Launches))
				each := func(rounds int, record bool) error {
					for n := 0; n < rounds; n++ {
						for i := range p.Launches {
							t0 := time.Now()
							if err := c.ls.only(i).run(c.p); err != nil {
								return err
							}
							if err := cu.Synchronize(); err != nil {
								return err
							}
							if record {
								took[i] += time.Since(t0)
							}
						}
					}
					return nil
				}
				if err := gpuOf(tr).th.do(func() error { return each(2, false) }); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				if err := gpuOf(tr).th.do(func() error { return each(b.N, true) }); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_, per, err := p.Cost()
				if err != nil {
					b.Fatal(err)
				}
				var sum float64
				var t strings.Builder
				fmt.Fprintf(&t, "%s at batch %d, launch by launch (each with its wait), %d rounds:\n", m.Spec.Kind, batch, b.N)
				fmt.Fprintf(&t, "%4s %-26s %10s %10s %10s  %s\n", "", "kernel", "µs", "GFLOP/s", "GB/s", "computes")
				for i, l := range p.Launches {
					us := float64(took[i].Nanoseconds()) / 1e3 / float64(b.N)
					sum += us
					what := l.What
					if len(what) > 60 {
						what = what[:60] + "..."
					}
					fmt.Fprintf(&t, "%4d %-26s %10.1f %10.1f %10.1f  %s\n", i, kernelFor(l).Name, us,
						float64(per[i].FLOPs)/us/1e3, float64(per[i].Bytes())/us/1e3, what)
				}
				b.ReportMetric(sum, "step-µs")
				b.ReportMetric(float64(batch)/sum*1e6, "samples/s")
				if b.N > 1 { // not the first, one-round run
					b.Logf("%s", t.String())
				}
			})
		}
	}
}
