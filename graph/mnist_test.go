package graph

import (
	"testing"

	"gorgonia.org/tensor"
)

// float64Copy returns m with float64 parameters, for finite differences without float32 noise.
func float64Copy(m *Model) *Model {
	c, err := Float64Copy(m)
	if err != nil {
		panic(err)
	}
	return c
}

func TestMNISTGradientsMatchFiniteDifferences(t *testing.T) {
	mlp, _ := NewMLP(8, 3)
	cnn, _ := NewCNN(3)
	for _, m := range []*Model{mlp, cnn} {
		m64 := float64Copy(m)
		x, y := RandomBatch(m64, 2, 4)
		worst := checkGradients(t, m64, 2, x, y, 25)
		t.Logf("%s: worst relative gradient error %.3g (25 values of each of %d parameter tensors)", m.Spec.Kind, worst, len(m.Params))
		if worst > 1e-5 {
			t.Errorf("%s: worst relative gradient error %.3g > 1e-5", m.Spec.Kind, worst)
		}
	}
}

func paramCount(m *Model) int {
	n := 0
	for _, p := range m.Params {
		n += p.T.Shape().TotalSize()
	}
	return n
}

func TestMNISTModelShapes(t *testing.T) {
	mlp, _ := NewMLP(256, 1)
	cnn, _ := NewCNN(1)
	if n := paramCount(mlp); n != 784*256+256+256*10+10 {
		t.Errorf("mlp has %d parameters", n)
	}
	// LeNet-5 as in torch_mnist.py: 156 + 2416 + 48120 + 10164 + 850.
	if n := paramCount(cnn); n != 61706 {
		t.Errorf("cnn has %d parameters, want 61706", n)
	}
	for _, m := range []*Model{mlp, cnn} {
		net, err := m.Build(3, true)
		if err != nil {
			t.Fatal(err)
		}
		if !net.Out.Shape().Eq(tensor.Shape{3, 10}) || len(net.Grads) != len(m.Params) {
			t.Errorf("%s: out %v, %d gradients", m.Spec.Kind, net.Out.Shape(), len(net.Grads))
		}
	}
}

// benchmarkStep measures one training step (forward, backward, Adam update) at batch 128.
func benchmarkStep(b *testing.B, m *Model) {
	const batch = 128
	net, err := m.Build(batch, true)
	if err != nil {
		b.Fatal(err)
	}
	s, _ := NewSolver("adam", 1e-3)
	tr, err := VM{}.NewTrainer(net, s)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	x, y := RandomBatch(m, batch, 1)
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
	m, _ := NewMLP(256, 1)
	benchmarkStep(b, m)
}

func BenchmarkStepCNN(b *testing.B) {
	m, _ := NewCNN(1)
	benchmarkStep(b, m)
}
