package train

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// The original numpy run (train.py, seed 42, 10000 epochs, lr 0.1) printed these predictions
// for 00 01 10 11, computed in the last epoch before its update.
var originalPredictions = []float64{0.10125271, 0.92688325, 0.92005246, 0.05933504}

// After the last update numpy's weights give these (numpy 1.24, same run, one more forward).
var originalAfterUpdate = []float64{0.10124564, 0.92688977, 0.92005948, 0.05932789}

func TestXORMatchesOriginalFromNumpyWeights(t *testing.T) {
	// Start from the weights numpy itself drew (testdata/make_npy.py), as written by np.save.
	m, _, ck, err := checkpoint.LoadCheckpoint(filepath.Join("testdata", "xor_numpy_init"))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Format != "numpy train.py" || !m.Spec.Equal(model.XORSpec(4, false)) {
		t.Fatalf("numpy weights loaded as %q %+v, want the bias-free XOR net with 4 hidden units", ck.Format, m.Spec)
	}
	res, err := TrainXOR(m, XORConfig{Epochs: 10000, LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range originalPredictions {
		if d := math.Abs(res.Predictions[i] - originalPredictions[i]); d > 1e-8 {
			t.Errorf("prediction %d = %.10f, the original printed %.8f (|diff| %.2g > 1e-8)", i, res.Predictions[i], originalPredictions[i], d)
		}
	}
	after, err := Outputs(nil, m, model.XORInputs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range originalAfterUpdate {
		if d := math.Abs(after[i] - originalAfterUpdate[i]); d > 1e-8 {
			t.Errorf("after the last update, prediction %d = %.10f, numpy gives %.8f", i, after[i], originalAfterUpdate[i])
		}
	}
	if res.Epochs != 10000 || !(res.Loss > 0.0127 && res.Loss < 0.0128) {
		t.Errorf("epochs %d loss %v, want 10000 and about 0.01276", res.Epochs, res.Loss)
	}
}

func TestNewXORSeedDrawsNumpyWeights(t *testing.T) {
	m, err := model.NewXOR(4, false, 42)
	if err != nil {
		t.Fatal(err)
	}
	ref, _, _, err := checkpoint.LoadCheckpoint(filepath.Join("testdata", "xor_numpy_init"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params {
		got, want := p.T.Data().([]float64), ref.Params[i].T.Data().([]float64)
		for j := range want {
			if got[j] != want[j] {
				t.Fatalf("%s[%d] = %v, numpy drew %v", p.Name, j, got[j], want[j])
			}
		}
	}
	if _, err := model.NewXOR(4, false, -1); err == nil {
		t.Error("seed -1 accepted")
	}
	if _, err := model.NewXOR(0, false, 1); err == nil {
		t.Error("0 hidden units accepted")
	}
}

func TestTrainXORRejectsBadConfig(t *testing.T) {
	m, _ := model.NewXOR(4, false, 42)
	for _, cfg := range []XORConfig{{Epochs: 0, LR: 0.1}, {Epochs: 10, LR: 0}, {Epochs: 10, LR: math.NaN()}, {Epochs: 10, LR: -1}} {
		if _, err := TrainXOR(m, cfg); err == nil {
			t.Errorf("TrainXOR(%+v) accepted", cfg)
		}
	}
}

func TestXORWithBiasLearns(t *testing.T) {
	m, err := model.NewXOR(4, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := TrainXOR(m, XORConfig{Epochs: 5000, LR: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range res.Predictions {
		if want := model.XORTargets[i]; math.Abs(p-want) > 0.2 {
			t.Errorf("with biases, input %d: %.3f, want near %v (loss %.4f)", i, p, want, res.Loss)
		}
	}
}

func BenchmarkTrainXOREpoch(b *testing.B) {
	m, _ := model.NewXOR(4, false, 42)
	net, err := m.Build(4, true)
	if err != nil {
		b.Fatal(err)
	}
	s, _ := model.NewSolver("sgd", 0.1)
	tr, err := vm.VM{}.NewTrainer(net, s)
	if err != nil {
		b.Fatal(err)
	}
	x, y := model.XORBatch()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tr.Step(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(4*b.N)/b.Elapsed().Seconds(), "samples/s")
}
