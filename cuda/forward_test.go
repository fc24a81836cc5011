package cuda

import (
	"math"
	"strings"
	"testing"
)

// TestForwardProgram: the forward program of each model keeps only forward launches (no
// backward kernel, no update, no loss sum), and run on the host over the training program's
// slots, with every temporary and the targets filled with NaN first (what a training step
// leaves there is not to be trusted), it gives the TapeMachine's output for a new batch and
// leaves the parameters as they were.
func TestForwardProgram(t *testing.T) {
	for _, tm := range testModels(t) {
		m := tm.m
		kind := m.Spec.Kind
		p, s := lowerModel(t, m, tm.batch, tm.solver, tm.lr)
		f := p.Forward()
		if len(f.Launches) == 0 || len(f.Launches) >= len(p.Launches) {
			t.Fatalf("%s: forward program of %d launches, the training program %d", kind, len(f.Launches), len(p.Launches))
		}
		for _, l := range f.Launches {
			if strings.Contains(l.Kernel, "_back") || strings.HasPrefix(l.Kernel, "col2im") || strings.HasPrefix(l.Op, "update") || l.Node < 0 {
				t.Errorf("%s: the forward program launches %s (%s)", kind, l.Kernel, l.Op)
			}
		}
		t.Logf("%s: %d of %d launches: %v", kind, len(f.Launches), len(p.Launches), f.Kernels())
		// What a step leaves to be read after validation lives in slots no forward launch
		// writes: the loss, the loss sum, the parameters, the solver state, the step counter.
		keep := map[int]string{p.Buffers[p.Loss].Slot: "the loss", p.Buffers[p.LossSum].Slot: "the loss sum"}
		for _, b := range p.Buffers {
			if b.Kind == Param || b.Kind == State || b.Kind == Step {
				keep[b.Slot] = b.Name
			}
		}
		for _, l := range f.Launches {
			if what, ok := keep[f.Buffers[l.Args[len(l.Args)-1]].Slot]; ok {
				t.Errorf("%s: forward launch %s writes the slot of %s", kind, l.Kernel, what)
			}
		}

		h := newHostRun(f, m, s)
		for i, b := range f.Buffers {
			if b.Kind == Temp || i == f.Y {
				for j := range h.buf(i) {
					h.buf(i)[j] = math.NaN()
				}
			}
		}
		x, y := batchFor(m, tm.batch, 31)
		_, want, _ := tapeReference(t, m, tm.batch, x, y)
		copy(h.buf(f.X), toF64(x))
		if err := h.run(); err != nil {
			t.Fatal(err)
		}
		if e := relErr(h.buf(f.Out), want); !(e <= 1e-4) {
			t.Errorf("%s: forward program's output off by %.2g relative", kind, e)
		}
		for i, b := range f.Params {
			if e := relErr(h.buf(b), toF64(m.Params[i].T)); e != 0 {
				t.Errorf("%s: the forward program changed %s", kind, m.Params[i].Name)
			}
		}
	}
}
