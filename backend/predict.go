package backend

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/model"
)

// Predictor runs one model's forward pass only, compiled once for Batch examples at a time:
// what evaluation, prediction and inspection run on every backend. It reads the model's
// parameters as they are when it is made (a backend on another device copies them there).
type Predictor interface {
	// Batch is the number of examples one Forward call takes.
	Batch() int
	// Forward runs the forward pass on x [Batch, inputs], in the model's dtype, and returns
	// the outputs [Batch, outputs] (logits for the MNIST-format models), valid until the next
	// call.
	Forward(x *tensor.Dense) (*tensor.Dense, error)
	// Close frees what the predictor holds.
	Close() error
}

// PredictorMaker is what compiles forward-only programs: every Backend.
type PredictorMaker interface {
	// NewPredictor compiles m's forward pass for batch examples at a time.
	NewPredictor(m *model.Model, batch int) (Predictor, error)
}

// NewPredictor makes a predictor of m on b, for batch examples at a time.
func NewPredictor(b Backend, m *model.Model, batch int) (Predictor, error) {
	if batch < 1 {
		return nil, fmt.Errorf("graph: batch size %d: must be at least 1", batch)
	}
	return b.NewPredictor(m, batch)
}

// Logits runs p over inputs [n*inputs] of a float32 model, p.Batch() examples at a time (the
// last batch padded with zeros), and hands f each batch's outputs [rows*outputs], in order,
// valid during the call.
func Logits(p Predictor, spec model.Spec, inputs []float32, f func(out []float32)) error {
	in, nOut, batch := spec.Inputs, spec.Outputs, p.Batch()
	if in < 1 || len(inputs)%in != 0 {
		return fmt.Errorf("%w: %d values are not whole examples of %d inputs", model.ErrShape, len(inputs), in)
	}
	n := len(inputs) / in
	xs := make([]float32, batch*in)
	x := tensor.New(tensor.WithShape(batch, in), tensor.WithBacking(xs))
	for lo := 0; lo < n; lo += batch {
		rows := min(batch, n-lo)
		copy(xs, inputs[lo*in:(lo+rows)*in])
		clear(xs[rows*in:]) // the last batch is padded with blank examples
		out, err := p.Forward(x)
		if err != nil {
			return err
		}
		o, ok := out.Data().([]float32)
		if !ok || len(o) < rows*nOut {
			return fmt.Errorf("graph: the forward pass gave %v %v, want %d float32 outputs", out.Dtype(), out.Shape(), batch*nOut)
		}
		f(o[:rows*nOut])
	}
	return nil
}
