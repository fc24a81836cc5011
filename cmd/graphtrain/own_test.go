package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/datasets"
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
	arch := "conv(6,3,pad=same) batchnorm relu avgpool(2) dense(24) tanh dropout(0.2) dense(3)"
	r := runBin(t, dir, "", "train", "mnist", "--dataset", "own", "--data-dir", data, "--arch", arch,
		"--epochs", "3", "--batch", "20", "--lr", "0.01", "--device", "cpu", "--out", "bars-ck")
	if r.code != 0 {
		t.Fatalf("train: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "training custom conv(6,3,pad=1) batchnorm relu avgpool(2) flatten dense(24) tanh dropout(0.2) dense(3) (your own data set) on cpu") {
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
	predictOwn(t, dir, data)
	if r := runBin(t, dir, "", "export", "onnx", "--weights", "bars-ck", "--out", "bars.onnx"); r.code != 0 {
		t.Fatalf("export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, dir, "", "inspect", "mnist", "--weights", "bars-ck", "--data-dir", data, "--index", "3", "--out", "look")
	if r.code != 0 || !strings.Contains(r.stdout, "filters.png") {
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
// --arch): the symbolic gradients of tanh, leakyrelu, pad=same, pooling, batch
// normalisation, dropout and average pooling match float64 central differences; --arch without custom, and custom without --arch, are usage errors.
func TestCustomGraphAndGradcheck(t *testing.T) {
	dir := t.TempDir()
	arch := "conv(3,3,pad=same) tanh maxpool(2) dense(5) leakyrelu(0.1) dense(10)"
	for _, a := range []string{arch, "conv(3,3) batchnorm relu avgpool(2) dense(6) batchnorm tanh dropout(0.3) dense(10)"} {
		if r := runBin(t, dir, "", "gradcheck", "custom", "--arch", a); r.code != 0 || !strings.Contains(r.stdout, "all within --tol") {
			t.Errorf("gradcheck custom --arch %q: exit %d\n%s%s", a, r.code, r.stdout, r.stderr)
		}
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

// predictOwn: predict takes a test image of the own set (--index, 400 values each) and a
// picture of another size, scaled to the model's 20x20 with a warning: a vertical bar drawn
// at 40x40 is the vertical bars' class.
func predictOwn(t *testing.T, dir, data string) {
	t.Helper()
	r := runBin(t, dir, "", "predict", "mnist", "--weights", "bars-ck", "--data-dir", data, "--index", "89", "-q")
	if r.code != 0 || !strings.Contains(r.stdout, "label: ") {
		t.Fatalf("predict --index 89: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, dir, "", "predict", "mnist", "--weights", "bars-ck", "--data-dir", data, "--index", "90"); r.code != 2 || !strings.Contains(r.stderr, "the test set has 90 images") {
		t.Errorf("predict --index 90: exit %d, %s", r.code, r.stderr)
	}
	img := image.NewGray(image.Rect(0, 0, 40, 40))
	for y := 0; y < 40; y++ {
		img.SetGray(20, y, color.Gray{Y: 255})
		img.SetGray(21, y, color.Gray{Y: 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bar.png"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runBin(t, dir, "", "predict", "mnist", "--weights", "bars-ck", "bar.png", "--json", "-q")
	if r.code != 0 || !strings.Contains(r.stderr, "bar.png is 40x40 pixels; scaled to the model's 20x20") {
		t.Fatalf("predict bar.png: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var got struct {
		Answer int `json:"class"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Answer != 1 {
		t.Errorf("predict bar.png: %s (%v), want the vertical bars' class 1", r.stdout, err)
	}
}
