package model

import G "gorgonia.org/gorgonia"

// MNIST image geometry.
const (
	ImageSide = 28
	ImageSize = ImageSide * ImageSide
	Classes   = 10
)

// softmaxCrossEntropy sets net.Out to the logits [batch, classes] and net.Loss to the
// batch-mean softmax cross-entropy against the one-hot targets net.Y:
//
//	L = −(1/B)·Σ_b Σ_k y[b,k]·log softmax(z)[b,k]
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
