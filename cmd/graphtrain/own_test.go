package main

import (
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"graphtrain/checkpoint"
	"graphtrain/datasets"
)

// writeBars writes a data set of your own in MNIST's format to dir: 20x20 grey images of
// three classes (a horizontal bar, a vertical bar, a diagonal) at random places, with noise.
func writeBars(t *testing.T, dir string) {
	t.Helper()
	r := rand.New(rand.NewSource(3))
	for _, part := range []struct {
		n     int
		train bool
	}{{400, true}, {90, false}} {
		s := &datasets.Set{N: part.n, Rows: 20, Cols: 20, Images: make([]float32, part.n*400), Labels: make([]uint8, part.n)}
		for i := 0; i < part.n; i++ {
			img, class, at := s.Images[i*400:(i+1)*400], r.Intn(3), 3+r.Intn(14)
			for k := range img {
				img[k] = 0.2 * r.Float32()
			}
			for k := 0; k < 20; k++ {
				img[[]int{at*20 + k, k*20 + at, k * 21}[class]] = 1
			}
			s.Labels[i] = uint8(class)
		}
		if err := datasets.WriteSet(dir, s, part.train); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOwnDataOwnNetwork: a set of 3 classes of 20x20 images, made here, trains with a network
// of your own (--dataset own --arch), evaluates, exports to ONNX; a bad description or a
// last layer smaller than the classes is refused before anything is written.
func TestOwnDataOwnNetwork(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "bars")
	writeBars(t, data)
	arch := "conv(6,3,pad=same) relu maxpool(2) dense(24) tanh dense(3)"
	r := runBin(t, dir, "", "train", "mnist", "--dataset", "own", "--data-dir", data, "--arch", arch,
		"--epochs", "3", "--batch", "20", "--lr", "0.01", "--device", "cpu", "--out", "bars-ck")
	if r.code != 0 {
		t.Fatalf("train: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "training custom conv(6,3,pad=1) relu maxpool(2) flatten dense(24) tanh dense(3) (your own data set) on cpu") {
		t.Errorf("train printed:\n%s", r.stdout)
	}
	_, _, ck, err := checkpoint.LoadCheckpoint(filepath.Join(dir, "bars-ck"))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Model.Kind != "custom" || !strings.HasPrefix(ck.Model.Description, "conv(6,3,pad=1)") || ck.Dataset() != "own" {
		t.Errorf("model.json: %+v, data set %q", ck.Model, ck.Dataset())
	}
	r = runBin(t, dir, "", "eval", "mnist", "--weights", "bars-ck", "--data-dir", data, "--device", "cpu")
	if r.code != 0 || !strings.Contains(r.stdout, "test accuracy on your own data set") {
		t.Fatalf("eval: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, dir, "", "export", "onnx", "--weights", "bars-ck", "--out", "bars.onnx"); r.code != 0 {
		t.Fatalf("export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, dir, "", "inspect", "mnist", "--weights", "bars-ck", "--data-dir", data, "--index", "3", "--out", "look")
	if r.code != 0 || !strings.Contains(r.stdout, "filters.png") || !strings.Contains(r.stdout, "maps0.png") {
		t.Fatalf("inspect: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, c := range []struct {
		arch, want string
	}{
		{"conv(6,3) relu dense(3", "without its ')'"},
		{"conv(6,3) relu dense(2)", "its labels go up to 2, the model has 2 classes"},
		{"maxpool(2) conv(4,11) dense(3)", "smaller than the kernel"},
	} {
		r := runBin(t, dir, "", "train", "mnist", "--dataset", "own", "--data-dir", data, "--arch", c.arch, "--out", "bad")
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("--arch %q: exit %d, %s", c.arch, r.code, r.stderr)
		}
	}
	if r := runBin(t, dir, "", "train", "mnist", "--dataset", "own", "--data-dir", data, "--out", "bad"); r.code != 2 || !strings.Contains(r.stderr, "--arch") {
		t.Errorf("own data without --arch: exit %d, %s", r.code, r.stderr)
	}
}

// TestCustomGraphAndGradcheck: graph and gradcheck take a model description (custom
// --arch): the symbolic gradients of tanh, leakyrelu, pad=same and pooling match central
// differences; --arch without custom, and custom without --arch, are usage errors.
func TestCustomGraphAndGradcheck(t *testing.T) {
	dir := t.TempDir()
	arch := "conv(3,3,pad=same) tanh maxpool(2) dense(5) leakyrelu(0.1) dense(10)"
	if r := runBin(t, dir, "", "gradcheck", "custom", "--arch", arch); r.code != 0 || !strings.Contains(r.stdout, "all within --tol") {
		t.Errorf("gradcheck custom: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, dir, "", "graph", "custom", "--arch", arch, "--dot", "g.dot", "--grad"); r.code != 0 {
		t.Errorf("graph custom: exit %d\n%s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"graph", "custom", "--cost"}, {"gradcheck", "custom"}, {"graph", "cnn", "--arch", arch, "--cost"}} {
		if r := runBin(t, dir, "", args...); r.code != 2 || !strings.Contains(r.stderr, "--arch") {
			t.Errorf("%v: exit %d, %s", args, r.code, r.stderr)
		}
	}
}
