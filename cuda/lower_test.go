package cuda

import (
	"testing"

	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
)

// lowerModel is lowertest.Lower for the CUDA target, checked against a device's limits as
// Lower checks it.
func lowerModel(t testing.TB, m *model.Model, batch int, solver string, lr float64) (*Program, *model.Solver) {
	t.Helper()
	p, s := lowertest.Lower(t, m, batch, solver, lr, lower.CUDA)
	if err := checkLimits(p); err != nil {
		t.Fatalf("%s: %v", m.Spec.Kind, err)
	}
	return p, s
}

// TestLowerPrograms lowers each model and compares the program (kernels, buffers, slots, in
// order) with testdata/program_<kind>.txt.
func TestLowerPrograms(t *testing.T) {
	for _, tm := range lowertest.Models(t) {
		p, _ := lowerModel(t, tm.M, tm.Batch, tm.Solver, tm.LR)
		t.Logf("%s: %d launches, kernels %v, %d buffers in %d slots, %d bytes", p.Kind, len(p.Launches), programKernels(p), len(p.Buffers), len(p.Slots), p.Bytes())
		lowertest.Golden(t, "program_"+p.Kind+".txt", p.Dump(describe))
		lowertest.CheckPlan(t, p)
	}
}

// TestLowerDeepMLP lowers a three-hidden-layer mlp and compares its program with
// testdata/program_mlp_deep.txt: one more dense layer is one more product, bias and ReLU
// forward and their gradients backward.
func TestLowerDeepMLP(t *testing.T) {
	m, err := model.NewDeepMLP([]int{24, 16, 12}, 3)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := lowerModel(t, m, 8, "adam", 1e-3)
	t.Logf("deep mlp: %d launches, kernels %v, %d buffers in %d slots, %d bytes", len(p.Launches), programKernels(p), len(p.Buffers), len(p.Slots), p.Bytes())
	lowertest.Golden(t, "program_mlp_deep.txt", p.Dump(describe))
	lowertest.CheckPlan(t, p)
}
