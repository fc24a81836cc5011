package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/onnx"
	"github.com/graphtrain/graphtrain/train"
)

// The exported files are checked by others' software: ONNX Runtime (npm's onnxruntime-node,
// run by onnx/testdata/ort/run.js) computes the outputs, which must be within 1e-4 of
// graphtrain's own forward pass, and Debian's python3-onnx checks the model
// (onnx.checker.check_model with full_check). Where node, onnxruntime-node or python3-onnx is
// missing, those parts skip, saying why; make onnx-deps installs them (.ci/run does).

// onnxTolerance is the largest difference allowed between ONNX Runtime's outputs and graphtrain's.
const onnxTolerance = 1e-4

// ortDir is where run.js and, after make onnx-deps, node_modules/onnxruntime-node are.
func ortDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "onnx", "testdata", "ort"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// needORT skips the test unless node and onnxruntime-node are there.
func needORT(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH: cannot run ONNX Runtime; run make onnx-deps (Debian: apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(ortDir(t), "node_modules", "onnxruntime-node", "package.json")); err != nil {
		t.Skip("onnxruntime-node is not installed in onnx/testdata/ort: run make onnx-deps")
	}
}

// checkerPython is Debian's python3, where python3-onnx lives (not a pyenv one on PATH).
const checkerPython = "/usr/bin/python3"

// needChecker skips the test unless python3-onnx is there.
func needChecker(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(checkerPython, "-c", "import onnx").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import onnx (%v: %s): run make onnx-deps (Debian: apt-get install python3-onnx)", checkerPython, err, bytes.TrimSpace(out))
	}
}

// checkerReport is what the onnx package of python3-onnx reads in an exported file.
type checkerReport struct {
	IRVersion       int               `json:"ir_version"`
	Opset           int               `json:"opset"`
	ProducerName    string            `json:"producer_name"`
	ProducerVersion string            `json:"producer_version"`
	Metadata        map[string]string `json:"metadata"`
	Ops             []string          `json:"ops"`
	Output          []int             `json:"output_shape"` // -1 for a named dimension
}

const checkerScript = `
import json, sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
inferred = onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
out = inferred.graph.output[0].type.tensor_type.shape.dim
print(json.dumps({
    "ir_version": m.ir_version,
    "opset": [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")][0],
    "producer_name": m.producer_name,
    "producer_version": m.producer_version,
    "metadata": {p.key: p.value for p in m.metadata_props},
    "ops": [n.op_type for n in m.graph.node],
    "output_shape": [d.dim_value if d.HasField("dim_value") else -1 for d in out],
}))
`

// checkONNX runs the onnx checker with full checking (and strict shape inference) on path.
func checkONNX(t *testing.T, path string) checkerReport {
	t.Helper()
	out, err := exec.Command(checkerPython, "-c", checkerScript, path).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker.check_model(%s, full_check=True): %v\n%s", filepath.Base(path), err, out)
	}
	var r checkerReport
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("checker output: %v\n%s", err, out)
	}
	return r
}

// runORT runs the model in ONNX Runtime on input ([]float32 or []float64, shape rows x cols)
// and returns its one output, converted to float64.
func runORT(t *testing.T, model string, input any, rows, cols int) []float64 {
	t.Helper()
	var buf bytes.Buffer
	dtype := "float32"
	if _, ok := input.([]float64); ok {
		dtype = "float64"
	}
	if err := binary.Write(&buf, binary.LittleEndian, input); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "input.bin")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(ortDir(t), "run.js"), model, in, dtype, fmt.Sprintf("%d,%d", rows, cols))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ONNX Runtime on %s: %v\n%s", filepath.Base(model), err, stderr.String())
	}
	var res struct {
		Outputs map[string]struct {
			Dims []int     `json:"dims"`
			Type string    `json:"type"`
			Data []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("run.js output: %v\n%.300s", err, stdout.String())
	}
	if len(res.Outputs) != 1 {
		t.Fatalf("ONNX Runtime gave %d outputs, want 1", len(res.Outputs))
	}
	for name, o := range res.Outputs {
		if o.Type != dtype || len(o.Dims) != 2 || o.Dims[0] != rows || len(o.Data) != o.Dims[0]*o.Dims[1] {
			t.Fatalf("ONNX Runtime output %q: %s %v with %d values, want %s [%d, ...]", name, o.Type, o.Dims, len(o.Data), dtype, rows)
		}
		return o.Data
	}
	return nil
}

