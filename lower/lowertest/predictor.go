package lowertest

import (
	"errors"
	"math/rand"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/train"
	"github.com/graphtrain/graphtrain/vm"
)

// CheckPredictorReadsParamsOnce checks a compiled backend's predictor: it runs with the
// parameters as they were when it was made, refuses an input of the wrong shape (ErrShape),
// and says it is closed once closed (a second Close is no error).
func CheckPredictorReadsParamsOnce(t *testing.T, b backend.Backend) {
	t.Helper()
	m := Model(t, "mlp")
	p, err := backend.NewPredictor(b, m, 8)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := Batch(m, 8, 2)
	out, err := p.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	before := ref.ToF64(out)
	w := m.Params[0].T.Float32s()
	for i := range w {
		w[i] *= 2
	}
	if out, err = p.Forward(x); err != nil {
		t.Fatal(err)
	}
	if e := RelErr(ref.ToF64(out), before); e != 0 {
		t.Errorf("the outputs changed with the model's parameters after the predictor was made (%.2g)", e)
	}
	if _, err := p.Forward(tensor.New(tensor.WithShape(4, m.Spec.Inputs), tensor.WithBacking(make([]float32, 4*m.Spec.Inputs)))); !errors.Is(err, model.ErrShape) {
		t.Errorf("a batch of 4 for a predictor of 8: %v, want ErrShape", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Forward(x); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Forward after Close: %v, want an error saying the predictor is closed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// CheckPredictorMatchesVM checks a compiled backend's predictor against the TapeMachine's
// for each of Models and Custom (running statistics of their own): outputs within 1e-4 relative over 300 random examples, 64 at a time
// (the last batch partial; xor all at once, in float64), and the same predictions.
func CheckPredictorMatchesVM(t *testing.T, b backend.Backend) {
	t.Helper()
	for i, tm := range append(Models(t), Custom(t)...) {
		m, kind := tm.M, tm.M.Spec.Kind
		if kind == "custom" {
			kind = m.Spec.Description
		}
		SetRunning(m, int64(i))
		xt, _ := model.RandomBatch(m, 300, int64(17+i))
		if m.Spec.Dtype != "float32" { // xor: inputs anywhere in the unit square, all at once
			r := rand.New(rand.NewSource(int64(17 + i)))
			x := make([]float64, 300*m.Spec.Inputs)
			for k := range x {
				x[k] = r.Float64()
			}
			want, err := train.Outputs(vm.VM{}, m, x)
			if err != nil {
				t.Fatal(err)
			}
			got, err := train.Outputs(b, m, x)
			if err != nil {
				t.Fatal(err)
			}
			if e := RelErr(got, want); !(e <= 1e-4) {
				t.Errorf("%s: outputs off by %.2g relative", kind, e)
			}
			continue
		}
		images := xt.Data().([]float32)
		logits := func(b backend.Backend) []float64 {
			var out []float64
			if err := train.Logits(b, m, images, 64, func(l []float32) { out = append(out, ref.ToF64(tensor.New(tensor.WithBacking(l)))...) }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		want, got := logits(vm.VM{}), logits(b)
		if e := RelErr(got, want); !(e <= 1e-4) {
			t.Errorf("%s: logits off by %.2g relative (%d values, vm %d)", kind, e, len(got), len(want))
		}
		pv, err := train.PredictOn(vm.VM{}, m, images, 64)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := train.PredictOn(b, m, images, 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(pb) != 300 || len(pv) != 300 {
			t.Fatalf("%s: %d predictions on %s, %d on vm, want 300", kind, len(pb), b.Name(), len(pv))
		}
		for i := range pv {
			if pb[i] != pv[i] {
				t.Errorf("%s: example %d predicted %d on %s, %d on vm", kind, i, pb[i], b.Name(), pv[i])
			}
		}
	}
}
