package graphtrain_test

import (
	"fmt"
	"log"
	"math/rand"
	"os"
	"path/filepath"

	"graphtrain"
	"graphtrain/datasets"
	"graphtrain/model"
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
