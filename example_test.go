package graphtrain_test

import (
	"fmt"
	"log"
	"math"
	"math/rand"
	"os"
	"path/filepath"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/model"
)

// bars writes a small data set in MNIST's format to a new directory and returns it: 12x12
// grey images of three classes, a horizontal bar (0), a vertical bar (1) or a diagonal (2),
// at random places, with noise.
func bars(seed int64) string {
	dir, err := os.MkdirTemp("", "bars")
	if err != nil {
		log.Fatal(err)
	}
	r := rand.New(rand.NewSource(seed))
	for _, part := range []struct {
		n     int
		train bool
	}{{600, true}, {150, false}} {
		s := &datasets.Set{N: part.n, Rows: 12, Cols: 12, Classes: 3, Images: make([]float32, part.n*144), Labels: make([]uint8, part.n)}
		for i := 0; i < part.n; i++ {
			img, class, at := s.Images[i*144:(i+1)*144], r.Intn(3), 2+r.Intn(8)
			for k := range img {
				img[k] = 0.2 * r.Float32()
			}
			for k := 0; k < 12; k++ {
				switch class {
				case 0:
					img[at*12+k] = 1
				case 1:
					img[k*12+at] = 1
				case 2:
					img[k*12+k] = 1
				}
			}
			s.Labels[i] = uint8(class)
		}
		if err := datasets.WriteSet(dir, s, part.train); err != nil {
			log.Fatal(err)
		}
	}
	return dir
}

// A convnet from a model description, trained on a data set of your own on the CPU, saved,
// loaded back and evaluated.
func ExampleNew() {
	data := bars(1)
	defer os.RemoveAll(data)
	trainSet, testSet, err := graphtrain.LoadData(data, 0)
	if err != nil {
		log.Fatal(err)
	}
	m, err := graphtrain.New("conv(4,3,pad=same) relu maxpool(2) dense(16) relu dense(3)", graphtrain.Image(1, 12, 12), 1)
	if err != nil {
		log.Fatal(err)
	}
	out := filepath.Join(data, "checkpoint")
	res, err := graphtrain.Train(m, trainSet, graphtrain.Options{Device: "cpu", Epochs: 3, Batch: 32, Out: out, LR: 1e-2})
	if err != nil {
		log.Fatal(err)
	}
	best, err := graphtrain.Load(out)
	if err != nil {
		log.Fatal(err)
	}
	acc, err := graphtrain.Accuracy(best, testSet, "cpu")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Spec.Description)
	fmt.Printf("%d epochs on %s; test accuracy above 90%%: %v\n", res.Epochs, res.Device, acc > 0.9)
	// Output:
	// conv(4,3,pad=1) relu maxpool(2) flatten dense(16) relu dense(3)
	// 3 epochs on cpu; test accuracy above 90%: true
}

// The same kind of network from layer values, with a progress callback per epoch, on the
// TapeMachine (vm), Gorgonia's reference VM.
func ExampleNewFromLayers() {
	data := bars(2)
	defer os.RemoveAll(data)
	trainSet, _, err := graphtrain.LoadData(data, 0)
	if err != nil {
		log.Fatal(err)
	}
	m, err := graphtrain.NewFromLayers([]graphtrain.Layer{
		model.Flatten, model.Dense(32, true), {Op: "tanh"}, model.Dense(3, true),
	}, graphtrain.Image(1, 12, 12), 1)
	if err != nil {
		log.Fatal(err)
	}
	epochs := 0
	_, err = graphtrain.Train(m, trainSet, graphtrain.Options{Device: "vm", Epochs: 2, Batch: 50,
		Out: filepath.Join(data, "ck"), OnEpoch: func(e graphtrain.Epoch) { epochs++ }})
	if err != nil {
		log.Fatal(err)
	}
	pred, err := graphtrain.Predict(m, "vm", trainSet.Images[:5*144])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Spec.Description, "|", epochs, "epochs reported,", len(pred), "predictions")
	// Output:
	// flatten dense(32) tanh dense(3) | 2 epochs reported, 5 predictions
}

