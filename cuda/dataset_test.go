package cuda

import (
	"math/rand"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// lowerKind lowers the test model of the given kind at batch with a solver.
func lowerKind(t *testing.T, kind string, batch int, solver string, lr float64) (*model.Model, *model.Solver, *Program) {
	t.Helper()
	for _, tm := range lowertest.Models(t) {
		if tm.M.Spec.Kind != kind {
			continue
		}
		p, s := lowerModel(t, tm.M, batch, solver, lr)
		return tm.M, s, p
	}
	t.Fatalf("no test model %s", kind)
	return nil, nil, nil
}

// TestWithDataset: the resident program is the base program with the data buffers in slots of
// their own appended, two gathers first and the cursor's advance last (testdata/
// program_mlp_dataset.txt); the base program is left as it was; bad sets and orders are
// errors that say what is wrong.
func TestWithDataset(t *testing.T) {
	_, _, p := lowerKind(t, "mlp", 8, "adam", 1e-3)
	before := p.Dump(describe)
	q, err := p.WithDataset(20)
	if err != nil {
		t.Fatal(err)
	}
	lowertest.Golden(t, "program_mlp_dataset.txt", q.Dump(describe))
	lowertest.CheckPlan(t, q)
	if p.Dump(describe) != before || p.Data != nil {
		t.Fatal("WithDataset changed the base program")
	}
	for i, b := range p.Buffers {
		if q.Buffers[i].Slot != b.Slot || q.Buffers[i].Name != b.Name || q.Slots[b.Slot] != p.Slots[b.Slot] {
			t.Errorf("buffer %d (%s) moved: slot %d, was %d", i, b.Name, q.Buffers[i].Slot, b.Slot)
		}
	}
	if len(q.Launches) != len(p.Launches)+3 || !strings.HasPrefix(kernelFor(q.Launches[0]).Name, "gather_rows") || kernelFor(q.Launches[len(q.Launches)-1]).Name != "cursor_add" {
		t.Errorf("launches: %d (base %d), first %s, last %s", len(q.Launches), len(p.Launches), kernelFor(q.Launches[0]).Name, kernelFor(q.Launches[len(q.Launches)-1]).Name)
	}
	d := q.Data
	if d == nil || d.N != 20 || q.Buffers[d.Examples].Elems != 20*784 || q.Buffers[d.Targets].Elems != 20*10 || q.Buffers[d.Order].Elem != 8 || q.Buffers[d.Cursor].Elems != 1 {
		t.Fatalf("data buffers %+v", d)
	}
	// SetLR on one program leaves the other's rate alone.
	lr := p.Launches[p.SetLR(0.5)[0]].Reals[0]
	if got := q.Launches[q.SetLR(0.25)[0]].Reals[0]; got != 0.25 || p.Launches[p.SetLR(0.5)[0]].Reals[0] != lr {
		t.Errorf("SetLR: resident rate %v, base %v", got, lr)
	}
	if n := len(q.SetLR(0.1)); n != len(q.Params) {
		t.Errorf("SetLR on the resident program changed %d launches, want %d", n, len(q.Params))
	}

	for _, c := range []struct {
		n    int
		want string
	}{{7, "less than one batch"}, {0, "less than one batch"}} {
		if _, err := p.WithDataset(c.n); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WithDataset(%d): %v, want %q", c.n, err, c.want)
		}
	}
	if _, err := q.WithDataset(20); err == nil {
		t.Error("WithDataset twice: no error")
	}
	for _, c := range []struct {
		order []int
		want  string
	}{{[]int{1, 2, 3}, "batches of 8"}, {make([]int, 21), "training set of 20"}, {[]int{0, 1, 2, 3, 4, 5, 6, 20}, "outside"}, {[]int{0, 1, 2, 3, 4, 5, 6, -1}, "outside"}} {
		if _, err := q.OrderValues(c.order); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("order %v: %v, want %q", c.order, err, c.want)
		}
	}
	if _, err := p.OrderValues(make([]int, 8)); err == nil {
		t.Error("an order for a program without a training set: no error")
	}
}

// randomSet is n random examples for m (inputs in [0,1), one-hot targets) as the Dataset
// interface hands them over: float32, row after row.
func randomSet(m *model.Model, n int, seed int64) (x, y []float32) {
	xt, yt := model.RandomBatch(m, n, seed)
	return xt.Data().([]float32), yt.Data().([]float32)
}

