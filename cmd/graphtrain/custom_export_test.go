package main

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/onnx"
	"github.com/graphtrain/graphtrain/train"
)

// TestExportONNXCustom: models from descriptions (tanh, leakyrelu, strides, pad=same, several
// channels, odd image sides, vectors, batch normalisation with running statistics of its own,
// dropout, average pooling) export to ONNX that passes the checker's full check, and ONNX
// Runtime gives graphtrain's logits.
func TestExportONNXCustom(t *testing.T) {
	needORT(t)
	needChecker(t)
	r := rand.New(rand.NewSource(5))
	for _, c := range lowertest.Custom(t) {
		m := c.M
		lowertest.SetRunning(m, 5)
		om, err := onnx.Export(m, onnx.Info{ProducerVersion: "test", Dataset: "own"})
		if err != nil {
			t.Fatalf("%s: %v", m.Spec.Description, err)
		}
		path := filepath.Join(t.TempDir(), "custom.onnx")
		if err := os.WriteFile(path, om.Marshal(), 0o644); err != nil {
			t.Fatal(err)
		}
		const n = 20
		x := make([]float32, n*m.Spec.Inputs)
		for i := range x {
			x[i] = r.Float32()
		}
		var want []float32
		if err := train.Logits(nil, m, x, n, func(l []float32) { want = append(want, l...) }); err != nil {
			t.Fatal(err)
		}
		checkONNX(t, path)
		got := runORT(t, path, x, n, m.Spec.Inputs)
		if worst, differ := compareLogits(got, want); len(got) != len(want) || worst > onnxTolerance || differ > 0 {
			t.Errorf("%s: %d logits from ONNX Runtime for %d; worst difference %g, %d predictions differ", m.Spec.Description, len(got), len(want), worst, differ)
		}
	}
}
