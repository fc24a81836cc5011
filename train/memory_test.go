package train

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/model"
)

func TestMemoryEstimates(t *testing.T) {
	spec, err := model.MLPSpec([]int{256})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := spec.TrainBytes(128, 2)
	all, err := TrainMemory(spec, 128, "adam", 60000, 10000)
	if err != nil || all != base+(2*60000+10000)*784*4 {
		t.Errorf("TrainMemory: %d (%v), want the model's %d and the images'", all, err, base)
	}
	few, _ := TrainMemory(spec, 128, "adam", 1000, 10000)
	sgd, _ := TrainMemory(spec, 128, "sgd", 60000, 10000)
	if few >= all || sgd >= all {
		t.Errorf("fewer images (%d) or a solver without state (%d) need no less than %d", few, sgd, all)
	}
	if SolverSlots("adam") != 2 || SolverSlots("momentum") != 1 || SolverSlots("sgd") != 0 {
		t.Errorf("solver slots: adam %d, momentum %d, sgd %d", SolverSlots("adam"), SolverSlots("momentum"), SolverSlots("sgd"))
	}
	bench, err := BenchMemory(spec, 128, 1)
	if err != nil || bench != base+(BenchBatches+BenchSetBatches)*128*(784+10)*4 {
		t.Errorf("BenchMemory: %d (%v)", bench, err)
	}
	if three, err := BenchMemory(spec, 128, 3); err != nil || three != bench+2*base {
		t.Errorf("BenchMemory of 3 trainers at once: %d (%v), want %d", three, err, bench+2*base)
	}
	xor, _ := model.SpecFor("xor", 4, false)
	if n, err := XORMemory(xor); err != nil || n <= 0 || n > 1<<20 {
		t.Errorf("XORMemory: %d (%v)", n, err)
	}
	if _, err := TrainMemory(model.Spec{Kind: "mlp"}, 128, "adam", 1, 1); err == nil {
		t.Error("TrainMemory takes a spec that does not check")
	}
}

func TestCheckMemory(t *testing.T) {
	if err := CheckMemory(1); err != nil {
		t.Errorf("one byte: %v", err)
	}
	err := CheckMemory(math.MaxInt64)
	var me *MemoryError
	if err == nil {
		t.Skip("the system does not say how much memory it has")
	}
	if !errors.As(err, &me) || me.Need != math.MaxInt64 || me.Available <= 0 || !strings.Contains(err.Error(), "this job needs about") {
		t.Errorf("CheckMemory(MaxInt64): %v", err)
	}
}
