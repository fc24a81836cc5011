package cuda

import (
	"testing"

	"graphtrain/graph"
	"graphtrain/graph/program"
	"graphtrain/graph/program/programtest"
)

// lowerModel is programtest.Lower for the CUDA target, checked against a device's limits as
// Lower checks it.
func lowerModel(t testing.TB, m *graph.Model, batch int, solver string, lr float64) (*Program, *graph.Solver) {
	t.Helper()
	p, s := programtest.Lower(t, m, batch, solver, lr, program.CUDA)
	if err := checkLimits(p); err != nil {
		t.Fatalf("%s: %v", m.Spec.Kind, err)
	}
	return p, s
}

// TestLowerPrograms lowers each model and compares the program (kernels, buffers, slots, in
// order) with testdata/program_<kind>.txt.
func TestLowerPrograms(t *testing.T) {
	for _, tm := range programtest.Models(t) {
		p, _ := lowerModel(t, tm.M, tm.Batch, tm.Solver, tm.LR)
		t.Logf("%s: %d launches, kernels %v, %d buffers in %d slots, %d bytes", p.Kind, len(p.Launches), programKernels(p), len(p.Buffers), len(p.Slots), p.Bytes())
		programtest.Golden(t, "program_"+p.Kind+".txt", p.Dump(describe))
		programtest.CheckPlan(t, p)
	}
}

// TestLowerDeepMLP lowers a three-hidden-layer mlp and compares its program with
// testdata/program_mlp_deep.txt: one more dense layer is one more product, bias and ReLU
// forward and their gradients backward.
func TestLowerDeepMLP(t *testing.T) {
	m, err := graph.NewDeepMLP([]int{24, 16, 12}, 3)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := lowerModel(t, m, 8, "adam", 1e-3)
	t.Logf("deep mlp: %d launches, kernels %v, %d buffers in %d slots, %d bytes", len(p.Launches), programKernels(p), len(p.Buffers), len(p.Slots), p.Bytes())
	programtest.Golden(t, "program_mlp_deep.txt", p.Dump(describe))
	programtest.CheckPlan(t, p)
}
