package cpu

import (
	"math/rand"
	"testing"

	"gorgonia.org/tensor"

	"graphtrain/backend"
	"graphtrain/ir/ref"
	"graphtrain/lower/lowertest"
	"graphtrain/model"
	"graphtrain/train"
	"graphtrain/vm"
)

// randomInputs is n random examples for m: pixels in [0, 1), or XOR's inputs anywhere in
// the unit square.
func randomInputs(m *model.Model, n int, seed int64) []float64 {
	r := rand.New(rand.NewSource(seed))
	x := make([]float64, n*m.Spec.Inputs)
	for i := range x {
		x[i] = r.Float64()
	}
	return x
}

// TestPredictorMatchesVM: for each model, the CPU's predictor (a forward-only program, its
// parameters uploaded once) gives the TapeMachine's outputs within 1e-4 relative over 300
// random examples, 64 at a time (the last batch partial), and the same predictions.
func TestPredictorMatchesVM(t *testing.T) {
	for _, tm := range lowertest.Models(t) {
		m, kind := tm.M, tm.M.Spec.Kind
		x := randomInputs(m, 300, 17)
		if m.Spec.Dtype != "float32" { // xor: all 300 at once, in float64
			want, err := train.Outputs(vm.VM{}, m, x)
			if err != nil {
				t.Fatal(err)
			}
			got, err := train.Outputs(Backend{}, m, x)
			if err != nil {
				t.Fatal(err)
			}
			if e := lowertest.RelErr(got, want); !(e <= 1e-4) {
				t.Errorf("%s: outputs off by %.2g relative", kind, e)
			}
			continue
		}
		images := make([]float32, len(x))
		for i, v := range x {
			images[i] = float32(v)
		}
		logits := func(b backend.Backend) []float64 {
			var out []float64
			if err := train.Logits(b, m, images, 64, func(l []float32) { out = append(out, ref.ToF64(tensor.New(tensor.WithBacking(l)))...) }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		want, got := logits(vm.VM{}), logits(Backend{})
		if e := lowertest.RelErr(got, want); !(e <= 1e-4) {
			t.Errorf("%s: logits off by %.2g relative (%d values, vm %d)", kind, e, len(got), len(want))
		}
		pv, err := train.PredictOn(vm.VM{}, m, images, 64)
		if err != nil {
			t.Fatal(err)
		}
		pc, err := train.PredictOn(Backend{}, m, images, 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(pc) != 300 || len(pv) != 300 {
			t.Fatalf("%s: %d predictions on cpu, %d on vm, want 300", kind, len(pc), len(pv))
		}
		for i := range pv {
			if pc[i] != pv[i] {
				t.Errorf("%s: example %d predicted %d on cpu, %d on vm", kind, i, pc[i], pv[i])
			}
		}
	}
}

// TestPredictorReadsParamsOnce: a predictor runs with the parameters as they were when it
// was made; a closed one says so, and an input of the wrong shape is ErrShape.
func TestPredictorReadsParamsOnce(t *testing.T) {
	lowertest.CheckPredictorReadsParamsOnce(t, Backend{})
}
