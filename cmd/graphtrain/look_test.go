package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkPNG decodes the PNG at path and checks its size (0: any) and that it is not blank:
// its grey levels must vary.
func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if (w > 0 && b.Dx() != w) || (h > 0 && b.Dy() != h) {
		t.Errorf("%s: %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
	var n, sum, sq float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			v := float64(r+g+bl) / 3 / 65535
			n, sum, sq = n+1, sum+v, sq+v*v
		}
	}
	if variance := sq/n - (sum/n)*(sum/n); variance < 1e-3 {
		t.Errorf("%s looks blank: grey variance %.2g", path, variance)
	}
}

// wantFail checks a failed run: its exit status, one line on stderr with the words want.
func wantFail(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	msg := strings.TrimSpace(r.stderr)
	if r.code != code || strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "graphtrain: ") || strings.Contains(msg, "panic") {
		t.Errorf("exit %d, want %d, with one line on stderr:\n%s", r.code, code, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

func TestInspectXOR(t *testing.T) {
	dir := t.TempDir()
	if r := runBin(t, dir, "", "train", "xor", "-q", "--out", "plain"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runBin(t, dir, "", "train", "xor", "-q", "--bias", "--epochs", "5000", "--lr", "0.5", "--seed", "1", "--out", "biased"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	numpy, _ := filepath.Abs(filepath.Join("..", "..", "train", "testdata", "xor_numpy_init"))
	for _, c := range []struct {
		weights string
		hidden  int
	}{{"plain", 4}, {"biased", 4}, {numpy, 4}} {
		out := filepath.Join(dir, "pics-"+filepath.Base(c.weights))
		r := runBin(t, dir, "", "inspect", "xor", "--weights", c.weights, "--out", out, "--json")
		if r.code != 0 {
			t.Fatalf("inspect xor %s: exit %d: %s", c.weights, r.code, r.stderr)
		}
		var res struct {
			Hidden [][]float64 `json:"hidden"`
			Output []float64   `json:"output"`
			Units  []struct {
				Unit        string  `json:"unit"`
				Function    string  `json:"function"`
				MaxDistance float64 `json:"max_distance"`
			} `json:"units"`
			Files []string `json:"files"`
		}
		lastJSON(t, r.stdout, &res)
		if len(res.Hidden) != 4 || len(res.Hidden[0]) != c.hidden || len(res.Output) != 4 || len(res.Units) != c.hidden+1 {
			t.Fatalf("%s: %+v", c.weights, res)
		}
		if c.weights != numpy {
			// Trained nets compute XOR, and say so.
			if out := res.Units[c.hidden]; out.Unit != "output" || out.Function != "XOR" || out.MaxDistance > 0.2 {
				t.Errorf("%s: output unit %+v, want XOR", c.weights, out)
			}
		}
		for _, u := range res.Units {
			if !strings.Contains(r.stdout, u.Function) || u.MaxDistance < 0 || u.MaxDistance > 0.5 {
				t.Errorf("%s: unit %+v not in the table", c.weights, u)
			}
		}
		if !strings.Contains(r.stdout, "hidden0") || !strings.Contains(r.stdout, "output") {
			t.Errorf("table:\n%s", r.stdout)
		}
		if len(res.Files) != c.hidden+2 {
			t.Errorf("files %v", res.Files)
		}
		for j := 0; j < c.hidden; j++ {
			checkPNG(t, filepath.Join(out, "hidden"+string(rune('0'+j))+".png"), xorW, xorH)
		}
		checkPNG(t, filepath.Join(out, "output.png"), xorW, xorH)
		checkPNG(t, filepath.Join(out, "all.png"), xorW*(c.hidden+1), xorH)
	}
	// The default --out.
	if r := runBin(t, dir, "", "inspect", "xor", "--weights", "plain", "-q"); r.code != 0 || r.stdout != "" {
		t.Fatalf("inspect xor -q: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	checkPNG(t, filepath.Join(dir, "inspect-xor", "output.png"), xorW, xorH)
}

func TestInspectPlotMNISTAndBadInputs(t *testing.T) {
	dir := t.TempDir()
	// Tiny models: a second or two each.
	r := runBin(t, dir, "", "train", "mnist", "-q", "--hidden", "16", "--limit", "1000", "--epochs", "2", "--out", "mlp",
		"--metrics", "m.jsonl", "--plot", "curves.png")
	if r.code != 0 {
		t.Fatalf("train mnist mlp: exit %d: %s", r.code, r.stderr)
	}
	checkPNG(t, filepath.Join(dir, "curves.png"), 0, 0)
	r = runBin(t, dir, "", "train", "mnist", "-q", "--model", "cnn", "--limit", "1000", "--epochs", "1", "--out", "cnn", "--plot", "cnn.png")
	if r.code != 0 {
		t.Fatalf("train mnist cnn: exit %d: %s", r.code, r.stderr)
	}
	checkPNG(t, filepath.Join(dir, "cnn.png"), 0, 0)
	if r := runBin(t, dir, "", "train", "xor", "-q", "--out", "xor"); r.code != 0 {
		t.Fatal(r.stderr)
	}

	// inspect mnist, mlp: one grid of 16 unit templates.
	r = runBin(t, dir, "", "inspect", "mnist", "--weights", "mlp", "--out", "im", "--json")
	if r.code != 0 {
		t.Fatalf("inspect mnist mlp: exit %d: %s", r.code, r.stderr)
	}
	checkPNG(t, filepath.Join(dir, "im", "weights0.png"), 0, 0)
	// cnn: filters and the feature maps of a test image.
	r = runBin(t, dir, "", "inspect", "mnist", "--weights", "cnn", "--out", "ic", "--index", "3")
	if r.code != 0 || !strings.Contains(r.stdout, "test image 3") {
		t.Fatalf("inspect mnist cnn: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{"filters.png", "maps0.png", "maps1.png"} {
		checkPNG(t, filepath.Join(dir, "ic", f), 0, 0)
	}

	// plot from the metrics file, default and given --out.
	r = runBin(t, dir, "", "plot", "--metrics", "m.jsonl")
	if r.code != 0 || !strings.Contains(r.stdout, "2 epochs") {
		t.Fatalf("plot: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	checkPNG(t, filepath.Join(dir, "m.png"), 0, 0)
	if r := runBin(t, dir, "", "plot", "--metrics", "m.jsonl", "--out", "p.png"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	checkPNG(t, filepath.Join(dir, "p.png"), 0, 0)

	// Bad inputs: one line, the right status, nothing written or overwritten.
	good, _ := os.ReadFile(filepath.Join(dir, "m.jsonl"))
	os.WriteFile(filepath.Join(dir, "broken.jsonl"), append(append([]byte{}, good...), "{\"epoch\": 3, \"train_loss\": 0.1,\n"...), 0o644)
	os.WriteFile(filepath.Join(dir, "other.jsonl"), []byte("{\"hello\": 1}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "afile"), []byte("keep"), 0o644)
	os.WriteFile(filepath.Join(dir, "keep.png"), []byte("keep"), 0o644)
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"mlp to inspect xor", []string{"inspect", "xor", "--weights", "mlp", "--out", "keep"}, 1, []string{"mlp model, not an XOR net"}},
		{"xor to inspect mnist", []string{"inspect", "mnist", "--weights", "xor", "--out", "keep"}, 1, []string{"xor model, not an MNIST model"}},
		{"no weights", []string{"inspect", "xor"}, 2, []string{"--weights"}},
		{"missing weights", []string{"inspect", "xor", "--weights", "nothere"}, 1, []string{"nothere"}},
		{"out under a file", []string{"inspect", "xor", "--weights", "xor", "--out", "afile/pics"}, 1, []string{"afile/pics"}},
		{"out is a file", []string{"inspect", "mnist", "--weights", "mlp", "--out", "afile"}, 1, []string{"afile", "not a directory"}},
		{"index with mlp", []string{"inspect", "mnist", "--weights", "mlp", "--index", "3"}, 2, []string{"cnn"}},
		{"bad index", []string{"inspect", "mnist", "--weights", "cnn", "--index", "10000"}, 2, []string{"--index 10000"}},
		{"unknown inspect", []string{"inspect", "resnet"}, 2, []string{"unknown command"}},
		{"broken metrics line", []string{"plot", "--metrics", "broken.jsonl", "--out", "keep.png"}, 1, []string{"broken.jsonl", "line 3"}},
		{"not metrics", []string{"plot", "--metrics", "other.jsonl", "--out", "keep.png"}, 1, []string{"other.jsonl", "line 1", "epoch"}},
		{"no metrics file", []string{"plot", "--metrics", "none.jsonl"}, 1, []string{"none.jsonl"}},
		{"plot out under a file", []string{"plot", "--metrics", "m.jsonl", "--out", "afile/p.png"}, 1, []string{"afile/p.png"}},
		{"plot without metrics", []string{"plot"}, 2, []string{"--metrics"}},
		{"unknown graph model", []string{"graph", "resnet", "--dot", "keep.png"}, 2, []string{"resnet"}},
		{"graph without output", []string{"graph", "xor"}, 2, []string{"--dot"}},
		{"graph dot under a file", []string{"graph", "xor", "--dot", "afile/g.dot"}, 1, []string{"afile/g.dot"}},
		{"unknown gradcheck model", []string{"gradcheck", "resnet"}, 2, []string{"resnet"}},
		{"gradcheck wrong checkpoint", []string{"gradcheck", "cnn", "--weights", "mlp"}, 1, []string{"mlp model, not a cnn"}},
		{"gradcheck bad tol", []string{"gradcheck", "xor", "--tol", "-1"}, 2, []string{"--tol"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantFail(t, runBin(t, dir, "", c.args...), c.code, c.want...)
		})
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "keep.png")); string(b) != "keep" {
		t.Error("a failed command overwrote keep.png")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "afile")); string(b) != "keep" {
		t.Error("a failed command overwrote afile")
	}
	if _, err := os.Stat(filepath.Join(dir, "keep")); err == nil {
		t.Error("a failed inspect created its --out")
	}
}

func TestGraphDOT(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range []string{"xor", "mlp", "cnn"} {
		for _, grad := range []bool{false, true} {
			args := []string{"graph", kind, "--dot", kind + ".dot", "--json"}
			if grad {
				args = append(args, "--grad")
			}
			r := runBin(t, dir, "", args...)
			if r.code != 0 {
				t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
			}
			var res struct {
				Nodes int `json:"nodes"`
			}
			lastJSON(t, r.stdout, &res)
			b, err := os.ReadFile(filepath.Join(dir, kind+".dot"))
			if err != nil {
				t.Fatal(err)
			}
			dot := string(b)
			// Every node once, with a label (graph.TestWriteDOTHasEveryNode checks them by id).
			if got := strings.Count(dot, " [label="); got != res.Nodes || res.Nodes < 10 {
				t.Errorf("%s grad=%v: %d labelled nodes in the DOT, the graph has %d", kind, grad, got, res.Nodes)
			}
			if !strings.HasPrefix(dot, "digraph") || !strings.Contains(dot, "parameter\\nweights0") || grad != strings.Contains(dot, "d loss / d weights0") {
				t.Errorf("%s grad=%v: DOT:\n%.300s", kind, grad, dot)
			}
		}
	}
	// A deeper mlp: a dense layer more per --hidden size.
	r := runBin(t, dir, "", "graph", "mlp", "--hidden", "16,8", "--dot", "deep.dot", "--grad")
	b, _ := os.ReadFile(filepath.Join(dir, "deep.dot"))
	if r.code != 0 || !strings.Contains(string(b), "parameter\\nweights2") || !strings.Contains(string(b), "d loss / d weights2") {
		t.Errorf("graph mlp --hidden 16,8: exit %d: %s\n%.300s", r.code, r.stderr, b)
	}
	// --svg without Graphviz: a clear error, nothing written.
	empty := t.TempDir()
	cmd := []string{"graph", "xor", "--dot", "x2.dot", "--svg", "x.svg"}
	r = runBinEnv(t, dir, []string{"PATH=" + empty}, cmd...)
	wantFail(t, r, 1, "dot program is not installed", "apt-get install graphviz")
	for _, f := range []string{"x2.dot", "x.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s written although --svg failed", f)
		}
	}
}

func TestGradcheckCLI(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range []string{"xor", "mlp", "cnn"} {
		r := runBin(t, dir, "", "gradcheck", kind, "--samples", "5", "--json")
		if r.code != 0 {
			t.Fatalf("gradcheck %s: exit %d: %s%s", kind, r.code, r.stdout, r.stderr)
		}
		var res struct {
			Params []struct {
				Name  string  `json:"parameter"`
				Worst float64 `json:"worst_relative_error"`
			} `json:"params"`
			OK bool `json:"ok"`
		}
		lastJSON(t, r.stdout, &res)
		if !res.OK || len(res.Params) < 2 || !strings.Contains(r.stdout, "weights0") {
			t.Errorf("gradcheck %s: %+v\n%s", kind, res, r.stdout)
		}
	}
	// A deeper mlp: every layer's parameters checked.
	r := runBin(t, dir, "", "gradcheck", "mlp", "--hidden", "12,8,6", "--samples", "5")
	if r.code != 0 || !strings.Contains(r.stdout, "weights3") || !strings.Contains(r.stdout, "bias3") || !strings.Contains(r.stdout, "all within --tol") {
		t.Errorf("gradcheck mlp --hidden 12,8,6: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantFail(t, runBin(t, dir, "", "gradcheck", "xor", "--hidden", "4,4"), 2, "the XOR net has one hidden layer")
	wantFail(t, runBin(t, dir, "", "gradcheck", "mlp", "--hidden", "4,0"), 2, "--hidden 4,0: 0 hidden units")
	// A tolerance no float meets: exit 1, naming the parameter.
	r = runBin(t, dir, "", "gradcheck", "xor", "--tol", "1e-300")
	wantFail(t, r, 1, "above --tol")
}
