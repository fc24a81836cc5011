package graph

import "fmt"

// Forwarder is a Trainer that runs the forward pass with its current parameters on its own
// device: Train validates with it, so that a GPU run does not copy its model to the CPU and
// validate there at the CPU's speed. The GPU backend implements it.
type Forwarder interface {
	// Logits runs the forward pass over images [n*inputs], a batch at a time, and hands f
	// each batch's outputs [rows*outputs], in order (valid during the call).
	Logits(images []float32, f func(logits []float32)) error
}

// predictOn is Predict run on tr's device when tr is a Forwarder, else on the CPU with m,
// whose parameters must be current (Sync).
func predictOn(tr Trainer, m *Model, images []float32) ([]int, error) {
	fw, ok := tr.(Forwarder)
	if !ok {
		return Predict(m, images, 1000)
	}
	out, err := predictions(images, func(f func([]float32)) error { return fw.Logits(images, f) })
	if err == nil && len(out) != len(images)/ImageSize {
		return nil, fmt.Errorf("graph: the %T forward pass gave %d predictions for %d images", fw, len(out), len(images)/ImageSize)
	}
	return out, err
}

// PredictOn is Predict run on backend b: the model compiled there for batch examples at a time
// (with a solver that is never used) and its forward pass run over images. A backend that
// cannot take the model, or runs no forward pass of its own, leaves it to Predict on the
// TapeMachine. b's answers are the same on every run; another backend's may differ in the
// last bits of a logit, and so, where two digits tie, in a prediction.
func PredictOn(b Backend, m *Model, images []float32, batch int) ([]int, error) {
	if b == nil || b.Name() == (VM{}).Name() {
		return Predict(m, images, batch)
	}
	n := len(images) / max(1, m.Spec.Inputs)
	batch = max(1, min(batch, n))
	net, err := m.Build(batch, true)
	if err != nil {
		return nil, err
	}
	s, err := NewSolver("sgd", 0.1)
	if err != nil {
		return nil, err
	}
	tr, err := b.NewTrainer(net, s)
	if err != nil {
		return Predict(m, images, batch)
	}
	defer tr.Close()
	if _, ok := tr.(Forwarder); !ok {
		return Predict(m, images, batch)
	}
	return predictOn(tr, m, images)
}
