package lower_test

import (
	"testing"

	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower/lowertest"
)

// TestCustomModelsLower lowers each model from a description (lowertest.Custom) for every
// target, checks its buffer plan and runs a step on the reference interpreter against the
// TapeMachine.
func TestCustomModelsLower(t *testing.T) {
	for _, c := range lowertest.Custom(t) {
		m := c.M
		x, y := lowertest.Batch(m, c.Batch, 7)
		loss, out, grads := lowertest.TapeReference(t, m, c.Batch, x, y)
		for _, target := range targets {
			p, s := lowertest.Lower(t, m, c.Batch, c.Solver, c.LR, target)
			lowertest.CheckPlan(t, p)
			h := ref.New(p, m, s)
			if err := h.Step(x, y); err != nil {
				t.Fatal(err)
			}
			what := target.Name + " " + m.Spec.Description
			if e := lowertest.RelErr([]float64{h.Buf(p.Loss)[0]}, []float64{loss}); e > 1e-4 {
				t.Errorf("%s: loss %v, TapeMachine %v", what, h.Buf(p.Loss)[0], loss)
			}
			if e := lowertest.RelErr(h.Buf(p.Out), out); e > 1e-4 {
				t.Errorf("%s: output off by %.2g relative", what, e)
			}
			for i, g := range p.Grads {
				if e := lowertest.RelErr(h.Buf(g), grads[i]); e > 1e-4 {
					t.Errorf("%s: gradient of %s off by %.2g relative", what, m.Params[i].Name, e)
				}
			}
		}
	}
}
