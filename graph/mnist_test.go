package graph

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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
	deep, _ := NewDeepMLP([]int{8, 6, 5}, 3)
	for _, m := range []*Model{mlp, cnn, deep} {
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

// TestOneLayerMLPUnchanged: an mlp with one hidden layer is drawn, named and saved as
// before deeper mlps existed: the same parameters in the same order, the same draws, and a
// model.json with no "layers".
func TestOneLayerMLPUnchanged(t *testing.T) {
	const h, seed = 12, 5
	// The construction of the one-layer mlp before deeper ones, verbatim.
	r := rand.New(rand.NewSource(seed))
	old := []*Param{
		uniformParam(r, "weights0", ImageSize, ImageSize, h),
		uniformParam(r, "bias0", ImageSize, 1, h),
		uniformParam(r, "weights1", h, h, Classes),
		uniformParam(r, "bias1", h, 1, Classes),
	}
	for _, m := range []func() (*Model, error){
		func() (*Model, error) { return NewMLP(h, seed) },
		func() (*Model, error) { return NewDeepMLP([]int{h}, seed) },
	} {
		m, err := m()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Params) != len(old) || m.Spec.Layers != nil || m.Spec.Hidden != h {
			t.Fatalf("spec %+v, %d parameters", m.Spec, len(m.Params))
		}
		for i, p := range m.Params {
			if p.Name != old[i].Name || !reflect.DeepEqual(p.T.Data(), old[i].T.Data()) || !p.T.Shape().Eq(old[i].T.Shape()) {
				t.Errorf("parameter %d: %s %v differs from the one-layer mlp's %s %v", i, p.Name, p.T.Shape(), old[i].Name, old[i].T.Shape())
			}
		}
		dir := filepath.Join(t.TempDir(), "ck")
		if err := SaveCheckpoint(dir, m, nil, Checkpoint{}); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(filepath.Join(dir, "model.json"))
		if strings.Contains(string(raw), "layers") {
			t.Errorf("a one-layer mlp's model.json names layers:\n%s", raw)
		}
	}
}

// TestDeepMLP: 784-H0-H1-H2-10 has its layers' parameters, drawn like PyTorch's layers,
// builds, saves with its layers and loads back the same.
func TestDeepMLP(t *testing.T) {
	m, err := NewDeepMLP([]int{20, 7, 3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Spec.LayerSizes(); got != "784-20-7-3-10" {
		t.Errorf("layer sizes %s", got)
	}
	want := []struct {
		name  string
		shape []int
	}{{"weights0", []int{784, 20}}, {"bias0", []int{1, 20}}, {"weights1", []int{20, 7}}, {"bias1", []int{1, 7}},
		{"weights2", []int{7, 3}}, {"bias2", []int{1, 3}}, {"weights3", []int{3, 10}}, {"bias3", []int{1, 10}}}
	if len(m.Params) != len(want) {
		t.Fatalf("%d parameters", len(m.Params))
	}
	for i, p := range m.Params {
		if p.Name != want[i].name || !sameShape(p.T.Shape(), want[i].shape) {
			t.Errorf("parameter %d: %s %v, want %s %v", i, p.Name, p.T.Shape(), want[i].name, want[i].shape)
		}
		bound := 1 / math.Sqrt(float64(want[i&^1].shape[0]))
		for _, v := range p.T.Data().([]float32) {
			if math.Abs(float64(v)) > bound {
				t.Fatalf("%s: %v beyond ±%v", p.Name, v, bound)
			}
		}
	}
	net, err := m.Build(3, true)
	if err != nil {
		t.Fatal(err)
	}
	if !net.Out.Shape().Eq(tensor.Shape{3, 10}) || len(net.Grads) != len(m.Params) {
		t.Errorf("out %v, %d gradients", net.Out.Shape(), len(net.Grads))
	}
	dir := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir, m, nil, Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	m2, _, ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !m2.Spec.Equal(m.Spec) || !reflect.DeepEqual(ck.Model.Layers, []int{20, 7, 3}) {
		t.Errorf("loaded %v, saved %v", m2.Spec, m.Spec)
	}
	for i, p := range m2.Params {
		if !reflect.DeepEqual(p.T.Data(), m.Params[i].T.Data()) {
			t.Errorf("%s differs after a save and a load", p.Name)
		}
	}
	one, _ := MLPSpec([]int{512})
	two, _ := MLPSpec([]int{512, 256})
	b1, err1 := one.TrainBytes(128, 2)
	b2, err2 := two.TrainBytes(128, 2)
	p1, _ := one.ParamBytes()
	p2, _ := two.ParamBytes()
	if err1 != nil || err2 != nil || p2-p1 != 4*(512*256+256+256*10-512*10) || b2-b1 < 5*(p2-p1)+128*2*6*256*4 {
		t.Errorf("the memory estimate misses the second layer: %d bytes for 512, %d for 512,256 (%v %v)", b1, b2, err1, err2)
	}
	for _, bad := range []Spec{
		{Kind: "mlp", Inputs: 784, Hidden: 20, Layers: []int{20}, Outputs: 10, Bias: true, Activation: "relu", Dtype: "float32"},
		{Kind: "mlp", Inputs: 784, Hidden: 21, Layers: []int{20, 7}, Outputs: 10, Bias: true, Activation: "relu", Dtype: "float32"},
		{Kind: "mlp", Inputs: 784, Hidden: 20, Layers: []int{20, 0}, Outputs: 10, Bias: true, Activation: "relu", Dtype: "float32"},
		{Kind: "mlp", Inputs: 784, Hidden: 1, Layers: make([]int, MaxLayers+1), Outputs: 10, Bias: true, Activation: "relu", Dtype: "float32"},
	} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v passes Check", bad)
		}
	}
}
