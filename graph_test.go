package graphtrain_test

import (
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain"
	"github.com/graphtrain/graphtrain/checkpoint"
)

// testNet is a user's graph for the tests: x [batch,2] -> tanh(x·w0 + b0) -> h·w1 + b1 =
// out [batch,2], cost the mean squared error against y, its parameters drawn from seed.
// With slice, the hidden layer's first half alone feeds the output, through G.Slice, an op
// the lowering has no kernel for.
type testNet struct {
	g      *G.ExprGraph
	nodes  graphtrain.GraphNodes
	hidden int
}

func newTestNet(t *testing.T, batch int, seed int64, slice bool) *testNet {
	t.Helper()
	n, err := buildTestNet(batch, seed, slice)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func buildTestNet(batch int, seed int64, slice bool) (*testNet, error) {
	const hidden = 8
	r := rand.New(rand.NewSource(seed))
	g := G.NewGraph()
	n := &testNet{g: g, hidden: hidden}
	x := G.NewMatrix(g, G.Float32, G.WithShape(batch, 2), G.WithName("x"))
	y := G.NewMatrix(g, G.Float32, G.WithShape(batch, 2), G.WithName("y"))
	in1 := hidden
	if slice {
		in1 = hidden / 2
	}
	w0, b0 := param(g, "w0", 2, hidden, r), param(g, "b0", 1, hidden, r)
	w1, b1 := param(g, "w1", in1, 2, r), param(g, "b1", 1, 2, r)
	h, err := dense(x, w0, b0)
	if err == nil {
		h, err = G.Tanh(h)
	}
	if err == nil && slice {
		h, err = G.Slice(h, nil, G.S(0, hidden/2))
	}
	var out, cost *G.Node
	if err == nil {
		out, err = dense(h, w1, b1)
	}
	if err == nil {
		cost, err = mse(out, y)
	}
	n.nodes = graphtrain.GraphNodes{X: x, Y: y, Cost: cost, Out: out, Params: []*G.Node{w0, b0, w1, b1}}
	return n, err
}

// param is a parameter node [rows, cols] of values uniform in ±1/√rows.
func param(g *G.ExprGraph, name string, rows, cols int, r *rand.Rand) *G.Node {
	v := make([]float32, rows*cols)
	for i := range v {
		v[i] = float32((2*r.Float64() - 1) / math.Sqrt(float64(rows)))
	}
	return G.NewMatrix(g, G.Float32, G.WithShape(rows, cols), G.WithName(name),
		G.WithValue(tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(v))))
}

// dense is x·w + b, b [1, cols] broadcast down the rows.
func dense(x, w, b *G.Node) (*G.Node, error) {
	xw, err := G.Mul(x, w)
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(xw, b, nil, []byte{0})
}

// mse is the mean of (out - y)².
func mse(out, y *G.Node) (*G.Node, error) {
	d, err := G.Sub(out, y)
	if err == nil {
		d, err = G.Square(d)
	}
	if err != nil {
		return nil, err
	}
	return G.Mean(d)
}

// quadrants is n points in [-1,1]² with one-hot targets: class 1 where both coordinates
// have the same sign, else 0.
func quadrants(n int, seed int64) (x, y []float32) {
	r := rand.New(rand.NewSource(seed))
	x, y = make([]float32, 2*n), make([]float32, 2*n)
	for i := 0; i < n; i++ {
		a, b := 2*r.Float32()-1, 2*r.Float32()-1
		x[2*i], x[2*i+1] = a, b
		if a*b > 0 {
			y[2*i+1] = 1
		} else {
			y[2*i] = 1
		}
	}
	return x, y
}

func TestGraphTrainsOnCPUAndVMAlike(t *testing.T) {
	x, y := quadrants(64, 1)
	var losses []float64
	for _, device := range []string{"cpu", "vm"} {
		n := newTestNet(t, 16, 2, false)
		gr, err := graphtrain.FromGraph(n.g, n.nodes)
		if err != nil {
			t.Fatal(err)
		}
		var loss []float64
		res, err := gr.Train(x, y, graphtrain.Options{Device: device, Epochs: 3, Solver: "sgd", LR: 0.1, Seed: 3,
			Out: t.TempDir(), OnEpoch: func(e graphtrain.Epoch) { loss = append(loss, e.TrainLoss) }})
		if err != nil {
			t.Fatalf("%s: %v", device, err)
		}
		if res.Device != device || len(loss) != 3 {
			t.Fatalf("%s: trained on %s, %d epochs reported", device, res.Device, len(loss))
		}
		losses = append(losses, loss[2])
	}
	if math.Abs(losses[0]-losses[1]) > 1e-4 {
		t.Errorf("the third epoch's loss: cpu %v, vm %v: want them within 1e-4", losses[0], losses[1])
	}
}

