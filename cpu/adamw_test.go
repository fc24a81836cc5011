package cpu

import (
	"fmt"
	"testing"

	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// TestAdamWMatchesReference runs three AdamW steps of the mlp (float32, the SIMD kernel) and
// of xor with biases (float64) launch by launch against the reference interpreter: the
// weights decay, the biases do not.
func TestAdamWMatchesReference(t *testing.T) {
	for _, kind := range []string{"mlp", "xor"} {
		m := lowertest.Model(t, kind)
		batch := 8
		if kind == "xor" {
			batch = 4
		}
		p, s := lowertest.Lower(t, m, batch, "adamw", 1e-2, lower.CPU)
		decayed := 0
		for _, l := range p.Launches {
			if l.Op == ir.Adam && l.Reals[4] != 0 {
				decayed++
			}
		}
		want := map[string]int{"mlp": 2, "xor": 1}[kind] // xor's weights1 [4,1] is a vector
		if decayed != want {
			t.Errorf("%s: %d updates decay, want %d (the weight matrices only)", kind, decayed, want)
		}
		tr, err := newTrainer(p, &model.Net{Model: m}, s, parallel.Default())
		if err != nil {
			t.Fatal(err)
		}
		h := ref.New(p, m, s)
		tol := 1e-5
		if p.Dtype == ir.Float64 {
			tol = 1e-12
		}
		for step := 0; step < 3; step++ {
			x, y := lowertest.Batch(m, batch, int64(step))
			copy(h.Buf(p.X), ref.ToF64(x))
			copy(h.Buf(p.Y), ref.ToF64(y))
			e := executorOf(tr)
			loadBatch(e, x, y)
			stepLaunches(t, fmt.Sprintf("adamw %s step %d", kind, step), e, h, tol)
		}
	}
}

// TestAdamWMatchesVM trains the mlp and the cnn five steps with AdamW on the CPU backend and
// on Gorgonia's TapeMachine with model.Solver's update: the parameters agree within 1e-5
// relative (the cnn's within 1e-4: plain Adam's differ by 4e-5 there already, the
// convolutions' float32 sums taken in another order and Adam's step normalising small
// gradients), and the decayed ones differ from plain Adam's by far more.
func TestAdamWMatchesVM(t *testing.T) {
	for _, kind := range []string{"mlp", "cnn"} {
		params := func(useVM bool, solver string) *model.Model {
			m := lowertest.Model(t, kind)
			net, err := m.Build(8, true)
			if err != nil {
				t.Fatal(err)
			}
			s := lowertest.NewSolver(t, solver, 1e-2)
			if useVM {
				vt, err := vm.VM{}.NewTrainer(net, s)
				if err != nil {
					t.Fatal(err)
				}
				defer vt.Close()
				for i := 0; i < 5; i++ {
					x, y := lowertest.Batch(m, 8, int64(i))
					if err := vt.Step(x, y); err != nil {
						t.Fatal(err)
					}
				}
				return m
			}
			ct, err := Backend{}.NewTrainer(net, s)
			if err != nil {
				t.Fatal(err)
			}
			defer ct.Close()
			for i := 0; i < 5; i++ {
				x, y := lowertest.Batch(m, 8, int64(i))
				if err := ct.Step(x, y); err != nil {
					t.Fatal(err)
				}
			}
			if err := ct.Sync(); err != nil {
				t.Fatal(err)
			}
			return m
		}
		c, v, a := params(false, "adamw"), params(true, "adamw"), params(false, "adam")
		s0 := lowertest.NewSolver(t, "adamw", 1e-2)
		tol := map[string]float64{"mlp": 1e-5, "cnn": 1e-4}[kind]
		for i, p := range c.Params {
			e := lowertest.RelErr(ref.ToF64(p.T), ref.ToF64(v.Params[i].T))
			if e > tol {
				t.Errorf("%s %s: cpu and vm differ by %.2g relative after 5 adamw steps", kind, p.Name, e)
			}
			if d := lowertest.RelErr(ref.ToF64(p.T), ref.ToF64(a.Params[i].T)); s0.Decay(p) > 0 && d < 1e-3 {
				t.Errorf("%s %s: adamw differs from adam by only %.2g relative", kind, p.Name, d)
			}
		}
	}
}
