package graphtrain_test

import (
	"math"
	"math/rand"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"graphtrain"
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
		t.Logf("%s: %v", device, loss)
		losses = append(losses, loss[2])
	}
	if math.Abs(losses[0]-losses[1]) > 1e-4 {
		t.Errorf("the third epoch's loss: cpu %v, vm %v: want them within 1e-4", losses[0], losses[1])
	}
}
