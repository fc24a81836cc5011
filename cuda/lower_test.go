package cuda

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"graphtrain/graph"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testModels are the three models at a small batch, with the solver each trains with.
func testModels(t testing.TB) []struct {
	m      *graph.Model
	batch  int
	solver string
	lr     float64
} {
	x, err := graph.NewXOR(4, true, 42)
	if err != nil {
		t.Fatal(err)
	}
	mlp, err := graph.NewMLP(32, 1)
	if err != nil {
		t.Fatal(err)
	}
	cnn, err := graph.NewCNN(1)
	if err != nil {
		t.Fatal(err)
	}
	return []struct {
		m      *graph.Model
		batch  int
		solver string
		lr     float64
	}{{x, 4, "sgd", 0.5}, {mlp, 8, "adam", 1e-3}, {cnn, 8, "adam", 1e-3}}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cuda -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s changed (rerun with -update if the change is intended):\n--- got\n%s", path, got)
	}
}

// census counts the op types and op strings of a graph's nodes.
func census(net *graph.Net) string {
	sorted, err := G.Sort(net.G)
	if err != nil {
		return err.Error()
	}
	count := map[string]int{}
	for _, n := range sorted {
		k := opType(n)
		if k == "" {
			k = "input"
		}
		count[fmt.Sprintf("%-15s %s", k, n.Op())]++
	}
	var lines []string
	for k, c := range count {
		lines = append(lines, fmt.Sprintf("%3d %s", c, k))
	}
	sort.Strings(lines)
	return fmt.Sprintf("%s: %d nodes\n%s\n", net.Model.Spec.Kind, len(sorted), strings.Join(lines, "\n"))
}

// TestOpCensus prints the op census of each model's training graph (batch 8) and compares it
// with testdata/census.txt, so that a change in what Gorgonia hands us shows.
func TestOpCensus(t *testing.T) {
	var all strings.Builder
	for _, tm := range testModels(t) {
		net, err := tm.m.Build(8, true)
		if err != nil {
			t.Fatal(err)
		}
		c := census(net)
		t.Log(c)
		all.WriteString(c)
	}
	golden(t, "census.txt", all.String())
}

// TestGorgoniaOpLayout fails loudly when a Gorgonia version bump renames or retypes the op
// types or fields the lowering reads with reflect.
func TestGorgoniaOpLayout(t *testing.T) {
	seen := map[string]bool{}
	for _, tm := range testModels(t) {
		net, err := tm.m.Build(8, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range net.G.AllNodes() {
			k := opType(n)
			if k == "" {
				continue
			}
			fields, ok := opFields[k]
			if !ok {
				t.Errorf("Gorgonia op type %s (%v) is new to the lowering: give it a kernel or an error, and list its fields in opFields", k, n.Op())
				continue
			}
			seen[k] = true
			for _, f := range fields {
				if _, err := field(opValue(n), f); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			}
		}
	}
	for k := range opFields {
		if !seen[k] && k != "maxPoolDiffOp" {
			t.Errorf("op type %s is listed in opFields but no model uses it any more", k)
		}
	}
	// The integer and boolean fields must still have the kinds the readers expect.
	x := tensor.New(tensor.WithShape(2, 1, 6, 6), tensor.WithBacking(make([]float32, 72)))
	g := G.NewGraph()
	in := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 1, 6, 6), G.WithValue(x))
	pooled := G.Must(G.MaxPool2D(in, tensor.Shape{2, 2}, []int{1, 0}, []int{2, 2}))
	p, err := readMaxPool(opValue(pooled))
	if err != nil || p != (convParams{kh: 2, kw: 2, padH: 1, padW: 0, strideH: 2, strideW: 2, dilH: 1, dilW: 1}) {
		t.Errorf("max pool parameters read as %+v, %v", p, err)
	}
	col := G.Must(G.Im2Col(in, tensor.Shape{3, 2}, []int{1, 0}, []int{2, 1}, []int{1, 1}))
	c, err := readIm2col(opValue(col))
	if err != nil || c != (convParams{kh: 3, kw: 2, padH: 1, padW: 0, strideH: 2, strideW: 1, dilH: 1, dilW: 1}) {
		t.Errorf("im2col parameters read as %+v, %v", c, err)
	}
}

