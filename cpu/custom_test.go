package cpu

import (
	"math"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// TestCustomModelsMatchVM: models from descriptions (lowertest.Custom) give the TapeMachine's
// loss, output and gradients within 1e-4 after one step on the CPU.
func TestCustomModelsMatchVM(t *testing.T) {
	for _, c := range lowertest.Custom(t) {
		checkStepMatchesVM(t, c.M.Spec.Description, c)
	}
}

// TestLayersTrainLikeVM: three steps of a model with dropout, batch normalisation and
// average pooling leave the TapeMachine's parameters and running statistics within 1e-4 on
// the CPU: the masks advance with the step counter alike on both.
func TestLayersTrainLikeVM(t *testing.T) {
	m, err := model.NewCustom("conv(3,3) batchnorm relu avgpool(2) dense(12) batchnorm relu dropout(0.5) dense(4)", model.Shape{C: 1, H: 9, W: 9}, 5)
	if err != nil {
		t.Fatal(err)
	}
	mv, mc := cloneModel(m), cloneModel(m)
	for _, side := range []struct {
		m *model.Model
		b backend.Backend
	}{{mv, vm.VM{}}, {mc, Backend{}}} {
		net, err := side.m.Build(6, true)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := model.NewSolver("sgd", 0.1)
		tr, err := side.b.NewTrainer(net, s)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			x, y := lowertest.Batch(side.m, 6, int64(i))
			if err := tr.Step(x, y); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.Sync(); err != nil {
			t.Fatal(err)
		}
		tr.Close()
	}
	for i, p := range mv.Params {
		if e := lowertest.RelErr(ref.ToF64(mc.Params[i].T), ref.ToF64(p.T)); e > 1e-4 {
			t.Errorf("%s off by %.2g relative after 3 steps", p.Name, e)
		}
	}
}

// cloneModel copies m's parameters.
func cloneModel(m *model.Model) *model.Model {
	c := &model.Model{Spec: m.Spec}
	for _, p := range m.Params {
		c.Params = append(c.Params, &model.Param{Name: p.Name, T: p.T.Clone().(*tensor.Dense), Running: p.Running})
	}
	return c
}

// TestDropoutMaskOnAnyPool: the dropout kernel draws the same mask on 1, 2 and 3 workers,
// keeps about 1 − rate of the values, each scaled by 1/(1 − rate) exactly, and draws a
// different mask at the next step.
func TestDropoutMaskOnAnyPool(t *testing.T) {
	const n = 100003
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%7) + 1
	}
	p := ir.DropoutParams{N: n, Layer: 2, Seed: 42, Threshold: ir.DropoutThreshold(0.3)}
	scale := float32(1 / (1 - 0.3))
	run := func(workers int, step float64) []float32 {
		pool := parallel.New(workers)
		defer pool.Close()
		y := make([]float32, n)
		dropout(pool, x, []float64{step}, y, p, scale)()
		return y
	}
	y1 := run(1, 5)
	for _, w := range []int{2, 3} {
		if !slices.Equal(run(w, 5), y1) {
			t.Errorf("%d workers draw another mask than 1", w)
		}
	}
	kept := 0
	for i, v := range y1 {
		if v != 0 {
			kept++
			if v != x[i]*scale {
				t.Fatalf("element %d: %v, want %v·%v", i, v, x[i], scale)
			}
		}
	}
	if f := float64(kept) / n; math.Abs(f-0.7) > 0.01 {
		t.Errorf("kept %.4f of the values, want about 0.7", f)
	}
	if slices.Equal(run(2, 6), y1) {
		t.Errorf("step 6 draws step 5's mask")
	}
}

// TestLayersStepAllocatesNothing: a step of a model with dropout, batch normalisation and
// average pooling allocates nothing on the CPU either.
func TestLayersStepAllocatesNothing(t *testing.T) {
	m, err := model.NewCustom("conv(4,3,pad=1) batchnorm relu avgpool(2) dense(16) relu dropout(0.5) dense(10)", model.Shape{C: 1, H: 12, W: 12}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tr := adamTrainer(t, m, 16)
	x, y := lowertest.Batch(m, 16, 1)
	if n := testing.AllocsPerRun(5, func() {
		if err := tr.Step(x, y); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations a step", n)
	}
}

// TestLayersOffAtEvaluation: at evaluation dropout drops nothing and batch normalisation uses
// the running statistics, in the cpu predictor and in the trainer's validation pass alike:
// both give the TapeMachine's evaluation graph's outputs.
func TestLayersOffAtEvaluation(t *testing.T) {
	m, err := model.NewCustom("conv(4,3) batchnorm relu avgpool(2) dense(12) batchnorm relu dropout(0.5) dense(4)", model.Shape{C: 2, H: 9, W: 9}, 3)
	if err != nil {
		t.Fatal(err)
	}
	lowertest.SetRunning(m, 1)
	checkOffAtEvaluation(t, m)
}
