package cpu

import (
	"testing"

	"graphtrain/internal/parallel"
	"graphtrain/lower"
	"graphtrain/lower/lowertest"
	"graphtrain/model"
)

// TestCustomModelsMatchVM: models from descriptions, with the layers the built-in models do
// not have (tanh, leakyrelu, pad=same, a stride, several channels in and a vector input),
// give the TapeMachine's loss, output and gradients within 1e-4 after one step on the CPU.
func TestCustomModelsMatchVM(t *testing.T) {
	for _, c := range []struct {
		text string
		in   model.Shape
	}{
		{"conv(4,3,pad=same) leakyrelu(0.1) maxpool(2) dense(16) tanh dense(3)", model.Shape{C: 1, H: 12, W: 12}},
		{"conv(5,3,stride=2) tanh conv(6,2) relu dense(7)", model.Shape{C: 2, H: 11, W: 9}},
		{"dense(9) leakyrelu(0.2) dense(8) tanh dense(4)", model.Shape{C: 13}},
	} {
		m, err := model.NewCustom(c.text, c.in, 3)
		if err != nil {
			t.Fatalf("%s: %v", c.text, err)
		}
		const batch = 5
		x, y := lowertest.Batch(m, batch, 7)
		loss, out, grads := lowertest.TapeReference(t, m, batch, x, y)
		p, s := lowertest.Lower(t, m, batch, "adam", 1e-3, lower.CPU)
		tr, err := newTrainer(p, &model.Net{Model: m}, s, parallel.Default())
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.load(p.X, x); err != nil {
			t.Fatal(err)
		}
		if err := tr.load(p.Y, y); err != nil {
			t.Fatal(err)
		}
		tr.e.run()
		if e := lowertest.RelErr(read(tr.e, p.Loss), []float64{loss}); e > 1e-4 {
			t.Errorf("%s: loss %v, TapeMachine %v", c.text, read(tr.e, p.Loss), loss)
		}
		if e := lowertest.RelErr(read(tr.e, p.Out), out); e > 1e-4 {
			t.Errorf("%s: output off by %.2g relative", c.text, e)
		}
		for i, g := range p.Grads {
			if e := lowertest.RelErr(read(tr.e, g), grads[i]); e > 1e-4 {
				t.Errorf("%s: gradient of %s off by %.2g relative", c.text, m.Params[i].Name, e)
			}
		}
	}
}
