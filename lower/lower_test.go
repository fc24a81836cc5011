package lower_test

import (
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// targets are the targets every lowering test runs for.
var targets = []lower.Target{lower.CUDA, lower.CPU}

// TestHostProgramMatchesTapeMachine runs each lowered program on the host interpreter and
// compares the loss, the output and every gradient with the TapeMachine's, within 1e-4
// relative: the lowering and the plan are right before any kernel runs on a device.
func TestHostProgramMatchesTapeMachine(t *testing.T) {
	for _, target := range targets {
		for _, tm := range lowertest.Models(t) {
			m := tm.M
			x, y := lowertest.Batch(m, tm.Batch, 7)
			loss, out, grads := lowertest.TapeReference(t, m, tm.Batch, x, y)

			p, s := lowertest.Lower(t, m, tm.Batch, tm.Solver, tm.LR, target)
			h := ref.New(p, m, s)
			if err := h.Step(x, y); err != nil {
				t.Fatal(err)
			}
			if e := lowertest.RelErr([]float64{h.Buf(p.Loss)[0]}, []float64{loss}); e > 1e-4 {
				t.Errorf("%s: loss %v, TapeMachine %v", m.Spec.Kind, h.Buf(p.Loss)[0], loss)
			}
			if e := lowertest.RelErr(h.Buf(p.Out), out); e > 1e-4 {
				t.Errorf("%s: output off by %.2g relative", m.Spec.Kind, e)
			}
			for i, g := range p.Grads {
				if e := lowertest.RelErr(h.Buf(g), grads[i]); e > 1e-4 {
					t.Errorf("%s %s: gradient of %s off by %.2g relative", target.Name, m.Spec.Kind, m.Params[i].Name, e)
				}
			}
		}
	}
}

// TestDeepMLPLowers lowers a three-hidden-layer mlp for every target and runs it on the host
// interpreter against the TapeMachine, as TestHostProgramMatchesTapeMachine does for the
// standard models: the lowering takes any depth.
func TestDeepMLPLowers(t *testing.T) {
	m, err := model.NewDeepMLP([]int{24, 16, 12}, 3)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 6
	x, y := lowertest.Batch(m, batch, 7)
	loss, out, grads := lowertest.TapeReference(t, m, batch, x, y)
	for _, target := range targets {
		p, s := lowertest.Lower(t, m, batch, "adam", 1e-3, target)
		lowertest.CheckPlan(t, p)
		h := ref.New(p, m, s)
		if err := h.Step(x, y); err != nil {
			t.Fatal(err)
		}
		if e := lowertest.RelErr([]float64{h.Buf(p.Loss)[0]}, []float64{loss}); e > 1e-4 {
			t.Errorf("%s: loss %v, TapeMachine %v", target.Name, h.Buf(p.Loss)[0], loss)
		}
		if e := lowertest.RelErr(h.Buf(p.Out), out); e > 1e-4 {
			t.Errorf("%s: output off by %.2g relative", target.Name, e)
		}
		if len(p.Grads) != len(m.Params) {
			t.Fatalf("%s: %d gradients for %d parameters", target.Name, len(p.Grads), len(m.Params))
		}
		for i, g := range p.Grads {
			if e := lowertest.RelErr(h.Buf(g), grads[i]); e > 1e-4 {
				t.Errorf("%s: gradient of %s off by %.2g relative", target.Name, m.Params[i].Name, e)
			}
		}
	}
}

// TestHostTrainingMatchesCPU trains with the CPU backend and with the host interpreter of
// the lowered program (forward, backward, fused update) and compares the parameters.
func TestHostTrainingMatchesCPU(t *testing.T) {
	cases := []struct {
		kind, solver string
		lr           float64
		steps        int
	}{
		{"xor", "sgd", 0.5, 300}, {"mlp", "adam", 1e-3, 5}, {"mlp", "momentum", 0.05, 5}, {"mlp", "sgd", 0.1, 3}, {"cnn", "adam", 1e-3, 2},
		{"mlp", "adamw", 1e-3, 5},
	}
	for _, target := range targets {
		for _, c := range cases {
			t.Run(target.Name+"_"+c.kind+"_"+c.solver, func(t *testing.T) {
				mk := func() *model.Model { return lowertest.Model(t, c.kind) }
				batch := 8
				if c.kind == "xor" {
					batch = 4
				}
				cpuM, hostM := mk(), mk()
				sc, sh := lowertest.NewSolver(t, c.solver, c.lr), lowertest.NewSolver(t, c.solver, c.lr)
				net, err := cpuM.Build(batch, true)
				if err != nil {
					t.Fatal(err)
				}
				tr, err := vm.VM{}.NewTrainer(net, sc)
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				hnet, err := hostM.Build(batch, true)
				if err != nil {
					t.Fatal(err)
				}
				p, err := lower.Lower(hnet, sh, target)
				if err != nil {
					t.Fatal(err)
				}
				h := ref.New(p, hostM, sh)
				for i := 0; i < c.steps; i++ {
					if i == c.steps/2 { // a schedule halves the rate half way
						if err := tr.SetLR(c.lr / 2); err != nil {
							t.Fatal(err)
						}
						if n := len(p.SetLR(c.lr / 2)); n != len(p.Params) {
							t.Fatalf("SetLR changed %d launches, want one per parameter (%d)", n, len(p.Params))
						}
					}
					x, y := lowertest.Batch(cpuM, batch, int64(i))
					if err := tr.Step(x, y); err != nil {
						t.Fatal(err)
					}
					if err := h.Step(x, y); err != nil {
						t.Fatal(err)
					}
				}
				cl, _ := tr.Loss()
				if e := lowertest.RelErr([]float64{h.Buf(p.Loss)[0]}, []float64{cl}); e > 1e-4 {
					t.Errorf("last loss %v, CPU %v", h.Buf(p.Loss)[0], cl)
				}
				// The device-side loss sum is what MeanLoss reads: the CPU's mean times the steps.
				cm, _ := tr.MeanLoss()
				if e := lowertest.RelErr([]float64{h.Buf(p.LossSum)[0] / float64(c.steps)}, []float64{cm}); e > 1e-4 {
					t.Errorf("mean loss from the device sum %v, CPU %v", h.Buf(p.LossSum)[0]/float64(c.steps), cm)
				}
				for i, w := range p.Params {
					if e := lowertest.RelErr(h.Buf(w), ref.ToF64(cpuM.Params[i].T)); e > 1e-4 {
						t.Errorf("%s off by %.2g relative after %d steps", cpuM.Params[i].Name, e, c.steps)
					}
				}
			})
		}
	}
}

// TestLowerNamesMissingKernel: an op with no kernel is an error that names it.
func TestLowerNamesMissingKernel(t *testing.T) {
	m, err := model.NewMLP(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	g := G.NewGraph()
	net := &model.Net{Model: m, G: g, Batch: 2}
	for _, p := range m.Params {
		net.Nodes = append(net.Nodes, G.NewTensor(g, tensor.Float32, p.T.Dims(), G.WithShape(p.T.Shape()...), G.WithName(p.Name), G.WithValue(p.T)))
	}
	net.X = G.NewMatrix(g, tensor.Float32, G.WithShape(2, 784), G.WithName("x"), G.WithInit(G.Zeroes()))
	net.Y = G.NewMatrix(g, tensor.Float32, G.WithShape(2, 10), G.WithName("y"), G.WithInit(G.Zeroes()))
	h := G.Must(G.Mul(net.X, net.Nodes[0]))
	h = G.Must(G.Add(h, G.Must(G.Sum(net.Nodes[1])))) // keeps every parameter in the loss
	z := G.Must(G.Mul(h, net.Nodes[2]))
	z = G.Must(G.Add(z, G.Must(G.Sum(net.Nodes[3]))))
	net.Out = z
	net.Loss = G.Must(G.Max(z)) // maxOp: no kernel
	if net.Grads, err = G.Grad(net.Loss, net.Nodes...); err != nil {
		t.Fatal(err)
	}
	s, _ := model.NewSolver("sgd", 0.1)
	_, err = lower.Lower(net, s, lower.CPU)
	if err == nil || !strings.Contains(err.Error(), "max") || !strings.Contains(err.Error(), "no kernel") {
		t.Fatalf("Lower of a graph with a max reduction: %v; want an error naming the op", err)
	}
	t.Log(err)
}

// TestCPUPrograms compares the CPU target's program of each model (ops, buffers, slots, in
// order) with testdata/cpu_<kind>.txt: the products and their biases fused, nothing split.
func TestCPUPrograms(t *testing.T) {
	for _, tm := range lowertest.Models(t) {
		p, _ := lowertest.Lower(t, tm.M, tm.Batch, tm.Solver, tm.LR, lower.CPU)
		lowertest.Golden(t, "cpu_"+p.Kind+".txt", p.Dump(nil))
		lowertest.CheckPlan(t, p)
		fusedBias := false
		for _, l := range p.Launches {
			if l.Op == ir.GemmSplit {
				t.Errorf("%s: the CPU program splits a product: %s", p.Kind, l)
			}
			fusedBias = fusedBias || l.Op == ir.GemmBias
		}
		if !fusedBias {
			t.Errorf("%s: no product fused with its bias", p.Kind)
		}
	}
}

// TestSplitKParts: CUDA's rule cuts a long K where C has few tiles of 16x16, or where both
// sides fill a 64x64 tile and C has few of those (the wide kernels' blocks), into parts of
// about 512 along K, a whole number of 16-deep tiles each; otherwise, and for a short K, not.
func TestSplitKParts(t *testing.T) {
	for _, c := range []struct{ m, n, k, parts, kc int }{
		{6, 25, 100352, 196, 512},   // the cnn's first filter gradient at batch 128
		{784, 256, 8192, 16, 512},   // the mlp's first weights' gradient at batch 8192: 52 wide tiles
		{784, 256, 1024, 1, 1024},   // a K of MinK or less
		{256, 10, 8192, 16, 512},    // 16 tiles of 16x16
		{1024, 1024, 8192, 1, 8192}, // 256 wide tiles
		{2048, 60, 8192, 1, 8192},   // 512 tiles of 16x16, a side below 64
		{1000, 700, 1100, 3, 368},   // a last part shorter than the others
	} {
		parts, kc := lower.CUDA.SplitK.Parts(c.m, c.n, c.k)
		if parts != c.parts || kc != c.kc {
			t.Errorf("[%d,%d] over %d: %d parts of %d, want %d of %d", c.m, c.n, c.k, parts, kc, c.parts, c.kc)
		}
	}
	var none *lower.SplitK
	if parts, kc := none.Parts(6, 25, 100352); parts != 1 || kc != 100352 {
		t.Errorf("no rule: %d parts of %d", parts, kc)
	}
}