// exportONNX runs 'graphtrain export onnx' on the checkpoint in dir/weights and checks its JSON.
func exportONNX(t *testing.T, dir, weights, kind string) string {
	t.Helper()
	r := runBin(t, dir, "", "export", "onnx", "--weights", weights, "--out", weights+".onnx", "--json")
	if r.code != 0 {
		t.Fatalf("export onnx: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var j struct {
		Out   string `json:"out"`
		Model string `json:"model"`
		Opset int    `json:"opset"`
		Bytes int    `json:"bytes"`
	}
	lastJSON(t, r.stdout, &j)
	path := filepath.Join(dir, weights+".onnx")
	st, err := os.Stat(path)
	if err != nil || j.Out != weights+".onnx" || j.Model != kind || j.Opset != onnx.Opset || int64(j.Bytes) != st.Size() {
		t.Fatalf("export onnx --json: %+v, file %v", j, err)
	}
	return path
}

// checkReport checks what the onnx package read in an exported file.
func checkReport(t *testing.T, r checkerReport, kind string, ops []string, outputs int) {
	t.Helper()
	if r.IRVersion != onnx.IRVersion || r.Opset != onnx.Opset || r.ProducerName != "graphtrain" || r.ProducerVersion == "" {
		t.Errorf("%s: ir %d opset %d producer %q %q", kind, r.IRVersion, r.Opset, r.ProducerName, r.ProducerVersion)
	}
	if strings.Join(r.Ops, " ") != strings.Join(ops, " ") {
		t.Errorf("%s: nodes %v, want %v", kind, r.Ops, ops)
	}
	if len(r.Output) != 2 || r.Output[0] != -1 || r.Output[1] != outputs {
		t.Errorf("%s: inferred output shape %v, want [N, %d]", kind, r.Output, outputs)
	}
	if r.Metadata["kind"] != kind {
		t.Errorf("%s: metadata %v", kind, r.Metadata)
	}
}

func TestExportONNXXOR(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
	}{
		{"xor", nil}, // the original's bias-free 2-4-1 net, seed 42
		{"xor2", []string{"--hidden", "2", "--bias", "--lr", "0.5", "--seed", "3", "--epochs", "20000"}}, // README's AND/OR net
	} {
		r := runBin(t, dir, "", append([]string{"train", "xor", "--quiet", "--out", c.name}, c.args...)...)
		if r.code != 0 {
			t.Fatalf("train xor: exit %d\n%s", r.code, r.stderr)
		}
		path := exportONNX(t, dir, c.name, "xor")
		m, _, _, err := checkpoint.LoadCheckpoint(filepath.Join(dir, c.name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := train.Outputs(nil, m, model.XORInputs)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(c.name+"/checker", func(t *testing.T) {
			needChecker(t)
			rep := checkONNX(t, path)
			checkReport(t, rep, "xor", []string{"Gemm", "Sigmoid", "Gemm", "Sigmoid"}, 1)
			if rep.Metadata["dataset"] != "xor" || rep.Metadata["dtype"] != "float64" || rep.Metadata["loss"] == "" {
				t.Errorf("metadata %v", rep.Metadata)
			}
			t.Logf("onnx.checker.check_model(full_check=True) passed: %v", rep.Metadata)
		})
		t.Run(c.name+"/onnxruntime", func(t *testing.T) {
			needORT(t)
			got := runORT(t, path, append([]float64(nil), model.XORInputs...), 4, 2)
			worst := 0.0
			for i := range want {
				worst = math.Max(worst, math.Abs(got[i]-want[i]))
				if (got[i] > 0.5) != (want[i] > 0.5) {
					t.Errorf("input %v: ONNX Runtime %v, graphtrain %v: different answers", model.XORInputs[2*i:2*i+2], got[i], want[i])
				}
			}
			t.Logf("%s: ONNX Runtime %v, graphtrain %v: worst difference %.3g", c.name, got, want, worst)
			if worst > onnxTolerance {
				t.Errorf("worst difference %g > %g", worst, onnxTolerance)
			}
		})
	}
}

func TestExportONNXMNIST(t *testing.T) {
	dir := t.TempDir()
	const n = 1000 // test images run through both
	var images []float32
	for _, c := range []struct {
		model string
		args  []string
		ops   []string
	}{
		{"mlp", []string{"--hidden", "32"}, []string{"Gemm", "Relu", "Gemm"}},
		{"cnn", nil, []string{"Reshape", "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm"}},
	} {
		args := append([]string{"train", "mnist", "--model", c.model, "--limit", "6000", "--epochs", "2", "--out", c.model, "--quiet"}, c.args...)
		if r := runBin(t, dir, "", args...); r.code != 0 {
			t.Fatalf("train mnist: exit %d\n%s", r.code, r.stderr)
		}
		if images == nil {
			data, err := datasets.DefaultDir() // where train mnist found MNIST
			if err != nil {
				t.Fatal(err)
			}
			_, test, err := datasets.LoadMNIST(data)
			if err != nil {
				t.Fatal(err)
			}
			images = test.Images[:n*model.ImageSize]
		}
		path := exportONNX(t, dir, c.model, c.model)
		m, _, _, err := checkpoint.LoadCheckpoint(filepath.Join(dir, c.model))
		if err != nil {
			t.Fatal(err)
		}
		var want []float32
		if err := train.Logits(nil, m, images, n, func(l []float32) { want = append(want, l...) }); err != nil {
			t.Fatal(err)
		}
		t.Run(c.model+"/checker", func(t *testing.T) {
			needChecker(t)
			rep := checkONNX(t, path)
			checkReport(t, rep, c.model, c.ops, model.Classes)
			if rep.Metadata["dataset"] != "mnist" || rep.Metadata["val_accuracy"] == "" || rep.Metadata["epoch"] == "" {
				t.Errorf("metadata %v", rep.Metadata)
			}
			t.Logf("onnx.checker.check_model(full_check=True) passed: %v", rep.Metadata)
		})
		t.Run(c.model+"/onnxruntime", func(t *testing.T) {
			needORT(t)
			got := runORT(t, path, images, n, model.ImageSize)
			if len(got) != len(want) {
				t.Fatalf("%d logits from ONNX Runtime, %d from graphtrain", len(got), len(want))
			}
			worst, differ := compareLogits(got, want)
			largest := 0.0
			for _, v := range want {
				largest = math.Max(largest, math.Abs(float64(v)))
			}
			t.Logf("%s: %d test images: worst logit difference %.3g (logits up to %.1f in size); %d predictions differ", c.model, n, worst, largest, differ)
			if worst > onnxTolerance || differ > 0 {
				t.Errorf("worst difference %g (at most %g), %d of %d predicted digits differ", worst, onnxTolerance, differ, n)
			}
		})
	}
}

// compareLogits returns the largest difference and the number of rows of 10 whose largest
// logit is not at the same place.
func compareLogits(got []float64, want []float32) (worst float64, differ int) {
	for i := 0; i < len(want); i += model.Classes {
		g, w := 0, 0
		for k := 0; k < model.Classes; k++ {
			worst = math.Max(worst, math.Abs(got[i+k]-float64(want[i+k])))
			if got[i+k] > got[i+g] {
				g = k
			}
			if want[i+k] > want[i+w] {
				w = k
			}
		}
		if g != w {
			differ++
		}
	}
	return worst, differ
}

// A deeper MLP (784-64-32-10, as --hidden 64,32 makes), with
// random weights, exported by the onnx package and run by ONNX Runtime against a plain Go
// forward pass: every dense layer is there, ReLU between them and none after the last.
func TestExportONNXDeepMLP(t *testing.T) {
	needORT(t)
	sizes := []int{model.ImageSize, 64, 32, model.Classes}
	r := rand.New(rand.NewSource(7))
	m := &model.Model{Spec: model.Spec{Kind: "mlp", Inputs: model.ImageSize, Hidden: 64, Layers: []int{64, 32}, Outputs: model.Classes, Bias: true, Activation: "relu", Dtype: "float32"}}
	uniform := func(n int, bound float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((2*r.Float64() - 1) * bound)
		}
		return v
	}
	for i := 0; i+1 < len(sizes); i++ {
		bound := 1 / math.Sqrt(float64(sizes[i]))
		m.Params = append(m.Params,
			&model.Param{Name: "weights" + strconv.Itoa(i), T: tensor.New(tensor.WithShape(sizes[i], sizes[i+1]), tensor.WithBacking(uniform(sizes[i]*sizes[i+1], bound)))},
			&model.Param{Name: "bias" + strconv.Itoa(i), T: tensor.New(tensor.WithShape(1, sizes[i+1]), tensor.WithBacking(uniform(sizes[i+1], bound)))})
	}
	om, err := onnx.Export(m, onnx.Info{ProducerVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "deep.onnx")
	if err := os.WriteFile(path, om.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 100
	x := make([]float32, n*model.ImageSize)
	for i := range x {
		x[i] = r.Float32()
	}
	// The forward pass in float64, from the parameters.
	want := make([]float32, 0, n*model.Classes)
	for row := 0; row < n; row++ {
		h := make([]float64, model.ImageSize)
		for i, v := range x[row*model.ImageSize : (row+1)*model.ImageSize] {
			h[i] = float64(v)
		}
		for l := 0; l+1 < len(sizes); l++ {
			w := m.Param("weights" + strconv.Itoa(l)).T.Data().([]float32)
			b := m.Param("bias" + strconv.Itoa(l)).T.Data().([]float32)
			next := make([]float64, sizes[l+1])
			for j := range next {
				s := float64(b[j])
				for i, v := range h {
					s += v * float64(w[i*sizes[l+1]+j])
				}
				if l+2 < len(sizes) {
					s = math.Max(s, 0)
				}
				next[j] = s
			}
			h = next
		}
		for _, v := range h {
			want = append(want, float32(v))
		}
	}
	got := runORT(t, path, x, n, model.ImageSize)
	worst, differ := compareLogits(got, want)
	t.Logf("784-64-32-10: worst logit difference %.3g, %d predictions differ", worst, differ)
	if worst > onnxTolerance || differ > 0 {
		t.Errorf("worst difference %g (at most %g), %d of %d predicted digits differ", worst, onnxTolerance, differ, n)
	}
	t.Run("checker", func(t *testing.T) {
		needChecker(t)
		if rep := checkONNX(t, path); rep.Metadata["layers"] != "784-64-32-10" {
			t.Errorf("layers %q", rep.Metadata["layers"])
		}
	})
}

func TestExportONNXCommandLine(t *testing.T) {
	dir := t.TempDir()
	if r := runBin(t, dir, "", "train", "xor", "--quiet", "--epochs", "10", "--out", "xor"); r.code != 0 {
		t.Fatalf("train xor: %s", r.stderr)
	}
	// The default --out is the checkpoint's path with .onnx added.
	r := runBin(t, dir, "", "export", "onnx", "--weights", "xor")
	if _, err := os.Stat(filepath.Join(dir, "xor.onnx")); r.code != 0 || err != nil || !strings.Contains(r.stdout, "opset 13") {
		t.Fatalf("export onnx --weights xor: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "xor.onnx"))
	if err := os.MkdirAll(filepath.Join(dir, "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken", "model.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no --weights", nil, 2, "add --weights DIR"},
		{"an argument", []string{"--weights", "xor", "extra"}, 2, "takes no arguments"},
		{"unknown flag", []string{"--weights", "xor", "--opset", "17"}, 2, "unknown flag"},
		{"no checkpoint", []string{"--weights", "missing", "--out", "xor.onnx"}, 1, "does not exist"},
		{"broken checkpoint", []string{"--weights", "broken", "--out", "xor.onnx"}, 1, "not a graphtrain model.json"},
		{"no such directory for --out", []string{"--weights", "xor", "--out", "nodir/x.onnx"}, 1, "does not exist"},
		{"--out a directory", []string{"--weights", "xor", "--out", "broken"}, 1, "is a directory"},
	} {
		r := runBin(t, dir, "", append([]string{"export", "onnx"}, c.args...)...)
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if r.code != c.code || len(lines) != 1 || !strings.HasPrefix(r.stderr, "graphtrain: ") || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "; ") {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and one line 'graphtrain: <what>: <why>; <what to do>' mentioning %q", c.name, r.code, r.stderr, c.code, c.want)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "xor.onnx")); !bytes.Equal(before, after) {
		t.Errorf("a failed export changed xor.onnx")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	r = runBin(t, dir, "", "export", "onnx", "--help")
	for _, s := range []string{"--weights", "--out", "--json", "opset 13", "onnxruntime"} {
		if r.code != 0 || !strings.Contains(r.stdout, s) {
			t.Errorf("export onnx --help does not mention %s", s)
		}
	}
}