// batchOf gathers the examples order[from:from+batch] into tensors for a Step.
func batchOf(m *model.Model, x, y []float32, order []int, from, batch int) (*tensor.Dense, *tensor.Dense) {
	in, out := m.Spec.Inputs, m.Spec.Outputs
	bx, by := make([]float32, batch*in), make([]float32, batch*out)
	for r, k := range order[from : from+batch] {
		copy(bx[r*in:(r+1)*in], x[k*in:(k+1)*in])
		copy(by[r*out:(r+1)*out], y[k*out:(k+1)*out])
	}
	return tensor.New(tensor.WithShape(batch, in), tensor.WithBacking(bx)), tensor.New(tensor.WithShape(batch, out), tensor.WithBacking(by))
}

// TestHostDatasetTrainingMatchesCPU trains the resident program on the host interpreter
// (the set and an order set once, then the launches alone per step, the batch gathered by
// the program) and the CPU trainer on the same batches in the same order, over two passes
// with different orders (the second cut short, with the rate halved), and compares the
// parameters, the last loss and output, the loss sum and the cursor.
func TestHostDatasetTrainingMatchesCPU(t *testing.T) {
	cases := []struct {
		kind, solver string
		lr           float64
		n, steps1    int // examples; steps in the first pass (the second takes one fewer)
	}{
		{"mlp", "adam", 1e-3, 36, 4}, {"mlp", "momentum", 0.05, 20, 2}, {"cnn", "adam", 1e-3, 19, 2},
	}
	const batch = 8
	for _, c := range cases {
		t.Run(c.kind+"_"+c.solver, func(t *testing.T) {
			hostM, sh, base := lowerKind(t, c.kind, batch, c.solver, c.lr)
			cpuM, _, _ := lowerKind(t, c.kind, batch, c.solver, c.lr)
			sc, _ := model.NewSolver(c.solver, c.lr)
			net, err := cpuM.Build(batch, true)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := vm.VM{}.NewTrainer(net, sc)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()

			p, err := base.WithDataset(c.n)
			if err != nil {
				t.Fatal(err)
			}
			x, y := randomSet(cpuM, c.n, 5)
			h := ref.New(p, hostM, sh)
			h.SetDataset(x, y)
			rng := rand.New(rand.NewSource(9))
			steps := 0
			for pass, k := range []int{c.steps1, c.steps1 - 1} {
				order := rng.Perm(c.n)
				ov, err := p.OrderValues(order)
				if err != nil {
					t.Fatal(err)
				}
				h.SetOrder(ov)
				if pass == 1 {
					if err := tr.SetLR(c.lr / 2); err != nil {
						t.Fatal(err)
					}
					p.SetLR(c.lr / 2)
				}
				for s := 0; s < k; s++ {
					bx, by := batchOf(cpuM, x, y, order, s*batch, batch)
					if err := tr.Step(bx, by); err != nil {
						t.Fatal(err)
					}
					if err := h.Run(); err != nil {
						t.Fatalf("pass %d step %d: %v", pass, s, err)
					}
					steps++
				}
				if got := h.Buf(p.Data.Cursor)[0]; got != float64(k*batch) {
					t.Errorf("pass %d: cursor %v after %d steps, want %d", pass, got, k, k*batch)
				}
			}
			cl, _ := tr.Loss()
			if e := lowertest.RelErr([]float64{h.Buf(p.Loss)[0]}, []float64{cl}); e > 1e-4 {
				t.Errorf("last loss %v, CPU %v", h.Buf(p.Loss)[0], cl)
			}
			cm, _ := tr.MeanLoss()
			if e := lowertest.RelErr([]float64{h.Buf(p.LossSum)[0] / float64(steps)}, []float64{cm}); e > 1e-4 {
				t.Errorf("mean loss from the device sum %v, CPU %v", h.Buf(p.LossSum)[0]/float64(steps), cm)
			}
			co, err := tr.Output()
			if err != nil {
				t.Fatal(err)
			}
			if e := lowertest.RelErr(h.Buf(p.Out), ref.ToF64(co)); e > 1e-4 {
				t.Errorf("last output off by %.2g relative", e)
			}
			for i, w := range p.Params {
				if e := lowertest.RelErr(h.Buf(w), ref.ToF64(cpuM.Params[i].T)); e > 1e-4 {
					t.Errorf("%s off by %.2g relative after %d steps", cpuM.Params[i].Name, e, steps)
				}
			}
		})
	}
}
