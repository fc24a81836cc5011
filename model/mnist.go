package model

import (
	"fmt"
	"math"
	"math/rand"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The MNIST networks, float32, with the shapes of bench/peers/torch_mnist.py so that figures
// compare like with like. Both end in logits [batch, 10]; the loss is softmax cross-entropy,
// averaged over the batch:
//
//	L = −(1/B)·Σ_b Σ_k y[b,k]·log softmax(z)[b,k]
//
// mlp: z = ReLU(x·W0 + b0)·W1 + b1                    x [B,784], W0 [784,H], W1 [H,10]
//
// and deeper, 784-H0-H1-...-10: ReLU(x·W0 + b0) → ReLU(·W1 + b1) → ... → ·WL + bL.
//
// cnn (LeNet-style):
//
//	x [B,784] → [B,1,28,28]
//	conv 6@5x5 pad 2 + b → ReLU → maxpool 2   [B,6,14,14]
//	conv 16@5x5      + b → ReLU → maxpool 2   [B,16,5,5] → [B,400]
//	fc 400→120 ReLU → fc 120→84 ReLU → fc 84→10
//
// Parameters start as PyTorch's layers start them, uniform in ±1/√fan_in (weights and biases).
func init() {
	builders["mlp"] = buildMLP
	builders["cnn"] = buildCNN
	constructors["mlp"] = func(s Spec, seed int64) (*Model, error) { return NewDeepMLP(s.HiddenLayers(), seed) }
	constructors["cnn"] = func(s Spec, seed int64) (*Model, error) { return NewCNN(seed) }
}

// MNIST image geometry.
const (
	ImageSide = 28
	ImageSize = ImageSide * ImageSide
	Classes   = 10
)

// NewMLP returns the 784-H-10 ReLU net.
func NewMLP(hidden int, seed int64) (*Model, error) {
	if hidden < 1 {
		return nil, fmt.Errorf("graph: hidden units %d: must be at least 1", hidden)
	}
	return NewDeepMLP([]int{hidden}, seed)
}

// NewDeepMLP returns the ReLU net 784-H0-H1-...-10 with the hidden layers given. Its
// parameters are drawn layer by layer, weights<i> then bias<i>, so that one hidden layer
// gives NewMLP's net, draw for draw.
func NewDeepMLP(hidden []int, seed int64) (*Model, error) {
	if err := checkLayers(hidden); err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	r := rand.New(rand.NewSource(seed))
	m := &Model{Spec: mlpSpec(hidden...)}
	for _, ps := range mlpParamShapes(hidden) {
		fanIn := ps.Shape[0]
		if strings.HasPrefix(ps.Name, "bias") { // the fan-in of its layer's weights
			fanIn = m.Params[len(m.Params)-1].T.Shape()[0]
		}
		m.Params = append(m.Params, uniformParam(r, ps.Name, fanIn, ps.Shape...))
	}
	return m, nil
}

// NewCNN returns the LeNet-style convnet.
func NewCNN(seed int64) (*Model, error) {
	r := rand.New(rand.NewSource(seed))
	m := &Model{Spec: cnnSpec()}
	m.Params = []*Param{
		uniformParam(r, "conv0", 1*5*5, 6, 1, 5, 5),
		uniformParam(r, "conv0_bias", 1*5*5, 1, 6, 1, 1),
		uniformParam(r, "conv1", 6*5*5, 16, 6, 5, 5),
		uniformParam(r, "conv1_bias", 6*5*5, 1, 16, 1, 1),
		uniformParam(r, "weights0", 400, 400, 120),
		uniformParam(r, "bias0", 400, 1, 120),
		uniformParam(r, "weights1", 120, 120, 84),
		uniformParam(r, "bias1", 120, 1, 84),
		uniformParam(r, "weights2", 84, 84, Classes),
		uniformParam(r, "bias2", 84, 1, Classes),
	}
	return m, nil
}

// uniformParam makes a float32 parameter of shape, uniform in ±1/√fanIn.
func uniformParam(r *rand.Rand, name string, fanIn int, shape ...int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	bound := 1 / math.Sqrt(float64(fanIn))
	data := make([]float32, n)
	for i := range data {
		data[i] = float32((r.Float64()*2 - 1) * bound)
	}
	return &Param{Name: name, T: tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))}
}

func buildMLP(net *Net) error {
	p := net.Nodes
	h := net.X
	var err error
	for i := 0; i+2 < len(p); i += 2 {
		if h, err = dense(h, p[i], p[i+1], G.Rectify); err != nil {
			return err
		}
	}
	logits, err := dense(h, p[len(p)-2], p[len(p)-1], nil)
	if err != nil {
		return err
	}
	return softmaxCrossEntropy(net, logits)
}

func buildCNN(net *Net) error {
	p := net.Nodes
	x, err := G.Reshape(net.X, tensor.Shape{net.Batch, 1, ImageSide, ImageSide})
	if err != nil {
		return err
	}
	// conv → +bias → ReLU → maxpool 2, twice.
	for i, pad := range []int{2, 0} {
		if x, err = G.Conv2d(x, p[2*i], tensor.Shape{5, 5}, []int{pad, pad}, []int{1, 1}, []int{1, 1}); err != nil {
			return err
		}
		if x, err = G.BroadcastAdd(x, p[2*i+1], nil, []byte{0, 2, 3}); err != nil {
			return err
		}
		if x, err = G.Rectify(x); err != nil {
			return err
		}
		if x, err = G.MaxPool2D(x, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}); err != nil {
			return err
		}
	}
	if x, err = G.Reshape(x, tensor.Shape{net.Batch, 400}); err != nil {
		return err
	}
	if x, err = dense(x, p[4], p[5], G.Rectify); err != nil {
		return err
	}
	if x, err = dense(x, p[6], p[7], G.Rectify); err != nil {
		return err
	}
	logits, err := dense(x, p[8], p[9], nil)
	if err != nil {
		return err
	}
	return softmaxCrossEntropy(net, logits)
}

// softmaxCrossEntropy sets net.Out to the logits and net.Loss to the batch-mean softmax
// cross-entropy against the one-hot targets net.Y.
func softmaxCrossEntropy(net *Net, logits *G.Node) error {
	logp, err := G.LogSoftMax(logits)
	if err != nil {
		return err
	}
	prod, err := G.HadamardProd(net.Y, logp)
	if err != nil {
		return err
	}
	sum, err := G.Sum(prod)
	if err != nil {
		return err
	}
	var scale any = float32(-1 / float64(net.Batch))
	if net.Model.Spec.Dtype == "float64" {
		scale = -1 / float64(net.Batch)
	}
	loss, err := G.Mul(sum, G.NewConstant(scale, G.WithName("-1/batch")))
	if err != nil {
		return err
	}
	net.Out, net.Loss = logits, loss
	return nil
}
