package cpu

import (
	"testing"

	"graphtrain/internal/parallel"
	"graphtrain/lower"
	"graphtrain/lower/lowertest"
	"graphtrain/model"
)

// TestCustomModelsMatchVM: models from descriptions (lowertest.Custom) give the TapeMachine's
// loss, output and gradients within 1e-4 after one step on the CPU.
func TestCustomModelsMatchVM(t *testing.T) {
	for _, c := range lowertest.Custom(t) {
		m, what := c.M, c.M.Spec.Description
		x, y := lowertest.Batch(m, c.Batch, 7)
		loss, out, grads := lowertest.TapeReference(t, m, c.Batch, x, y)
		p, s := lowertest.Lower(t, m, c.Batch, c.Solver, c.LR, lower.CPU)
		tr, err := newTrainer(p, &model.Net{Model: m}, s, parallel.Default())
		if err != nil {
			t.Fatal(err)
		}
		ex := executorOf(tr)
		loadBatch(ex, x, y)
		ex.run()
		if e := lowertest.RelErr(read(ex, p.Loss), []float64{loss}); e > 1e-4 {
			t.Errorf("%s: loss %v, TapeMachine %v", what, read(ex, p.Loss), loss)
		}
		if e := lowertest.RelErr(read(ex, p.Out), out); e > 1e-4 {
			t.Errorf("%s: output off by %.2g relative", what, e)
		}
		for i, g := range p.Grads {
			if e := lowertest.RelErr(read(ex, g), grads[i]); e > 1e-4 {
				t.Errorf("%s: gradient of %s off by %.2g relative", what, m.Params[i].Name, e)
			}
		}
	}
}
