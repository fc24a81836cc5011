package cuda

import (
	"fmt"
	"testing"

	"graphtrain/ir/ref"
	"graphtrain/lower/lowertest"
)

// TestEmuCustomModels runs two steps of each model from a description (lowertest.Custom),
// each buffer in a slot of its own, on the emulator and on the host interpreter, launch by
// launch, as TestEmuKernelsMatchHost does for the built-in models.
func TestEmuCustomModels(t *testing.T) {
	worst := worstErrs{}
	for _, c := range lowertest.Custom(t) {
		base, s := lowerModel(t, c.M, c.Batch, c.Solver, c.LR)
		own := ownSlots(base)
		e := newEmuRun(t, own)
		h := ref.New(own, c.M, s)
		for step := 0; step < 2; step++ {
			x, y := lowertest.Batch(c.M, c.Batch, int64(3+step))
			copy(h.Buf(own.X), ref.ToF64(x))
			copy(h.Buf(own.Y), ref.ToF64(y))
			if err := e.loadFrom(h); err != nil {
				t.Fatal(err)
			}
			stepLaunches(t, fmt.Sprintf("%s step %d", c.M.Spec.Description, step), e, h, worst)
		}
		e.close()
	}
	worst.log(t)
}
