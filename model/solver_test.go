package model

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// TestAdamWByHand: one AdamW step on a float64 weight matrix and bias, against the formulas
// worked by hand. The first step's bias-corrected moments are g and g², so the step is
// lr·g/(|g|+ε); the weights shrink by lr·λ of themselves first, the bias does not.
func TestAdamWByHand(t *testing.T) {
	s, err := NewSolver("adamw", 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if s.WeightDecay != DefaultWeightDecay {
		t.Fatalf("adamw's default λ %v, want %v", s.WeightDecay, DefaultWeightDecay)
	}
	s.WeightDecay = 0.5
	w := &Param{Name: "weights0", T: tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{1, -2, 0.5, 4}))}
	b := &Param{Name: "bias0", T: tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float64{1, -1}))}
	gw := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{0.2, -0.4, 0, 1}))
	gb := tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float64{-3, 0.5}))
	if s.Decay(w) != 0.5 || s.Decay(b) != 0 {
		t.Fatalf("decay of the weights %v and of the bias %v, want 0.5 and 0", s.Decay(w), s.Decay(b))
	}
	if err := s.Init(&Model{Params: []*Param{w, b}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update([]*Param{w, b}, []*tensor.Dense{gw, gb}); err != nil {
		t.Fatal(err)
	}
	step := func(g float64) float64 { return 0.1 * g / (math.Abs(g) + 1e-8) }
	// weights: w·(1 − 0.1·0.5) − step(g)
	wantW := []float64{1*0.95 - step(0.2), -2*0.95 - step(-0.4), 0.5 * 0.95, 4*0.95 - step(1)}
	wantB := []float64{1 - step(-3), -1 - step(0.5)}
	for i, v := range w.T.Float64s() {
		if math.Abs(v-wantW[i]) > 1e-12 {
			t.Errorf("weights0[%d] = %v, by hand %v", i, v, wantW[i])
		}
	}
	for i, v := range b.T.Float64s() {
		if math.Abs(v-wantB[i]) > 1e-12 {
			t.Errorf("bias0[%d] = %v, by hand %v", i, v, wantB[i])
		}
	}
}

// TestAdamIsAdamWWithoutDecay: adam and adamw with λ 0 give the same bits.
func TestAdamIsAdamWWithoutDecay(t *testing.T) {
	run := func(kind string) []float32 {
		s, _ := NewSolver(kind, 0.01)
		s.WeightDecay = 0
		w := &Param{Name: "w", T: tensor.New(tensor.WithShape(3, 1), tensor.WithBacking([]float32{0.3, -1, 2}))}
		if err := s.Init(&Model{Params: []*Param{w}}); err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 3; k++ {
			g := tensor.New(tensor.WithShape(3, 1), tensor.WithBacking([]float32{0.1, float32(k), -0.7}))
			if err := s.Update([]*Param{w}, []*tensor.Dense{g}); err != nil {
				t.Fatal(err)
			}
		}
		return w.T.Float32s()
	}
	a, b := run("adam"), run("adamw")
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("w[%d]: adam %v, adamw with λ 0 %v", i, a[i], b[i])
		}
	}
}
