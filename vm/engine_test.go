package vm

import (
	"math"
	"math/rand"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/model"
)

// randDense returns a tensor of shape with values from r, some of them exactly 0 (as ReLU
// gradients are), on engine e.
func randDense(r *rand.Rand, dt tensor.Dtype, e tensor.Engine, shape ...int) *tensor.Dense {
	n := tensor.Shape(shape).TotalSize()
	var back any
	if dt == tensor.Float32 {
		v := make([]float32, n)
		for i := range v {
			if r.Intn(4) > 0 {
				v[i] = float32(r.NormFloat64())
			}
		}
		back = v
	} else {
		v := make([]float64, n)
		for i := range v {
			if r.Intn(4) > 0 {
				v[i] = r.NormFloat64()
			}
		}
		back = v
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(back), tensor.WithEngine(e))
}

// checkSameBits fails unless a and b hold the same shape and bit-identical values.
func checkSameBits(t *testing.T, what string, a, b tensor.Tensor) {
	t.Helper()
	if !a.Shape().Eq(b.Shape()) {
		t.Fatalf("%s: shape %v, want %v", what, a.Shape(), b.Shape())
	}
	if !sameBits(a.Data(), b.Data()) {
		t.Fatalf("%s: values differ from the standard engine's", what)
	}
}

func TestEngineTransposeSameBits(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := []struct {
		shape   []int
		pattern []int
	}{
		{[]int{128, 28, 28, 6}, []int{0, 3, 1, 2}},
		{[]int{128, 6, 28, 28}, []int{0, 2, 3, 1}},
		{[]int{3, 5, 4, 2}, []int{3, 2, 0, 1}},
		{[]int{7, 9}, []int{1, 0}},
		{[]int{2, 3, 4}, []int{1, 0, 2}},
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, c := range cases {
			x := randDense(r, dt, cpuEngine{}, c.shape...)
			ref := x.Clone().(*tensor.Dense)
			tensor.WithEngine(G.StandardEngine{})(ref)
			want, err := tensor.Transpose(ref, c.pattern...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tensor.Transpose(x, c.pattern...)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := got.Engine().(cpuEngine); !ok {
				t.Fatalf("transposed on %T, not cpuEngine", got.Engine())
			}
			checkSameBits(t, "transpose", got, want)
		}
	}
}

func TestEngineMatMulSameBits(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Log("GOMAXPROCS=1: cpuEngine leaves every product to the standard engine")
	}
	r := rand.New(rand.NewSource(2))
	cases := []struct{ m, n, k int }{
		{6, 25, 3000},  // the conv0 filter gradient's shape (serial in gonum: banded)
		{16, 150, 500}, // conv1's
		{13, 7, 4000},  // odd band sizes
		{128, 10, 784}, // the mlp's output layer
		{300, 200, 40}, // gonum runs it in parallel itself
		{5, 6, 7},      // too small for bands
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, c := range cases {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				// a is m×k (stored k×m when transposed), b is k×n (stored n×k).
				as, bs := []int{c.m, c.k}, []int{c.k, c.n}
				if tr[0] {
					as = []int{c.k, c.m}
				}
				if tr[1] {
					bs = []int{c.n, c.k}
				}
				a := randDense(r, dt, cpuEngine{}, as...)
				b := randDense(r, dt, cpuEngine{}, bs...)
				mul := func(e tensor.Engine) *tensor.Dense {
					a, b := a.Clone().(*tensor.Dense), b.Clone().(*tensor.Dense)
					tensor.WithEngine(e)(a)
					if tr[0] {
						a.T()
					}
					if tr[1] {
						b.T()
					}
					c, err := a.MatMul(b)
					if err != nil {
						t.Fatal(err)
					}
					return c
				}
				checkSameBits(t, "matmul", mul(cpuEngine{}), mul(G.StandardEngine{}))
			}
		}
	}
}

func TestEngineRepeatSameBits(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	cases := []struct {
		shape      []int
		axis, reps int
	}{
		{[]int{1, 6, 1, 1}, 0, 128},
		{[]int{128, 6, 1, 1}, 2, 28},
		{[]int{128, 6, 28, 1}, 3, 28},
		{[]int{1, 120}, 0, 128},
		{[]int{128, 1}, 1, 10},
		{[]int{5}, 0, 3},
	}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		for _, c := range cases {
			x := randDense(r, dt, cpuEngine{}, c.shape...)
			out := append([]int(nil), c.shape...)
			out[c.axis] *= c.reps
			got := tensor.New(tensor.Of(dt), tensor.WithShape(out...), tensor.WithEngine(cpuEngine{}))
			want := tensor.New(tensor.Of(dt), tensor.WithShape(out...))
			if _, err := (cpuEngine{}).RepeatReuse(x, got, c.axis, c.reps); err != nil {
				t.Fatal(err)
			}
			if _, err := (G.StandardEngine{}).RepeatReuse(x, want, c.axis, c.reps); err != nil {
				t.Fatal(err)
			}
			checkSameBits(t, "repeat", got, want)
		}
	}
}

// TestCPUTrainerSameBitsAsPlainTapeMachine trains the cnn and the mlp a few steps with the
// CPU backend (cpuEngine, only the live part of the graph compiled) and with a TapeMachine
// built plainly on the whole graph: the losses, outputs and parameters must agree bit for bit.
func TestCPUTrainerSameBitsAsPlainTapeMachine(t *testing.T) {
	for _, kind := range []string{"cnn", "mlp"} {
		t.Run(kind, func(t *testing.T) {
			newModel := func() *model.Model {
				if kind == "cnn" {
					m, _ := model.NewCNN(7)
					return m
				}
				m, _ := model.NewMLP(64, 7)
				return m
			}
			const batch, steps = 32, 3
			mA, mB := newModel(), newModel()
			netA, err := mA.Build(batch, true)
			if err != nil {
				t.Fatal(err)
			}
			netB, err := mB.Build(batch, true)
			if err != nil {
				t.Fatal(err)
			}
			sA, _ := model.NewSolver("adam", 1e-3)
			sB, _ := model.NewSolver("adam", 1e-3)
			trA, err := VM{}.NewTrainer(netA, sA)
			if err != nil {
				t.Fatal(err)
			}
			defer trA.Close()
			if err := sB.Init(mB); err != nil {
				t.Fatal(err)
			}
			trB := &trainer{net: netB, vm: G.NewTapeMachine(netB.G), solver: sB, grads: make([]*tensor.Dense, len(netB.Grads))}
			defer trB.Close()
			for i := 0; i < steps; i++ {
				x, y := model.RandomBatch(mA, batch, int64(i+1))
				if err := trA.Step(x, y); err != nil {
					t.Fatal(err)
				}
				if err := trB.Step(x, y); err != nil {
					t.Fatal(err)
				}
				la, _ := trA.Loss()
				lb, _ := trB.Loss()
				if la != lb {
					t.Fatalf("step %d: loss %v, plain TapeMachine %v", i, la, lb)
				}
				oa, err := trA.Output()
				if err != nil {
					t.Fatal(err)
				}
				ob, _ := trB.Output()
				checkSameBits(t, "output", oa, ob)
			}
			for i, p := range mA.Params {
				checkSameBits(t, p.Name, p.T, mB.Params[i].T)
			}
		})
	}
}

// sameBits reports whether two []float32 or []float64 hold the same bits.
func sameBits(a, b any) bool {
	switch x := a.(type) {
	case []float64:
		y, ok := b.([]float64)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
		return true
	case []float32:
		y, ok := b.([]float32)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	}
	return false
}
