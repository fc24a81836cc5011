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