func TestGraphUnsupportedOp(t *testing.T) {
	x, y := quadrants(32, 1)
	n := newTestNet(t, 16, 2, true)
	gr, err := graphtrain.FromGraph(n.g, n.nodes)
	if err != nil {
		t.Fatal(err)
	}
	_, err = gr.Train(x, y, graphtrain.Options{Device: "cpu", Epochs: 1, Out: t.TempDir()})
	var ue *graphtrain.UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(ue.Op, "slice") || ue.Node == 0 {
		t.Fatalf("cpu: %v: want an UnsupportedError naming the slice and its node", err)
	}
	if !strings.HasPrefix(err.Error(), "graphtrain: ") || !strings.Contains(err.Error(), "(node %") {
		t.Errorf("cpu: %q: want graphtrain's prefix and the node", err)
	}
	if _, err := gr.Predict("cpu", x); !errors.As(err, &ue) {
		t.Errorf("cpu prediction: %v: want an UnsupportedError", err)
	}
	for _, device := range []string{"vm", "auto"} {
		var warned []string
		res, err := gr.Train(x, y, graphtrain.Options{Device: device, Epochs: 1, Out: t.TempDir(),
			Warn: func(msg string) { warned = append(warned, msg) }})
		if err != nil {
			t.Fatalf("%s: %v", device, err)
		}
		if res.Device != "vm" {
			t.Errorf("%s: trained on %s, want vm", device, res.Device)
		}
		if device == "auto" && !strings.Contains(strings.Join(warned, "\n"), "training on vm instead") {
			t.Errorf("auto: warnings %q: want the fallback to vm and why", warned)
		}
		if out, err := gr.Predict(device, x[:6]); err != nil || len(out) != 6 {
			t.Errorf("%s prediction: %d values, %v: want 6", device, len(out), err)
		}
	}
}

func TestGraphSaveLoad(t *testing.T) {
	x, y := quadrants(64, 1)
	n := newTestNet(t, 16, 2, false)
	gr, err := graphtrain.FromGraph(n.g, n.nodes)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := gr.Train(x, y, graphtrain.Options{Device: "cpu", Epochs: 2, Out: out}); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "saved")
	if err := gr.Save(saved); err != nil {
		t.Fatal(err)
	}
	want, err := gr.Predict("cpu", x)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{saved, out} {
		n2 := newTestNet(t, 16, 9, false) // other starting values
		gr2, err := graphtrain.FromGraph(n2.g, n2.nodes)
		if err != nil {
			t.Fatal(err)
		}
		if err := gr2.Load(dir); err != nil {
			t.Fatalf("load %s: %v", dir, err)
		}
		got, err := gr2.Predict("cpu", x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("load %s: the predictions differ from the saved graph's", dir)
		}
	}
	if _, err := graphtrain.Load(saved); err == nil || !strings.Contains(err.Error(), "Graph.Load") {
		t.Errorf("graphtrain.Load of a graph's checkpoint: %v: want a pointer to Graph.Load", err)
	}
}

func TestGraphLoadRefuses(t *testing.T) {
	n := newTestNet(t, 4, 2, false)
	gr, err := graphtrain.FromGraph(n.g, n.nodes)
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "saved")
	if err := gr.Save(saved); err != nil {
		t.Fatal(err)
	}
	sliced := newTestNet(t, 4, 2, true) // w1 is [4,2], not [8,2]
	grs, err := graphtrain.FromGraph(sliced.g, sliced.nodes)
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(grs.Model().Params[0].T.Data().([]float32))
	err = grs.Load(saved)
	if !errors.Is(err, checkpoint.ErrCheckpoint) || !strings.Contains(err.Error(), "model.json gives w1 the shape (8, 2), the graph's is (4, 2)") {
		t.Errorf("another shape: %v", err)
	}
	if !slices.Equal(before, grs.Model().Params[0].T.Data().([]float32)) {
		t.Errorf("a refused load changed w0")
	}
	if err := os.Remove(filepath.Join(saved, "b1.npy")); err != nil {
		t.Fatal(err)
	}
	if err := gr.Load(saved); err == nil || !strings.Contains(err.Error(), "b1.npy is missing") {
		t.Errorf("a missing file: %v", err)
	}
	if err := gr.Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "model.json is missing") {
		t.Errorf("an empty directory: %v", err)
	}
}

func TestFromGraphRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(n *testNet) *G.ExprGraph
		want string
	}{
		{"nil graph", func(n *testNet) *G.ExprGraph { return nil }, "the graph is nil"},
		{"nil X", func(n *testNet) *G.ExprGraph { n.nodes.X = nil; return n.g }, "X is nil"},
		{"nil Cost", func(n *testNet) *G.ExprGraph { n.nodes.Cost = nil; return n.g }, "Cost is nil"},
		{"nil param", func(n *testNet) *G.ExprGraph { n.nodes.Params[2] = nil; return n.g }, "Params[2] is nil"},
		{"no params", func(n *testNet) *G.ExprGraph { n.nodes.Params = nil; return n.g }, "no Params"},
		{"another graph", func(n *testNet) *G.ExprGraph { return G.NewGraph() }, "X (x) belongs to another graph"},
		{"X computed", func(n *testNet) *G.ExprGraph { n.nodes.X = n.nodes.Out; return n.g }, "X (" /* Out's name */},
		{"cost not scalar", func(n *testNet) *G.ExprGraph { n.nodes.Cost = n.nodes.Out; return n.g }, "not a scalar: reduce it"},
		{"duplicate names", func(n *testNet) *G.ExprGraph {
			n.nodes.Params = append(n.nodes.Params, n.nodes.Params[1])
			return n.g
		}, `Params[4]: two parameters are called "b0"`},
		{"X as a param", func(n *testNet) *G.ExprGraph {
			n.nodes.Params[0] = n.nodes.X
			return n.g
		}, "is X or Y"},
		{"unnamed param", func(n *testNet) *G.ExprGraph {
			n.nodes.Params[0] = G.NewMatrix(n.g, G.Float32, G.WithShape(2, 2), G.WithInit(G.Zeroes()))
			return n.g
		}, "Params[0] has no name"},
		{"name not a file name", func(n *testNet) *G.ExprGraph {
			n.nodes.Params[0] = G.NewMatrix(n.g, G.Float32, G.WithShape(2, 2), G.WithName("../w"), G.WithInit(G.Zeroes()))
			return n.g
		}, `Params[0] is called "../w"`},
		{"float64", func(n *testNet) *G.ExprGraph {
			n.nodes.Params[0] = G.NewMatrix(n.g, G.Float64, G.WithShape(2, 2), G.WithName("w64"), G.WithInit(G.Zeroes()))
			return n.g
		}, "Params[0] (w64) is float64"},
	} {
		n := newTestNet(t, 4, 2, false)
		g := c.edit(n)
		_, err := graphtrain.FromGraph(g, n.nodes)
		if !errors.Is(err, graphtrain.ErrGraph) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v: want ErrGraph saying %q", c.name, err, c.want)
		}
	}
}

func TestGraphTrainRefuses(t *testing.T) {
	n := newTestNet(t, 4, 2, false)
	gr, err := graphtrain.FromGraph(n.g, n.nodes)
	if err != nil {
		t.Fatal(err)
	}
	x, y := quadrants(8, 1)
	for _, c := range []struct {
		name string
		x, y []float32
		o    graphtrain.Options
		want string
	}{
		{"no out", x, y, graphtrain.Options{}, "Options.Out"},
		{"batch", x, y, graphtrain.Options{Out: "o", Batch: 8}, "takes batches of 4"},
		{"val split", x, y, graphtrain.Options{Out: "o", ValSplit: 0.1}, "Options.ValSplit"},
		{"x", x[:5], y, graphtrain.Options{Out: "o"}, "not whole examples of 2"},
		{"y", x, y[:6], graphtrain.Options{Out: "o"}, "y holds 6 values"},
		{"too few", x[:6], y[:6], graphtrain.Options{Out: "o"}, "less than one batch of 4"},
		{"device", x, y, graphtrain.Options{Out: "o", Device: "tpu"}, "unknown device"},
	} {
		if _, err := gr.Train(c.x, c.y, c.o); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "graphtrain: ") {
			t.Errorf("%s: %v: want graphtrain saying %q", c.name, err, c.want)
		}
	}
}

func TestFromGraphRefusesAnUnusedParam(t *testing.T) {
	n := newTestNet(t, 4, 2, false)
	unused := G.NewMatrix(n.g, G.Float32, G.WithShape(2, 2), G.WithName("unused"), G.WithInit(G.Zeroes()))
	n.nodes.Params = append(n.nodes.Params, unused)
	if _, err := graphtrain.FromGraph(n.g, n.nodes); !errors.Is(err, graphtrain.ErrGraph) || !strings.Contains(err.Error(), "depend on every parameter") {
		t.Errorf("%v: want ErrGraph asking whether the cost depends on every parameter", err)
	}
}

func TestGraphWithAnInputNodeNotAParam(t *testing.T) {
	n := newTestNet(t, 4, 2, false)
	scale := G.NewMatrix(n.g, G.Float32, G.WithShape(4, 2), G.WithName("scale"), G.WithInit(G.Ones()))
	out, err := G.HadamardProd(n.nodes.Out, scale)
	if err == nil {
		n.nodes.Out = out
		n.nodes.Cost, err = mse(out, n.nodes.Y)
	}
	if err != nil {
		t.Fatal(err)
	}
	gr, err := graphtrain.FromGraph(n.g, n.nodes)
	if err != nil {
		t.Fatal(err)
	}
	x, y := quadrants(8, 1)
	_, err = gr.Train(x, y, graphtrain.Options{Device: "cpu", Epochs: 1, Out: t.TempDir()})
	var ue *graphtrain.UnsupportedError
	if !errors.As(err, &ue) || ue.Op != "input node scale" {
		t.Errorf("cpu: %v: want an UnsupportedError naming the input node scale", err)
	}
	if _, err := gr.Train(x, y, graphtrain.Options{Device: "vm", Epochs: 1, Out: t.TempDir()}); err != nil {
		t.Errorf("vm: %v", err)
	}
}