// A Gorgonia graph of your own, a two-layer tanh net, trained on the CPU on points of the
// plane, its parameters saved every epoch, loaded into a second copy of the graph and used to
// predict.
func ExampleFromGraph() {
	g, nodes, err := tanhNet(32, 1)
	if err != nil {
		log.Fatal(err)
	}
	net, err := graphtrain.FromGraph(g, nodes)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "graph")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	x, y := quadrantPoints(512, 2)
	var losses []float64
	res, err := net.Train(x, y, graphtrain.Options{Device: "cpu", Epochs: 10, LR: 0.03, Out: dir,
		OnEpoch: func(e graphtrain.Epoch) { losses = append(losses, e.TrainLoss) }})
	if err != nil {
		log.Fatal(err)
	}
	g2, nodes2, err := tanhNet(32, 7) // the same graph, other starting values
	if err != nil {
		log.Fatal(err)
	}
	again, err := graphtrain.FromGraph(g2, nodes2)
	if err != nil {
		log.Fatal(err)
	}
	if err := again.Load(dir); err != nil {
		log.Fatal(err)
	}
	out, err := again.Predict("cpu", []float32{0.5, 0.5, -0.5, 0.5, -0.5, -0.5, 0.5, -0.5})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d epochs on %s, the loss down to a third: %v\n", res.Epochs, res.Device, losses[9] < losses[0]/3)
	fmt.Println("the four quadrants' classes:", argmax(out, 2))
	// Output:
	// 10 epochs on cpu, the loss down to a third: true
	// the four quadrants' classes: [1 0 1 0]
}

// tanhNet builds a graph of one's own: x [batch,2] -> tanh(x·w0 + b0) [batch,16] -> h·w1 +
// b1 = out [batch,2], its cost the mean squared error against the targets y [batch,2], its
// parameters' starting values drawn from seed.
func tanhNet(batch int, seed int64) (*G.ExprGraph, graphtrain.GraphNodes, error) {
	g, r := G.NewGraph(), rand.New(rand.NewSource(seed))
	x := G.NewMatrix(g, G.Float32, G.WithShape(batch, 2), G.WithName("x"))
	y := G.NewMatrix(g, G.Float32, G.WithShape(batch, 2), G.WithName("y"))
	w0, b0 := uniform(g, "w0", 2, 16, r), uniform(g, "b0", 1, 16, r)
	w1, b1 := uniform(g, "w1", 16, 2, r), uniform(g, "b1", 1, 2, r)
	h, err := affine(x, w0, b0)
	if err == nil {
		h, err = G.Tanh(h)
	}
	var out, diff, cost *G.Node
	if err == nil {
		out, err = affine(h, w1, b1)
	}
	if err == nil {
		diff, err = G.Sub(out, y)
	}
	if err == nil {
		diff, err = G.Square(diff)
	}
	if err == nil {
		cost, err = G.Mean(diff)
	}
	return g, graphtrain.GraphNodes{X: x, Y: y, Cost: cost, Out: out, Params: []*G.Node{w0, b0, w1, b1}}, err
}

// uniform is a parameter node [rows, cols] named name, its values uniform in ±1/√rows.
func uniform(g *G.ExprGraph, name string, rows, cols int, r *rand.Rand) *G.Node {
	v := make([]float32, rows*cols)
	for i := range v {
		v[i] = (2*r.Float32() - 1) / float32(math.Sqrt(float64(rows)))
	}
	return G.NewMatrix(g, G.Float32, G.WithShape(rows, cols), G.WithName(name),
		G.WithValue(tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(v))))
}

// affine is x·w + b, the row b [1, cols] added to every row.
func affine(x, w, b *G.Node) (*G.Node, error) {
	xw, err := G.Mul(x, w)
	if err != nil {
		return nil, err
	}
	return G.BroadcastAdd(xw, b, nil, []byte{0})
}

// quadrantPoints are n points of [-1,1]² and their one-hot classes: 1 where both
// coordinates have the same sign, else 0.
func quadrantPoints(n int, seed int64) (x, y []float32) {
	r := rand.New(rand.NewSource(seed))
	x, y = make([]float32, 2*n), make([]float32, 2*n)
	for i := 0; i < n; i++ {
		x[2*i], x[2*i+1] = 2*r.Float32()-1, 2*r.Float32()-1
		same := 0
		if x[2*i]*x[2*i+1] > 0 {
			same = 1
		}
		y[2*i+same] = 1
	}
	return x, y
}

// argmax is the index of the largest of each row of width values.
func argmax(values []float32, width int) []int {
	var classes []int
	for lo := 0; lo+width <= len(values); lo += width {
		best := 0
		for j := 1; j < width; j++ {
			if values[lo+j] > values[lo+best] {
				best = j
			}
		}
		classes = append(classes, best)
	}
	return classes
}