// lowerModel builds m's training graph for batch and lowers it with a fresh solver.
func lowerModel(t testing.TB, m *graph.Model, batch int, solver string, lr float64) (*Program, *graph.Solver) {
	t.Helper()
	net, err := m.Build(batch, true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := graph.NewSolver(solver, lr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Lower(net, s)
	if err != nil {
		t.Fatalf("%s: %v", m.Spec.Kind, err)
	}
	return p, s
}

// TestLowerPrograms lowers each model and compares the program (kernels, buffers, slots, in
// order) with testdata/program_<kind>.txt.
func TestLowerPrograms(t *testing.T) {
	for _, tm := range testModels(t) {
		p, _ := lowerModel(t, tm.m, tm.batch, tm.solver, tm.lr)
		t.Logf("%s: %d launches, kernels %v, %d buffers in %d slots, %d bytes", p.Kind, len(p.Launches), p.Kernels(), len(p.Buffers), len(p.Slots), p.DeviceBytes())
		golden(t, "program_"+p.Kind+".txt", p.Dump())
		checkPlan(t, p)
	}
}

// checkPlan verifies the buffer plan: slots are big enough, long-lived buffers have their
// own slot, and temporaries that share a slot are never live at once.
func checkPlan(t *testing.T, p *Program) {
	t.Helper()
	def := map[int]int{}
	last := map[int]int{}
	for i, l := range p.Launches {
		for _, b := range l.Args {
			if _, ok := def[b]; !ok {
				def[b] = i
			}
			last[b] = i
		}
	}
	last[p.Out], last[p.Loss] = len(p.Launches), len(p.Launches)
	owner := map[int][]int{}
	for i, b := range p.Buffers {
		if b.Slot < 0 || b.Slot >= len(p.Slots) {
			t.Fatalf("%s: buffer %d (%s) has no slot", p.Kind, i, b.Name)
		}
		if p.Slots[b.Slot] < b.Bytes() {
			t.Errorf("%s: buffer %d (%s) needs %d bytes, slot %d has %d", p.Kind, i, b.Name, b.Bytes(), b.Slot, p.Slots[b.Slot])
		}
		owner[b.Slot] = append(owner[b.Slot], i)
	}
	for s, bs := range owner {
		for _, i := range bs {
			if p.Buffers[i].Kind != Temp && len(bs) > 1 {
				t.Errorf("%s: %s buffer %s shares slot %d", p.Kind, p.Buffers[i].Kind, p.Buffers[i].Name, s)
			}
		}
		for x := 0; x < len(bs); x++ {
			for y := x + 1; y < len(bs); y++ {
				a, b := bs[x], bs[y]
				if def[a] <= last[b] && def[b] <= last[a] {
					t.Errorf("%s: buffers %s [%d,%d] and %s [%d,%d] are live at once in slot %d", p.Kind, p.Buffers[a].Name, def[a], last[a], p.Buffers[b].Name, def[b], last[b], s)
				}
			}
		}
	}
	if p.Kind == "cnn" && len(p.Slots) >= len(p.Buffers) {
		t.Errorf("cnn: no slot reused: %d slots for %d buffers", len(p.Slots), len(p.Buffers))
	}
}

// batchFor returns inputs and one-hot targets for m: XOR's four examples, else random.
func batchFor(m *graph.Model, batch int, seed int64) (x, y *tensor.Dense) {
	return graph.RandomBatch(m, batch, seed)
}

// relErr is max|got−want| / max|want|: the error relative to the tensor's scale.
func relErr(got, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d, s float64
	for i := range got {
		d = math.Max(d, math.Abs(got[i]-want[i]))
		s = math.Max(s, math.Abs(want[i]))
	}
	if s == 0 {
		return d
	}
	return d / s
}

// tapeReference runs the graph of m once on the TapeMachine and returns the loss, the output
// (from a forward-only graph, since the TapeMachine reuses the output's memory) and the
// gradients.
func tapeReference(t testing.TB, m *graph.Model, batch int, x, y *tensor.Dense) (loss float64, out []float64, grads [][]float64) {
	t.Helper()
	for _, grad := range []bool{false, true} {
		net, err := m.Build(batch, grad)
		if err != nil {
			t.Fatal(err)
		}
		if err := G.Let(net.X, x); err != nil {
			t.Fatal(err)
		}
		if err := G.Let(net.Y, y); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(net.G)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		if !grad {
			out = toF64(net.Out.Value().(*tensor.Dense))
		} else {
			lv, err := scalarValue(net.Loss.Value())
			if err != nil {
				t.Fatal(err)
			}
			loss = lv
			for _, g := range net.Grads {
				grads = append(grads, toF64(g.Value().(*tensor.Dense)))
			}
		}
		vm.Close()
	}
	return loss, out, grads
}

// TestHostProgramMatchesTapeMachine runs each lowered program on the host interpreter and
// compares the loss, the output and every gradient with the TapeMachine's, within 1e-4
// relative: the lowering and the plan are right before any kernel runs on a device.
func TestHostProgramMatchesTapeMachine(t *testing.T) {
	for _, tm := range testModels(t) {
		m := tm.m
		x, y := batchFor(m, tm.batch, 7)
		loss, out, grads := tapeReference(t, m, tm.batch, x, y)

		p, s := lowerModel(t, m, tm.batch, tm.solver, tm.lr)
		h := newHostRun(p, m, s)
		if err := h.step(x, y); err != nil {
			t.Fatal(err)
		}
		if e := relErr([]float64{h.buf(p.Loss)[0]}, []float64{loss}); e > 1e-4 {
			t.Errorf("%s: loss %v, TapeMachine %v", m.Spec.Kind, h.buf(p.Loss)[0], loss)
		}
		if e := relErr(h.buf(p.Out), out); e > 1e-4 {
			t.Errorf("%s: output off by %.2g relative", m.Spec.Kind, e)
		}
		for i, g := range p.Grads {
			if e := relErr(h.buf(g), grads[i]); e > 1e-4 {
				t.Errorf("%s: gradient of %s off by %.2g relative", m.Spec.Kind, m.Params[i].Name, e)
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
	}
	for _, c := range cases {
		t.Run(c.kind+"_"+c.solver, func(t *testing.T) {
			mk := func() *graph.Model {
				for _, tm := range testModels(t) {
					if tm.m.Spec.Kind == c.kind {
						return tm.m
					}
				}
				return nil
			}
			batch := 8
			if c.kind == "xor" {
				batch = 4
			}
			cpuM, hostM := mk(), mk()
			sc, _ := graph.NewSolver(c.solver, c.lr)
			sh, _ := graph.NewSolver(c.solver, c.lr)
			net, err := cpuM.Build(batch, true)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := graph.CPU{}.NewTrainer(net, sc)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			hnet, err := hostM.Build(batch, true)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Lower(hnet, sh)
			if err != nil {
				t.Fatal(err)
			}
			h := newHostRun(p, hostM, sh)
			for i := 0; i < c.steps; i++ {
				if i == c.steps/2 { // a schedule halves the rate half way
					if err := tr.SetLR(c.lr / 2); err != nil {
						t.Fatal(err)
					}
					if n := len(p.SetLR(c.lr / 2)); n != len(p.Params) {
						t.Fatalf("SetLR changed %d launches, want one per parameter (%d)", n, len(p.Params))
					}
				}
				x, y := batchFor(cpuM, batch, int64(i))
				if err := tr.Step(x, y); err != nil {
					t.Fatal(err)
				}
				if err := h.step(x, y); err != nil {
					t.Fatal(err)
				}
			}
			cl, _ := tr.Loss()
			if e := relErr([]float64{h.buf(p.Loss)[0]}, []float64{cl}); e > 1e-4 {
				t.Errorf("last loss %v, CPU %v", h.buf(p.Loss)[0], cl)
			}
			// The device-side loss sum is what MeanLoss reads: the CPU's mean times the steps.
			cm, _ := tr.MeanLoss()
			if e := relErr([]float64{h.buf(p.LossSum)[0] / float64(c.steps)}, []float64{cm}); e > 1e-4 {
				t.Errorf("mean loss from the device sum %v, CPU %v", h.buf(p.LossSum)[0]/float64(c.steps), cm)
			}
			for i, w := range p.Params {
				if e := relErr(h.buf(w), toF64(cpuM.Params[i].T)); e > 1e-4 {
					t.Errorf("%s off by %.2g relative after %d steps", cpuM.Params[i].Name, e, c.steps)
				}
			}
		})
	}
}

// TestLowerNamesMissingKernel: an op with no kernel is an error that names it.
func TestLowerNamesMissingKernel(t *testing.T) {
	m, err := graph.NewMLP(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	g := G.NewGraph()
	net := &graph.Net{Model: m, G: g, Batch: 2}
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
	s, _ := graph.NewSolver("sgd", 0.1)
	_, err = Lower(net, s)
	if err == nil || !strings.Contains(err.Error(), "max") || !strings.Contains(err.Error(), "no kernel") {
		t.Fatalf("Lower of a graph with a max reduction: %v; want an error naming the op", err)
	}
	t.Log(err)
}
