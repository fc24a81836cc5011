package cpu

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// TestLabelSmoothingByHand: an mlp with every parameter 0 gives uniform softmax outputs, 0.1
// each, so with the smoothed targets of labels 3 and 7 (ε 0.1: 0.91 at the label, 0.01
// elsewhere) the loss is ln 10 and the gradient of the last bias is 0.1 − the targets' mean:
// −0.36 at 3 and 7, 0.09 elsewhere. One SGD step at rate 1 makes the bias its negative, on
// the CPU backend and on Gorgonia's TapeMachine alike.
func TestLabelSmoothingByHand(t *testing.T) {
	set := &datasets.Set{N: 2, Rows: 28, Cols: 28, Images: make([]float32, 2*784), Labels: []uint8{3, 7}, Classes: 10}
	for i := range set.Images {
		set.Images[i] = float32(i%7) / 7
	}
	b := datasets.NewBatches(set, 2, 1, false)
	b.Smoothing = 0.1
	if !b.Next() {
		t.Fatal("no batch")
	}
	for _, be := range []backend.Backend{Backend{}, vm.VM{}} {
		m, err := model.NewMLP(8, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params {
			clear(p.T.Float32s())
		}
		net, err := m.Build(2, true)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := model.NewSolver("sgd", 1)
		tr, err := be.NewTrainer(net, s)
		if err != nil {
			t.Fatal(err)
		}
		x := tensor.New(tensor.WithShape(2, 784), tensor.WithBacking(append([]float32(nil), b.X...)))
		y := tensor.New(tensor.WithShape(2, 10), tensor.WithBacking(append([]float32(nil), b.Y...)))
		if err := tr.Step(x, y); err != nil {
			t.Fatal(err)
		}
		loss, _ := tr.Loss()
		if math.Abs(loss-math.Log(10)) > 1e-6 {
			t.Errorf("%s: loss %v, by hand ln 10 = %v", be.Name(), loss, math.Log(10))
		}
		if err := tr.Sync(); err != nil {
			t.Fatal(err)
		}
		for j, v := range m.Param("bias1").T.Float32s() {
			want := -0.09
			if j == 3 || j == 7 {
				want = 0.36
			}
			if math.Abs(float64(v)-want) > 1e-6 {
				t.Errorf("%s: bias1[%d] = %v after the step, by hand %v", be.Name(), j, v, want)
			}
		}
		tr.Close()
	}
}
