package inspect

import (
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/train"
)

func TestNearestLogicNamesAllSixteen(t *testing.T) {
	inputs := [4][2]bool{{false, false}, {false, true}, {true, false}, {true, true}}
	fns := map[string]func(a, b bool) bool{
		"FALSE": func(a, b bool) bool { return false }, "AND": func(a, b bool) bool { return a && b },
		"A AND NOT B": func(a, b bool) bool { return a && !b }, "A": func(a, b bool) bool { return a },
		"NOT A AND B": func(a, b bool) bool { return !a && b }, "B": func(a, b bool) bool { return b },
		"XOR": func(a, b bool) bool { return a != b }, "OR": func(a, b bool) bool { return a || b },
		"NOR": func(a, b bool) bool { return !(a || b) }, "XNOR": func(a, b bool) bool { return a == b },
		"NOT B": func(a, b bool) bool { return !b }, "A OR NOT B": func(a, b bool) bool { return a || !b },
		"NOT A": func(a, b bool) bool { return !a }, "NOT A OR B": func(a, b bool) bool { return !a || b },
		"NAND": func(a, b bool) bool { return !(a && b) }, "TRUE": func(a, b bool) bool { return true },
	}
	if len(fns) != 16 {
		t.Fatal("the table lacks functions")
	}
	for name, f := range fns {
		var v [4]float64
		for i, in := range inputs {
			if f(in[0], in[1]) {
				v[i] = 0.8
			} else {
				v[i] = 0.2
			}
		}
		got, d := NearestLogic(v)
		if got != name || math.Abs(d-0.2) > 1e-12 {
			t.Errorf("%s's truth table read as %s at distance %v, want %s at 0.2", name, got, d, name)
		}
	}
	if got, d := NearestLogic([4]float64{0, 1, 1, 0}); got != "XOR" || d != 0 {
		t.Errorf("exact XOR: %s %v", got, d)
	}
}

// XORLayers' output must be the model's own graph's output.
func TestXORLayersMatchGraph(t *testing.T) {
	numpy, _, _, err := checkpoint.LoadCheckpoint(filepath.Join("..", "train", "testdata", "xor_numpy_init"))
	if err != nil {
		t.Fatal(err)
	}
	biased, _ := model.NewXOR(3, true, 5)
	r := rand.New(rand.NewSource(2))
	for _, p := range biased.Params {
		for i, d := 0, p.T.Data().([]float64); i < len(d); i++ {
			d[i] = 4*r.Float64() - 2
		}
	}
	in := []float64{0, 0, 0, 1, 1, 0, 1, 1, 0.3, 0.7, -0.1, 1.1}
	for _, m := range []*model.Model{numpy, biased} {
		hidden, out, err := XORLayers(m, in)
		if err != nil {
			t.Fatal(err)
		}
		want, err := train.Outputs(nil, m, in)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Abs(out[i]-want[i]) > 1e-12 || len(hidden[i]) != m.Spec.Hidden {
				t.Errorf("bias %v, input %d: output %v, the graph gives %v", m.Spec.Bias, i, out[i], want[i])
			}
		}
	}
	if !(numpy.Spec.Bias == false) {
		t.Fatal("numpy weights have biases")
	}
	if h, _, _ := XORLayers(numpy, []float64{0, 0}); h[0][0] != 0.5 {
		t.Errorf("without biases a hidden unit at 00 is σ(0) = 0.5, got %v", h[0][0])
	}
	mlp, _ := model.NewMLP(4, 1)
	if _, _, err := XORLayers(mlp, in); err == nil {
		t.Error("XORLayers accepted an mlp")
	}
}

