package cpu

import (
	"testing"

	"github.com/graphtrain/graphtrain/lower/lowertest"
)

// TestPredictorMatchesVM: for each model, the CPU's predictor (a forward-only program, its
// parameters uploaded once) gives the TapeMachine's outputs and predictions.
func TestPredictorMatchesVM(t *testing.T) {
	lowertest.CheckPredictorMatchesVM(t, Backend{})
}

// TestPredictorReadsParamsOnce: a predictor runs with the parameters as they were when it
// was made; a closed one says so, and an input of the wrong shape is ErrShape.
func TestPredictorReadsParamsOnce(t *testing.T) {
	lowertest.CheckPredictorReadsParamsOnce(t, Backend{})
}
