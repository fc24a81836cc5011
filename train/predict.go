package train

import (
	"fmt"
	"math"

	"graphtrain/backend"
	"graphtrain/model"
	"graphtrain/vm"
)

// predictOn is Predict run on tr's device when tr is a Forwarder, else on the CPU with m,
// whose parameters must be current (Sync).
func predictOn(tr backend.Trainer, m *model.Model, images []float32) ([]int, error) {
	fw, ok := tr.(backend.Forwarder)
	if !ok {
		return Predict(m, images, 1000)
	}
	out, err := predictions(images, func(f func([]float32)) error { return fw.Logits(images, f) })
	if err == nil && len(out) != len(images)/model.ImageSize {
		return nil, fmt.Errorf("graph: the %T forward pass gave %d predictions for %d images", fw, len(out), len(images)/model.ImageSize)
	}
	return out, err
}

// PredictOn is Predict run on backend b: the model compiled there for batch examples at a time
// (with a solver that is never used) and its forward pass run over images. A backend that
// cannot take the model, or runs no forward pass of its own, leaves it to Predict on the
// TapeMachine. b's answers are the same on every run; another backend's may differ in the
// last bits of a logit, and so, where two digits tie, in a prediction.
func PredictOn(b backend.Backend, m *model.Model, images []float32, batch int) ([]int, error) {
	if b == nil || b.Name() == (vm.VM{}).Name() {
		return Predict(m, images, batch)
	}
	n := len(images) / max(1, m.Spec.Inputs)
	batch = max(1, min(batch, n))
	net, err := m.Build(batch, true)
	if err != nil {
		return nil, err
	}
	s, err := model.NewSolver("sgd", 0.1)
	if err != nil {
		return nil, err
	}
	tr, err := b.NewTrainer(net, s)
	if err != nil {
		return Predict(m, images, batch)
	}
	defer tr.Close()
	if _, ok := tr.(backend.Forwarder); !ok {
		return Predict(m, images, batch)
	}
	return predictOn(tr, m, images)
}

// Predict returns the class with the largest logit for every image [n*784] of an MNIST model,
// running the forward pass on the CPU batch examples at a time.
func Predict(m *model.Model, images []float32, batch int) ([]int, error) {
	return predictions(images, func(f func([]float32)) error { return vm.Logits(m, images, batch, f) })
}

// predictions is the class with the largest logit of every image [n*784], from a forward
// pass that hands its logits over a batch at a time.
func predictions(images []float32, forward func(f func(logits []float32)) error) ([]int, error) {
	out := make([]int, 0, len(images)/model.ImageSize)
	err := forward(func(logits []float32) {
		for i := 0; i+model.Classes <= len(logits); i += model.Classes {
			out = append(out, argmax(logits[i:i+model.Classes]))
		}
	})
	return out, err
}

// Softmax turns logits [10] into probabilities.
func Softmax(logits []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	p := make([]float64, len(logits))
	sum := 0.0
	for i, v := range logits {
		p[i] = math.Exp(float64(v) - mx)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// Accuracy is the fraction of predictions equal to their labels.
func Accuracy(pred []int, labels []uint8) float64 {
	if len(labels) == 0 {
		return 0
	}
	ok := 0
	for i, p := range pred {
		if i < len(labels) && p == int(labels[i]) {
			ok++
		}
	}
	return float64(ok) / float64(len(labels))
}

// Confusion counts [true label][predicted] over the predictions.
func Confusion(pred []int, labels []uint8) [model.Classes][model.Classes]int {
	var c [model.Classes][model.Classes]int
	for i, p := range pred {
		if i < len(labels) && int(labels[i]) < model.Classes && p >= 0 && p < model.Classes {
			c[labels[i]][p]++
		}
	}
	return c
}

func argmax(v []float32) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}
