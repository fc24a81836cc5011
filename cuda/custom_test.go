package cuda

import (
	"testing"

	"github.com/graphtrain/graphtrain/lower/lowertest"
)

// TestEmuCustomModels runs two steps of each model from a description (lowertest.Custom),
// each buffer in a slot of its own, on the emulator and on the host interpreter, launch by
// launch, as TestEmuKernelsMatchHost does for the built-in models.
func TestEmuCustomModels(t *testing.T) {
	worst := worstErrs{}
	for _, c := range lowertest.Custom(t) {
		emuSteps(t, c.M.Spec.Description, c, worst)
	}
	worst.log(t)
}
