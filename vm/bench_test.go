package vm

import (
	"testing"

	"github.com/graphtrain/graphtrain/model"
)

// benchmarkStep measures one training step (forward, backward, Adam update) at batch 128.
func benchmarkStep(b *testing.B, m *model.Model) {
	const batch = 128
	net, err := m.Build(batch, true)
	if err != nil {
		b.Fatal(err)
	}
	s, _ := model.NewSolver("adam", 1e-3)
	tr, err := VM{}.NewTrainer(net, s)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	x, y := model.RandomBatch(m, batch, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tr.Step(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkStepMLP(b *testing.B) {
	m, _ := model.NewMLP(256, 1)
	benchmarkStep(b, m)
}

func BenchmarkStepCNN(b *testing.B) {
	m, _ := model.NewCNN(1)
	benchmarkStep(b, m)
}
