package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/graphtrain/graphtrain/model"
)

// FuzzLoadCheckpoint loads a checkpoint whose model.json is the fuzzer's, beside the valid
// array files of a small XOR net: it must load or fail with ErrCheckpoint, never panic or
// allocate what the file only claims.
func FuzzLoadCheckpoint(f *testing.F) {
	m, _ := model.NewXOR(3, true, 1)
	s, _ := model.NewSolver("momentum", 0.1)
	s.Init(m)
	seedDir := f.TempDir()
	ck := filepath.Join(seedDir, "ck")
	if err := SaveCheckpoint(ck, m, s, Checkpoint{Epoch: 2, Hyper: &Hyperparameters{LR: 0.1}}); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(filepath.Join(ck, "model.json"))
	f.Add(good)
	f.Add([]byte(`{"format": "graphtrain-checkpoint-1", "model": {"kind": "mlp", "inputs": 784, "hidden": 4000000000, "outputs": 10, "bias": true, "activation": "relu", "dtype": "float32"}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"hyperparameters": {"lr": "x"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		dir := t.TempDir()
		entries, _ := os.ReadDir(ck)
		for _, e := range entries {
			if e.Name() != "model.json" {
				os.Link(filepath.Join(ck, e.Name()), filepath.Join(dir, e.Name()))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "model.json"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		m2, _, _, err := LoadCheckpoint(dir)
		if err != nil {
			if !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("error %v does not wrap ErrCheckpoint", err)
			}
			return
		}
		if m2.Spec.Kind != "xor" || m2.Spec.Hidden != 3 {
			t.Fatalf("loaded %v from the files of a 2-3-1 XOR net", m2.Spec)
		}
	})
}

// FuzzParseModelJSON checks model.json on its own: it accepts or refuses, nothing else.
func FuzzParseModelJSON(f *testing.F) {
	f.Add([]byte(`{"format": "graphtrain-checkpoint-1", "model": {"kind": "cnn", "inputs": 784, "outputs": 10, "bias": true, "activation": "relu", "dtype": "float32"}, "params": []}`))
	f.Add([]byte(`{"format": "graphtrain-checkpoint-1", "model": {"kind": "xor", "inputs": 2, "hidden": -1}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ck, err := ParseModelJSON(raw)
		if err != nil {
			return
		}
		if _, err := ck.Model.ParamShapes(); err != nil {
			t.Fatalf("accepted a model.json whose spec has no shapes: %v", err)
		}
		if n, _ := ck.Model.ParamBytes(); n < 0 {
			t.Fatalf("parameter bytes %d", n)
		}
	})
}

// TestParamShapesMatchConstructors keeps ParamShapes, which load uses before allocating, in
// step with the constructors.
func TestParamShapesMatchConstructors(t *testing.T) {
	xor, _ := model.NewXOR(5, true, 1)
	xorNoBias, _ := model.NewXOR(3, false, 1)
	mlp, _ := model.NewMLP(7, 1)
	cnn, _ := model.NewCNN(1)
	deep, _ := model.NewDeepMLP([]int{9, 1, 5}, 1)
	for _, m := range []*model.Model{xor, xorNoBias, mlp, cnn, deep} {
		ps, err := m.Spec.ParamShapes()
		if err != nil || len(ps) != len(m.Params) {
			t.Fatalf("%s: %d shapes (%v) for %d parameters", m.Spec.Kind, len(ps), err, len(m.Params))
		}
		for i, p := range m.Params {
			if ps[i].Name != p.Name || !slices.Equal(ps[i].Shape, p.T.Shape()) {
				t.Errorf("%s: ParamShapes says %s %v, the constructor makes %s %v", m.Spec.Kind, ps[i].Name, ps[i].Shape, p.Name, p.T.Shape())
			}
		}
		spec, err := model.SpecFor(m.Spec.Kind, m.Spec.Hidden, m.Spec.Bias)
		if m == deep {
			spec, err = model.MLPSpec(m.Spec.HiddenLayers())
		}
		if err != nil || !spec.Equal(m.Spec) {
			t.Errorf("SpecFor(%s) = %v, %v; the constructor's is %v", m.Spec.Kind, spec, err, m.Spec)
		}
	}
}
