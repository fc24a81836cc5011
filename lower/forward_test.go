package lower_test

import (
	"math"
	"testing"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower/lowertest"
)

// TestForwardProgram: the forward program of each model keeps only forward launches (no
// backward kernel, no update, no loss sum), and run on the host over the training program's
// slots, with every temporary and the targets filled with NaN first (what a training step
// leaves there is not to be trusted), it gives the TapeMachine's output for a new batch and
// leaves the parameters as they were.
func TestForwardProgram(t *testing.T) {
	for _, target := range targets {
		for _, tm := range lowertest.Models(t) {
			m := tm.M
			kind := m.Spec.Kind
			p, s := lowertest.Lower(t, m, tm.Batch, tm.Solver, tm.LR, target)
			f := p.Forward()
			if len(f.Launches) == 0 || len(f.Launches) >= len(p.Launches) {
				t.Fatalf("%s: forward program of %d launches, the training program %d", kind, len(f.Launches), len(p.Launches))
			}
			for _, l := range f.Launches {
				if l.Role != ir.Forward || l.Op == ir.SoftmaxBack || l.Op == ir.MaxPoolBack || l.Op == ir.Col2im || l.Op.IsUpdate() || l.Node < 0 {
					t.Errorf("%s: the forward program launches %s (%s)", kind, l.Op, l.What)
				}
			}
			t.Logf("%s: %d of %d launches: %v", kind, len(f.Launches), len(p.Launches), f.Ops())
			// What a step leaves to be read after validation lives in slots no forward launch
			// writes: the loss, the loss sum, the parameters, the solver state, the step counter.
			keep := map[int]string{p.Buffers[p.Loss].Slot: "the loss", p.Buffers[p.LossSum].Slot: "the loss sum"}
			for _, b := range p.Buffers {
				if b.Kind == ir.Param || b.Kind == ir.State || b.Kind == ir.Step {
					keep[b.Slot] = b.Name
				}
			}
			for _, l := range f.Launches {
				if what, ok := keep[f.Buffers[l.Args[len(l.Args)-1]].Slot]; ok {
					t.Errorf("%s: forward launch %s writes the slot of %s", kind, l.Op, what)
				}
			}

			h := ref.New(f, m, s)
			for i, b := range f.Buffers {
				if b.Kind == ir.Temp || i == f.Y {
					for j := range h.Buf(i) {
						h.Buf(i)[j] = math.NaN()
					}
				}
			}
			x, y := lowertest.Batch(m, tm.Batch, 31)
			_, want, _ := lowertest.TapeReference(t, m, tm.Batch, x, y)
			copy(h.Buf(f.X), ref.ToF64(x))
			if err := h.Run(); err != nil {
				t.Fatal(err)
			}
			if e := lowertest.RelErr(h.Buf(f.Out), want); !(e <= 1e-4) {
				t.Errorf("%s: forward program's output off by %.2g relative", kind, e)
			}
			for i, b := range f.Params {
				if e := lowertest.RelErr(h.Buf(b), ref.ToF64(m.Params[i].T)); e != 0 {
					t.Errorf("%s: the forward program changed %s", kind, m.Params[i].Name)
				}
			}
		}
	}
}
