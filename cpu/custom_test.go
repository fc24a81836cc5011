package cpu

import (
	"testing"

	"graphtrain/lower/lowertest"
)

// TestCustomModelsMatchVM: models from descriptions (lowertest.Custom) give the TapeMachine's
// loss, output and gradients within 1e-4 after one step on the CPU.
func TestCustomModelsMatchVM(t *testing.T) {
	for _, c := range lowertest.Custom(t) {
		checkStepMatchesVM(t, c.M.Spec.Description, c)
	}
}
