package lowertest

import (
	"errors"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"graphtrain/backend"
	"graphtrain/ir/ref"
	"graphtrain/model"
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