// CNNFeatureMaps is checked against the model's own graph: pooling its conv1 maps and
// running the dense layers in Go must give the logits the Gorgonia graph gives.
func TestCNNFeatureMapsMatchGraph(t *testing.T) {
	m, _ := model.NewCNN(4)
	x, _ := model.RandomBatch(m, 2, 9)
	images := x.Data().([]float32)
	var want [][]float32
	if err := train.Logits(nil, m, images, 2, func(l []float32) {
		for i := 0; i+model.Classes <= len(l); i += model.Classes {
			want = append(want, append([]float32(nil), l[i:i+model.Classes]...))
		}
	}); err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 2; n++ {
		maps, err := CNNFeatureMaps(m, images[n*model.ImageSize:(n+1)*model.ImageSize])
		if err != nil {
			t.Fatal(err)
		}
		if len(maps.Conv0) != 6 || len(maps.Conv0[0]) != 28*28 || len(maps.Conv1) != 16 || len(maps.Conv1[0]) != 10*10 {
			t.Fatalf("maps: %d of %d, %d of %d", len(maps.Conv0), len(maps.Conv0[0]), len(maps.Conv1), len(maps.Conv1[0]))
		}
		// [16][5*5] → [400] in channel-major order, as the graph's reshape of [B,16,5,5].
		var v []float64
		for _, ch := range maxPool2(maps.Conv1, 10) {
			for _, p := range ch {
				v = append(v, float64(p))
			}
		}
		for l, sizes := range [][2]int{{400, 120}, {120, 84}, {84, 10}} {
			w, _ := float64Param(m, []string{"weights0", "weights1", "weights2"}[l], sizes[0]*sizes[1])
			b, _ := float64Param(m, []string{"bias0", "bias1", "bias2"}[l], sizes[1])
			next := make([]float64, sizes[1])
			for j := range next {
				s := b[j]
				for i, xi := range v {
					s += xi * w[i*sizes[1]+j]
				}
				if l < 2 {
					s = math.Max(s, 0)
				}
				next[j] = s
			}
			v = next
		}
		for k := range v {
			if d := math.Abs(v[k] - float64(want[n][k])); d > 1e-4*math.Max(1, math.Abs(v[k])) {
				t.Errorf("image %d logit %d: %v from the feature maps, %v from the graph", n, k, v[k], want[n][k])
			}
		}
	}
	if _, err := CNNFeatureMaps(m, images[:100]); err == nil {
		t.Error("a 100-pixel image accepted")
	}
}

func TestGradCheckReportsEveryParameter(t *testing.T) {
	m, _ := model.NewXOR(2, true, 3)
	x, y := model.XORBatch()
	checks, err := GradCheck(m, 4, x, y, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 4 || checks[0].Name != "weights0" || checks[0].Checked != 4 || checks[3].Checked != 1 {
		t.Fatalf("checks %+v", checks)
	}
	for _, c := range checks {
		if c.Worst > 1e-6 || (c.Symbolic == 0 && c.Numeric == 0 && c.Name != "bias0") {
			t.Errorf("%+v", c)
		}
	}
	// A float32 model is refused; its float64 copy is checked.
	mlp, _ := model.NewMLP(3, 1)
	if _, err := GradCheck(mlp, 1, nil, nil, 1); err == nil {
		t.Error("float32 model accepted")
	}
	m64, err := Float64Copy(mlp)
	if err != nil {
		t.Fatal(err)
	}
	x, y = model.RandomBatch(m64, 1, 1)
	checks, err = GradCheck(m64, 1, x, y, 3)
	if err != nil || len(checks) != 4 || checks[0].Checked != 3 {
		t.Fatalf("mlp: %+v %v", checks, err)
	}
}

// maxPool2 is a 2x2 max pooling with stride 2 of each side x side map, written out for the
// tests.
func maxPool2(in [][]float32, side int) [][]float32 {
	h := side / 2
	res := make([][]float32, len(in))
	for c, ch := range in {
		m := make([]float32, h*h)
		for y := 0; y < h; y++ {
			for x := 0; x < h; x++ {
				m[y*h+x] = max(ch[2*y*side+2*x], ch[2*y*side+2*x+1], ch[(2*y+1)*side+2*x], ch[(2*y+1)*side+2*x+1])
			}
		}
		res[c] = m
	}
	return res
}

// float64Param returns the n values of m's parameter name as float64s.
func float64Param(m *model.Model, name string, n int) ([]float64, error) {
	p := m.Param(name)
	if p == nil {
		return nil, fmt.Errorf("no parameter %s", name)
	}
	d := p.T.Data().([]float32)
	if len(d) != n {
		return nil, fmt.Errorf("parameter %s has %d values, want %d", name, len(d), n)
	}
	v := make([]float64, n)
	for i, x := range d {
		v[i] = float64(x)
	}
	return v, nil
}
