// Package graphtrain is graphtrain's Go API: build a classifier from a model description or
// from layer values, train it on MNIST-format data on any backend (auto, cpu, cuda, vm) with
// progress callbacks and a checkpoint every epoch, load it back and predict.
//
//	m, err := graphtrain.New("conv(8,5,pad=2) relu maxpool(2) dense(10)", graphtrain.Image(1, 28, 28), 1)
//	trainSet, testSet, err := graphtrain.LoadData("data/", 0)
//	res, err := graphtrain.Train(m, trainSet, graphtrain.Options{Out: "ck", Epochs: 3})
//	acc, err := graphtrain.Accuracy(m, testSet, "auto")
//
// A Gorgonia graph of your own trains too: FromGraph takes the graph and its nodes (inputs,
// targets, cost, output, parameters) and returns a Graph to Train, Save, Load and Predict
// with (graph.go, ExampleFromGraph).
//
// The packages under it hold the pieces: model (Spec, layers, descriptions), train (the
// loops), checkpoint, datasets, backend (the contract and the registry) and the backends vm,
// cpu and cuda, which this package wires in.
package graphtrain

import (
	"errors"
	"fmt"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/cpu"
	"github.com/graphtrain/graphtrain/cuda"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/train"
	"github.com/graphtrain/graphtrain/vm"
)

// The backends this package offers: vm (Gorgonia's TapeMachine), the compiled CPU executor
// and, in builds with the gpu tag, CUDA.
var (
	_ = vm.VM{}
	_ = cpu.Backend{}
	_ = cuda.Compiled
)

// Model is a network's definition and parameters; Layer one step of it; Shape the shape of
// one example (an image [C, H, W], or a vector of C values).
type (
	Model  = model.Model
	Layer  = model.Layer
	Shape  = model.Shape
	Data   = datasets.Set     // a labelled set of examples, pixels in [0, 1]
	Epoch  = train.EpochStats // one epoch's figures
	Result = train.TrainResult
)

// Image is the shape of images of c channels of h x w pixels; Vector that of n values.
func Image(c, h, w int) Shape { return Shape{C: c, H: h, W: w} }

// Vector is the shape of examples of n values.
func Vector(n int) Shape { return Shape{C: n} }

// New builds the classifier a model description gives (see model.ParseArch), on examples of
// shape in, its parameters drawn from seed. The last dense layer's units are the classes.
func New(description string, in Shape, seed int64) (*Model, error) {
	return model.NewCustom(description, in, seed)
}

// NewFromLayers builds the classifier of these layers (model.Dense, model.Conv, model.ReLU,
// ...), as New does.
func NewFromLayers(layers []Layer, in Shape, seed int64) (*Model, error) {
	return model.NewCustom(model.Describe(layers), in, seed)
}

// LoadData reads a data set in MNIST's format from dir (the four usual file names, gzipped or
// not; images of any size and channels, the classes from the labels): its training set (the
// first limit examples when limit > 0) and its test set.
func LoadData(dir string, limit int) (trainSet, testSet *Data, err error) {
	info, err := datasets.ReadSetInfo(dir)
	if err != nil {
		return nil, nil, err
	}
	return datasets.LoadSet(info, limit)
}

// Options say how to train. The zero value of each field is its default.
type Options struct {
	Device   string  // "auto" (""), "vm", "cpu" or "cuda"
	Epochs   int     // 10
	Batch    int     // 128
	Solver   string  // "adam"; or "sgd", "momentum"
	LR       float64 // 1e-3 for adam, 0.1 for sgd, 0.01 for momentum
	ValSplit float64 // the fraction of the data held out to pick the best epoch: 0.1 (negative: none)
	Seed     int64   // the split, the order of the examples
	Out      string  // the checkpoint directory: required; the best model there, the latest in Out/last

	OnEpoch  func(Epoch)           // after every epoch, once saved
	Progress func(step, steps int) // after every step
	Warn     func(msg string)      // what the user should know (a fallback to the CPU, say)
}

// Train trains m on data as o says, saving a checkpoint every epoch; m holds the last
// epoch's parameters afterwards, o.Out the best epoch's model.
func Train(m *Model, data *Data, o Options) (*Result, error) {
	if o.Out == "" {
		return nil, errors.New("graphtrain: Options.Out: a checkpoint directory is required")
	}
	b, note, err := backend.Select(o.Device)
	if err != nil {
		return nil, fmt.Errorf("graphtrain: device: %w", err)
	}
	if note != "" && o.Warn != nil {
		o.Warn(note)
	}
	cfg, err := o.config(m, data)
	if err != nil {
		return nil, err
	}
	cfg.Backend, cfg.Fallback = b, backend.Fallback(o.Device)
	return train.Train(m, *cfg)
}

// config is the train.TrainConfig of o for m on data, the defaults filled in.
func (o Options) config(m *Model, data *Data) (*train.TrainConfig, error) {
	o.Epochs, o.Batch, o.Solver = or(o.Epochs, 10), or(o.Batch, 128), orString(o.Solver, "adam")
	if o.LR == 0 {
		o.LR = model.DefaultLR[o.Solver]
	}
	if o.ValSplit == 0 {
		o.ValSplit = 0.1
	}
	if data.Pixels() != m.Spec.Inputs || data.NumClasses() > m.Spec.Outputs {
		return nil, fmt.Errorf("graphtrain: the data's examples are %d values of %d classes; the model takes %d values and has %d classes", data.Pixels(), data.NumClasses(), m.Spec.Inputs, m.Spec.Outputs)
	}
	s, err := model.NewSolver(o.Solver, o.LR)
	if err != nil {
		return nil, err
	}
	trainSet, val := data, &Data{}
	if o.ValSplit > 0 {
		trainSet, val = data.Split(o.ValSplit, o.Seed)
	}
	trainSet.Classes = m.Spec.Outputs
	return &train.TrainConfig{
		Epochs: o.Epochs, Batch: o.Batch, Solver: s, Seed: o.Seed, Out: o.Out,
		Train: datasets.NewBatches(trainSet, o.Batch, o.Seed, true),
		Val:   train.Labelled{Images: val.Images, Labels: val.Labels},
		Hyper: &checkpoint.Hyperparameters{Model: m.Spec.Kind, Dataset: "own", Solver: o.Solver, LR: o.LR,
			Epochs: o.Epochs, Batch: o.Batch, ValSplit: o.ValSplit, Seed: o.Seed},
		OnEpoch: o.OnEpoch, Progress: o.Progress, Warn: o.Warn,
	}, nil
}

// Load reads the model in a checkpoint directory (Train's Out, or a `graphtrain train`
// one).
func Load(dir string) (*Model, error) {
	m, _, _, err := checkpoint.LoadCheckpoint(dir)
	return m, err
}

// Predict returns the class m gives each example of inputs [n*m.Spec.Inputs], its forward
// pass run on device.
func Predict(m *Model, device string, inputs []float32) ([]int, error) {
	b, _, err := backend.Select(device)
	if err != nil {
		return nil, fmt.Errorf("graphtrain: device: %w", err)
	}
	return train.PredictOn(b, m, inputs, 256)
}

// Accuracy is the fraction of data's examples m classifies right, on device.
func Accuracy(m *Model, data *Data, device string) (float64, error) {
	pred, err := Predict(m, device, data.Images)
	if err != nil {
		return 0, err
	}
	return train.Accuracy(pred, data.Labels), nil
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
