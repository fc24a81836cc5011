package cpu

import (
	"fmt"
	"testing"

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

// BenchmarkLaunches times each launch of the mlp's and the cnn's training step (batch 128,
// Adam) alone, after a few steps: where a step's time goes, and which launches gain from a
// second worker (-cpu 1,2). Each launch gets a trainer of its own, made under the GOMAXPROCS
// it is timed with (a trainer's workers are fixed when it is made).
func BenchmarkLaunches(b *testing.B) {
	const batch = 128
	mlp, _ := model.NewMLP(256, 1)
	cnn, _ := model.NewCNN(1)
	for _, c := range []struct {
		name string
		m    *model.Model
	}{{"mlp", mlp}, {"cnn", cnn}} {
		trained := func(b *testing.B) *executor {
			tr := adamTrainer(b, c.m, batch)
			x, y := model.RandomBatch(c.m, batch, 1)
			for i := 0; i < 3; i++ {
				if err := tr.Step(x, y); err != nil {
					b.Fatal(err)
				}
			}
			return executorOf(tr)
		}
		e := trained(b)
		for i, l := range e.p.Launches {
			b.Run(fmt.Sprintf("%s/%02d_%s", c.name, i, l.Op), func(b *testing.B) {
				f := trained(b).steps[i]
				b.ResetTimer()
				for n := 0; n < b.N; n++ {
					f()
				}
			})
		}
	}
}
