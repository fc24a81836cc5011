package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/internal/dirlock"
	"github.com/graphtrain/graphtrain/internal/npy"
	"github.com/graphtrain/graphtrain/model"
)

func TestCheckpointRoundTrip(t *testing.T) {
	m, err := model.NewXOR(3, true, 5)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := model.NewSolver("adam", 0.01)
	if err := s.Init(m); err != nil {
		t.Fatal(err)
	}
	s.Steps = 17
	s.State["m/weights0"].Data().([]float64)[2] = 0.5
	dir := filepath.Join(t.TempDir(), "ck")
	if err := SaveCheckpoint(dir, m, s, Checkpoint{Epoch: 3, Seed: 5, Metrics: map[string]float64{"loss": 0.25}}); err != nil {
		t.Fatal(err)
	}
	m2, s2, ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !m2.Spec.Equal(m.Spec) || ck.Epoch != 3 || ck.Metrics["loss"] != 0.25 {
		t.Errorf("loaded %+v epoch %d metrics %v", m2.Spec, ck.Epoch, ck.Metrics)
	}
	for i, p := range m.Params {
		if !reflect.DeepEqual(p.T.Data(), m2.Params[i].T.Data()) {
			t.Errorf("%s changed in the round trip", p.Name)
		}
	}
	if s2 == nil || s2.Kind != "adam" || s2.Steps != 17 || s2.LR != 0.01 || len(s2.State) != 2*len(m.Params) {
		t.Fatalf("solver came back as %+v", s2)
	}
	if got := s2.State["m/weights0"].Data().([]float64)[2]; got != 0.5 {
		t.Errorf("Adam state m/weights0[2] = %v, want 0.5", got)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestCheckpointErrors(t *testing.T) {
	m, _ := model.NewXOR(4, false, 42)
	good := filepath.Join(t.TempDir(), "good")
	if err := SaveCheckpoint(good, m, nil, Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		setup func(dir string)
		want  string
	}{
		"missing dir": {func(dir string) { os.RemoveAll(dir) }, "does not exist"},
		"empty dir":   {func(dir string) { os.RemoveAll(dir); os.Mkdir(dir, 0o755) }, "holds no model.json"},
		"file":        {func(dir string) { os.RemoveAll(dir); os.WriteFile(dir, []byte("x"), 0o644) }, "is a file"},
		"corrupt model.json": {func(dir string) {
			os.WriteFile(filepath.Join(dir, "model.json"), []byte("{not json"), 0o644)
		}, "not a graphtrain model.json"},
		"unknown kind": {func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "model.json"))
			os.WriteFile(filepath.Join(dir, "model.json"), []byte(strings.Replace(string(b), `"kind": "xor"`, `"kind": "resnet"`, 1)), 0o644)
		}, "unknown model kind"},

		"edited weights": {func(dir string) {
			npy.Save(filepath.Join(dir, "weights1.npy"), &npy.Array{Shape: []int{4, 1}, Data: []float64{1, 2, 3, 4}})
		}, "does not match the checksum"},
		"missing weights": {func(dir string) { os.Remove(filepath.Join(dir, "weights1.npy")) }, "weights1.npy"},
	}
	for name, tc := range cases {
		dir := filepath.Join(t.TempDir(), "ck")
		if err := SaveCheckpoint(dir, m, nil, Checkpoint{}); err != nil {
			t.Fatal(err)
		}
		tc.setup(dir)
		_, _, _, err := LoadCheckpoint(dir)
		if err == nil || !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want ErrCheckpoint saying %q", name, err, tc.want)
		}
	}
}

func TestNumpyXORDirectoryShapes(t *testing.T) {
	for name, tc := range map[string]struct {
		w0, w1 []int
		want   string
	}{
		"w0 not 2xH":   {[]int{3, 4}, []int{4, 1}, "not the original numpy XOR net's (2, H)"},
		"w1 wrong":     {[]int{2, 4}, []int{3, 1}, "holds shape (3, 1), the model needs (4, 1)"},
		"w1 not a col": {[]int{2, 4}, []int{4}, "holds shape (4,), the model needs (4, 1)"},
	} {
		dir := t.TempDir()
		for file, shape := range map[string][]int{"weights0.npy": tc.w0, "weights1.npy": tc.w1} {
			n := 1
			for _, d := range shape {
				n *= d
			}
			if err := npy.Save(filepath.Join(dir, file), &npy.Array{Shape: shape, Data: make([]float64, n)}); err != nil {
				t.Fatal(err)
			}
		}
		_, _, _, err := LoadCheckpoint(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
	// float32 weights from numpy load too, converted.
	dir := t.TempDir()
	npy.Save(filepath.Join(dir, "weights0.npy"), &npy.Array{Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}})
	npy.Save(filepath.Join(dir, "weights1.npy"), &npy.Array{Shape: []int{2, 1}, Data: []float32{5, 6}})
	m, _, _, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Params[1].T.Data().([]float64); got[1] != 6 || m.Spec.Hidden != 2 {
		t.Errorf("float32 weights loaded as %v, hidden %d", got, m.Spec.Hidden)
	}
}

// TestSaveKeepsLockAndLast: a save swaps in a whole new directory, carrying over what is not
// the checkpoint's own: OUT/last, and the lock, which stays held across the swap.
func TestSaveKeepsLockAndLast(t *testing.T) {
	m, _ := model.NewXOR(2, false, 1)
	out := filepath.Join(t.TempDir(), "out")
	if err := SaveCheckpoint(out, m, nil, Checkpoint{Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	lock, err := dirlock.Acquire(out)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if err := SaveCheckpoint(LastDir(out), m, nil, Checkpoint{Epoch: 2}); err != nil {
		t.Fatal(err)
	}
	if err := SaveCheckpoint(out, m, nil, Checkpoint{Epoch: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := dirlock.Acquire(out); err == nil {
		t.Error("the lock was lost when the directory was replaced")
	}
	for dir, epoch := range map[string]int{out: 3, LastDir(out): 2} {
		if _, _, ck, err := LoadCheckpoint(dir); err != nil || ck.Epoch != epoch {
			t.Errorf("%s: epoch %v, %v; want %d", dir, ck, err, epoch)
		}
	}
}
