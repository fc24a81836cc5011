package model_test

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/model"
)

func paramCount(m *model.Model) int {
	n := 0
	for _, p := range m.Params {
		n += p.T.Shape().TotalSize()
	}
	return n
}

func TestMNISTModelShapes(t *testing.T) {
	mlp, _ := model.NewMLP(256, 1)
	cnn, _ := model.NewCNN(1)
	if n := paramCount(mlp); n != 784*256+256+256*10+10 {
		t.Errorf("mlp has %d parameters", n)
	}
	// LeNet-5 as in torch_mnist.py: 156 + 2416 + 48120 + 10164 + 850.
	if n := paramCount(cnn); n != 61706 {
		t.Errorf("cnn has %d parameters, want 61706", n)
	}
	for _, m := range []*model.Model{mlp, cnn} {
		net, err := m.Build(3, true)
		if err != nil {
			t.Fatal(err)
		}
		if !net.Out.Shape().Eq(tensor.Shape{3, 10}) || len(net.Grads) != len(m.Params) {
			t.Errorf("%s: out %v, %d gradients", m.Spec.Kind, net.Out.Shape(), len(net.Grads))
		}
	}
}

// TestOneLayerMLPUnchanged: an mlp with one hidden layer is drawn, named and saved as
// before deeper mlps existed: the same parameters in the same order, the same draws, and a
// model.json with no "layers".
func TestOneLayerMLPUnchanged(t *testing.T) {
	const h, seed = 12, 5
	// The construction of the one-layer mlp before deeper ones, verbatim.
	r := rand.New(rand.NewSource(seed))
	old := []*model.Param{
		model.UniformParam(r, "weights0", model.ImageSize, model.ImageSize, h),
		model.UniformParam(r, "bias0", model.ImageSize, 1, h),
		model.UniformParam(r, "weights1", h, h, model.Classes),
		model.UniformParam(r, "bias1", h, 1, model.Classes),
	}
	for _, m := range []func() (*model.Model, error){
		func() (*model.Model, error) { return model.NewMLP(h, seed) },
		func() (*model.Model, error) { return model.NewDeepMLP([]int{h}, seed) },
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
		if err := checkpoint.SaveCheckpoint(dir, m, nil, checkpoint.Checkpoint{}); err != nil {
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
	m, err := model.NewDeepMLP([]int{20, 7, 3}, 2)
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
		if p.Name != want[i].name || !slices.Equal(p.T.Shape(), want[i].shape) {
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
	if err := checkpoint.SaveCheckpoint(dir, m, nil, checkpoint.Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	m2, _, ck, err := checkpoint.LoadCheckpoint(dir)
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
	one, _ := model.MLPSpec([]int{512})
	two, _ := model.MLPSpec([]int{512, 256})
	b1, err1 := one.TrainBytes(128, 2)
	b2, err2 := two.TrainBytes(128, 2)
	p1, _ := one.ParamBytes()
	p2, _ := two.ParamBytes()
	if err1 != nil || err2 != nil || p2-p1 != 4*(512*256+256+256*10-512*10) || b2-b1 < 5*(p2-p1)+128*2*6*256*4 {
		t.Errorf("the memory estimate misses the second layer: %d bytes for 512, %d for 512,256 (%v %v)", b1, b2, err1, err2)
	}
	for _, bad := range []model.Spec{
		{Kind: "mlp", Inputs: 784, Hidden: 20, Layers: []int{20}, Outputs: 10, Bias: true, Activation: "relu", Dtype: "float32"},
		{Kind: "mlp", Inputs: 784, Hidden: 21, Layers: []int{20, 7}, Outputs: 10, Bias: true, Activation: "relu", Dtype: "float32"},
		{Kind: "mlp", Inputs: 784, Hidden: 20, Layers: []int{20, 0}, Outputs: 10, Bias: true, Activation: "relu", Dtype: "float32"},
		{Kind: "mlp", Inputs: 784, Hidden: 1, Layers: make([]int, model.MaxLayers+1), Outputs: 10, Bias: true, Activation: "relu", Dtype: "float32"},
	} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v passes Check", bad)
		}
	}
}
