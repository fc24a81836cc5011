package lower

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/model"
)

// golden compares got with testdata/name, or writes it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("GRAPHTRAIN_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run GRAPHTRAIN_UPDATE_GOLDEN=1 go test ./lower -run %s to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s changed (rerun with GRAPHTRAIN_UPDATE_GOLDEN=1 if the change is intended):\n--- got\n%s", path, got)
	}
}

// census counts the op types and op strings of a graph's nodes.
func census(net *model.Net) string {
	sorted, err := G.Sort(net.G)
	if err != nil {
		return err.Error()
	}
	count := map[string]int{}
	for _, n := range sorted {
		k := opType(n)
		if k == "" {
			k = "input"
		}
		count[fmt.Sprintf("%-15s %s", k, n.Op())]++
	}
	var lines []string
	for k, c := range count {
		lines = append(lines, fmt.Sprintf("%3d %s", c, k))
	}
	sort.Strings(lines)
	return fmt.Sprintf("%s: %d nodes\n%s\n", net.Model.Spec.Kind, len(sorted), strings.Join(lines, "\n"))
}

// TestOpCensus prints the op census of each model's training graph (batch 8) and compares it
// with testdata/census.txt, so that a change in what Gorgonia hands us shows.
func TestOpCensus(t *testing.T) {
	var all strings.Builder
	for _, tm := range models(t) {
		net, err := tm.M.Build(8, true)
		if err != nil {
			t.Fatal(err)
		}
		c := census(net)
		t.Log(c)
		all.WriteString(c)
	}
	golden(t, "census.txt", all.String())
}

// TestGorgoniaOpLayout fails loudly when a Gorgonia version bump renames or retypes the op
// types or fields the lowering reads with reflect.
func TestGorgoniaOpLayout(t *testing.T) {
	seen := map[string]bool{}
	for _, tm := range models(t) {
		net, err := tm.M.Build(8, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range net.G.AllNodes() {
			k := opType(n)
			if k == "" {
				continue
			}
			fields, ok := opFields[k]
			if !ok {
				t.Errorf("Gorgonia op type %s (%v) is new to the lowering: give it a kernel or an error, and list its fields in opFields", k, n.Op())
				continue
			}
			seen[k] = true
			for _, f := range fields {
				if _, err := field(opValue(n), f); err != nil {
					t.Errorf("%s: %v", k, err)
				}
			}
		}
	}
	for k := range opFields {
		if !seen[k] && k != "maxPoolDiffOp" {
			t.Errorf("op type %s is listed in opFields but no model uses it any more", k)
		}
	}
	// The integer and boolean fields must still have the kinds the readers expect.
	x := tensor.New(tensor.WithShape(2, 1, 6, 6), tensor.WithBacking(make([]float32, 72)))
	g := G.NewGraph()
	in := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 1, 6, 6), G.WithValue(x))
	pooled := G.Must(G.MaxPool2D(in, tensor.Shape{2, 2}, []int{1, 0}, []int{2, 2}))
	p, err := readMaxPool(opValue(pooled))
	if err != nil || p != (convParams{kh: 2, kw: 2, padH: 1, padW: 0, strideH: 2, strideW: 2, dilH: 1, dilW: 1}) {
		t.Errorf("max pool parameters read as %+v, %v", p, err)
	}
	col := G.Must(G.Im2Col(in, tensor.Shape{3, 2}, []int{1, 0}, []int{2, 1}, []int{1, 1}))
	c, err := readIm2col(opValue(col))
	if err != nil || c != (convParams{kh: 3, kw: 2, padH: 1, padW: 0, strideH: 2, strideW: 1, dilH: 1, dilW: 1}) {
		t.Errorf("im2col parameters read as %+v, %v", c, err)
	}
}

// models are the three models (an internal test cannot import programtest).
func models(t *testing.T) []struct{ M *model.Model } {
	x, err1 := model.NewXOR(4, true, 42)
	mlp, err2 := model.NewMLP(32, 1)
	cnn, err3 := model.NewCNN(1)
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return []struct{ M *model.Model }{{x}, {mlp}, {cnn}}
}
