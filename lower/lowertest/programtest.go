package lowertest

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/model"
)

// Case is a model at a small batch, with the solver it trains with.
type Case struct {
	M      *model.Model
	Batch  int
	Solver string
	LR     float64
}

// Models are the three models at a small batch: xor (float64, biases) with sgd, the mlp
// (hidden 32) and the cnn with adam.
func Models(t testing.TB) []Case {
	t.Helper()
	x, err := model.NewXOR(4, true, 42)
	if err != nil {
		t.Fatal(err)
	}
	mlp, err := model.NewMLP(32, 1)
	if err != nil {
		t.Fatal(err)
	}
	cnn, err := model.NewCNN(1)
	if err != nil {
		t.Fatal(err)
	}
	return []Case{{x, 4, "sgd", 0.5}, {mlp, 8, "adam", 1e-3}, {cnn, 8, "adam", 1e-3}}
}

// Model is a fresh copy of the model of that kind among Models.
func Model(t testing.TB, kind string) *model.Model {
	t.Helper()
	for _, c := range Models(t) {
		if c.M.Spec.Kind == kind {
			return c.M
		}
	}
	t.Fatalf("no test model %q", kind)
	return nil
}

// WeightDecay is the λ of an adamw solver that Lower and NewSolver make: 50 times the
// default, so that a few steps at a rate of 1e-2 decay the weights by far more than the
// tests' tolerances.
const WeightDecay = 0.5

// NewSolver is model.NewSolver, adamw's λ WeightDecay.
func NewSolver(t testing.TB, solver string, lr float64) *model.Solver {
	t.Helper()
	s, err := model.NewSolver(solver, lr)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind == "adamw" {
		s.WeightDecay = WeightDecay
	}
	return s
}

// Lower builds m's training graph for batch and lowers it for target with a fresh solver
// (NewSolver's, its state initialised).
func Lower(t testing.TB, m *model.Model, batch int, solver string, lr float64, target lower.Target) (*ir.Program, *model.Solver) {
	t.Helper()
	net, err := m.Build(batch, true)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSolver(t, solver, lr)
	if err := s.Init(m); err != nil {
		t.Fatal(err)
	}
	p, err := lower.Lower(net, s, target)
	if err != nil {
		t.Fatalf("%s: %v", m.Spec.Kind, err)
	}
	return p, s
}

// Batch returns inputs and one-hot targets for m: XOR's four examples, else random.
func Batch(m *model.Model, batch int, seed int64) (x, y *tensor.Dense) {
	return model.RandomBatch(m, batch, seed)
}

// RelErr is max|got−want| / max|want|: the error relative to the tensor's scale.
func RelErr(got, want []float64) float64 {
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

// TapeReference runs the training graph of m once on the TapeMachine and returns the loss,
// the output (the copy Net.OutValue took: the TapeMachine reuses the output's memory) and
// the gradients.
func TapeReference(t testing.TB, m *model.Model, batch int, x, y *tensor.Dense) (loss float64, out []float64, grads [][]float64) {
	t.Helper()
	net, err := m.Build(batch, true)
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
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	out = ref.ToF64(net.OutValue().(*tensor.Dense)) // the training graph's: batch statistics, dropout
	switch v := reflect.Indirect(reflect.ValueOf(net.Loss.Value())); v.Kind() {
	case reflect.Float32, reflect.Float64:
		loss = v.Float()
	default:
		loss = ref.ToF64(net.Loss.Value().(*tensor.Dense))[0]
	}
	for _, g := range net.Grads {
		grads = append(grads, ref.ToF64(g.Value().(*tensor.Dense)))
	}
	return loss, out, grads
}

// CheckPlan verifies a program's buffer plan: slots are big enough, long-lived buffers have
// their own slot, and temporaries that share a slot are never live at once.
func CheckPlan(t testing.TB, p *ir.Program) {
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
			if p.Buffers[i].Kind != ir.Temp && len(bs) > 1 {
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
	if hasConv(p) && len(p.Slots) >= len(p.Buffers) {
		t.Errorf("%s: no slot reused: %d slots for %d buffers", p.Kind, len(p.Slots), len(p.Buffers))
	}
}

// hasConv reports whether p convolves (an im2col, or a fused convolution).
func hasConv(p *ir.Program) bool {
	for _, l := range p.Launches {
		switch l.Op {
		case ir.Im2col, ir.Conv, ir.ConvReLU, ir.ConvReLUPool:
			return true
		}
	}
	return false
}

// Golden compares got with the file testdata/name, or writes it there when the environment
// variable GRAPHTRAIN_UPDATE_GOLDEN is 1 (after a change that is meant).
func Golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("GRAPHTRAIN_UPDATE_GOLDEN") == "1" {
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
		t.Fatalf("%v (run the test with GRAPHTRAIN_UPDATE_GOLDEN=1 to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s changed (rerun with GRAPHTRAIN_UPDATE_GOLDEN=1 if the change is intended):\n--- got\n%s", path, got)
	}
}
