package inspect

import (
	"math"
	"math/rand"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/model"
)

// TestXORGradientsMatchFiniteDifferences checks gorgonia.Grad on the XOR graph against central
// differences of the loss, for every parameter value, with and without biases.
func TestXORGradientsMatchFiniteDifferences(t *testing.T) {
	for _, bias := range []bool{false, true} {
		m, err := model.NewXOR(3, bias, 7)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewSource(1))
		for _, p := range m.Params {
			for i, d := 0, p.T.Data().([]float64); i < len(d); i++ {
				d[i] = r.Float64()*2 - 1
			}
		}
		x, y := model.XORBatch()
		worst := checkGradients(t, m, 4, x, y, 0)
		if worst > 1e-6 {
			t.Errorf("bias=%v: worst relative gradient error %.3g > 1e-6", bias, worst)
		}
	}
}

// checkGradients compares the symbolic gradient of every parameter value of m with a central
// difference of the loss on (x, y) and returns the worst relative error,
// |g − ĝ| / max(1e-3, |g| + |ĝ|) (float64 models only). With perParam > 0 it checks that
// many values of each parameter, picked at random (and always the first), not all of them.
// The logic is GradCheck's.
func checkGradients(t *testing.T, m *model.Model, batch int, x, y *tensor.Dense, perParam int) float64 {
	t.Helper()
	checks, err := GradCheck(m, batch, x, y, perParam)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for _, c := range checks {
		worst = math.Max(worst, c.Worst)
	}
	return worst
}

// float64Copy returns m with float64 parameters, for finite differences without float32 noise.
func float64Copy(m *model.Model) *model.Model {
	c, err := Float64Copy(m)
	if err != nil {
		panic(err)
	}
	return c
}

func TestMNISTGradientsMatchFiniteDifferences(t *testing.T) {
	mlp, _ := model.NewMLP(8, 3)
	cnn, _ := model.NewCNN(3)
	deep, _ := model.NewDeepMLP([]int{8, 6, 5}, 3)
	for _, m := range []*model.Model{mlp, cnn, deep} {
		m64 := float64Copy(m)
		x, y := model.RandomBatch(m64, 2, 4)
		worst := checkGradients(t, m64, 2, x, y, 25)
		t.Logf("%s: worst relative gradient error %.3g (25 values of each of %d parameter tensors)", m.Spec.Kind, worst, len(m.Params))
		if worst > 1e-5 {
			t.Errorf("%s: worst relative gradient error %.3g > 1e-5", m.Spec.Kind, worst)
		}
	}
}
