package cpu

import (
	"fmt"
	"testing"

	"github.com/graphtrain/graphtrain/ir"
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

// BenchmarkCNNLaunches times each of the cnn's fused convolution launches (batch 128) alone,
// after a few training steps: where a step's time goes.
func BenchmarkCNNLaunches(b *testing.B) {
	const batch = 128
	m, _ := model.NewCNN(1)
	tr := adamTrainer(b, m, batch)
	x, y := model.RandomBatch(m, batch, 1)
	for i := 0; i < 3; i++ {
		if err := tr.Step(x, y); err != nil {
			b.Fatal(err)
		}
	}
	e := executorOf(tr)
	seen := map[string]int{}
	for i, l := range e.p.Launches {
		if l.Op < ir.Conv {
			continue
		}
		seen[l.Op.String()]++
		f := e.steps[i]
		b.Run(fmt.Sprintf("%s_%d", l.Op, seen[l.Op.String()]), func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				f()
			}
		})
	}
}
