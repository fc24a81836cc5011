package cpu

import (
	"testing"

	"graphtrain/graph"
)

// benchStep times one training step of a model at batch 128 with Adam, as trained by
// default.
func benchStep(b *testing.B, m *graph.Model) {
	const batch = 128
	net, err := m.Build(batch, true)
	if err != nil {
		b.Fatal(err)
	}
	s, _ := graph.NewSolver("adam", 1e-3)
	tr, err := Backend{}.NewTrainer(net, s)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	x, y := graph.RandomBatch(m, batch, 1)
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
	m, _ := graph.NewMLP(256, 1)
	benchStep(b, m)
}

func BenchmarkStepCNN(b *testing.B) {
	m, _ := graph.NewCNN(1)
	benchStep(b, m)
}
