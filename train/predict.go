package train

import (
	"fmt"
	"math"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// predictOn is Predict run on tr's device when tr is a Forwarder, else on the CPU with m,
// whose parameters must be current (Sync).
func predictOn(tr backend.Trainer, m *model.Model, images []float32) ([]int, error) {
	fw, ok := tr.(backend.Forwarder)
	if !ok {
		return Predict(m, images, 1000)
	}
	out, err := predictions(m.Spec, images, func(f func([]float32)) error { return fw.Logits(images, f) })
	if n := len(images) / max(1, m.Spec.Inputs); err == nil && len(out) != n {
		return nil, fmt.Errorf("graph: the %T forward pass gave %d predictions for %d images", fw, len(out), n)
	}
	return out, err
}

// PredictOn is Predict run on backend b (nil: vm): the model's forward pass compiled there
// for batch examples at a time (backend.NewPredictor) and run over images. b's answers are the
// same on every run; another backend's may differ in the last bits of a logit, and so, where
// two classes tie, in a prediction.
func PredictOn(b backend.Backend, m *model.Model, images []float32, batch int) ([]int, error) {
	if b == nil {
		b = vm.VM{}
	}
	return predictions(m.Spec, images, func(f func([]float32)) error { return Logits(b, m, images, batch, f) })
}

// Predict returns the class with the largest output for every example [n*inputs] of a
// float32 model, its forward pass run on vm (Gorgonia's TapeMachine) batch examples at a time.
func Predict(m *model.Model, images []float32, batch int) ([]int, error) {
	return PredictOn(vm.VM{}, m, images, batch)
}

// Logits runs m's forward pass on backend b (nil: vm) over inputs [n*inputs] of a float32
// model, batch examples at a time (at most n), and hands f each batch's outputs
// [rows*outputs], in order, valid during the call.
func Logits(b backend.Backend, m *model.Model, inputs []float32, batch int, f func(out []float32)) error {
	if b == nil {
		b = vm.VM{}
	}
	if m.Spec.Dtype != "float32" {
		return fmt.Errorf("graph: a %s model's forward pass over float32 inputs: the model is %s", m.Spec.Kind, m.Spec.Dtype)
	}
	n := len(inputs) / max(1, m.Spec.Inputs)
	if n == 0 {
		return nil
	}
	p, err := backend.NewPredictor(b, m, max(1, min(batch, n)))
	if err != nil {
		return err
	}
	defer p.Close()
	return backend.Logits(p, m.Spec, inputs, f)
}

// Outputs runs m's forward pass on backend b (nil: vm) over all of x [n*inputs] at once, in
// float64 whatever the model's dtype, and returns the outputs [n*outputs]: for the XOR net, ŷ
// of each row.
func Outputs(b backend.Backend, m *model.Model, x []float64) ([]float64, error) {
	if b == nil {
		b = vm.VM{}
	}
	in := m.Spec.Inputs
	if len(x) == 0 || in < 1 || len(x)%in != 0 {
		return nil, fmt.Errorf("%w: %d inputs are not whole examples of %d", model.ErrShape, len(x), in)
	}
	n := len(x) / in
	p, err := backend.NewPredictor(b, m, n)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	out, err := p.Forward(model.DenseOf(m.Spec.Dtype, n, in, x))
	if err != nil {
		return nil, err
	}
	switch d := out.Data().(type) {
	case []float64:
		return append([]float64(nil), d...), nil
	case []float32:
		o := make([]float64, len(d))
		for i, v := range d {
			o[i] = float64(v)
		}
		return o, nil
	}
	return nil, fmt.Errorf("graph: the forward pass gave %T", out.Data())
}

// predictions is the class with the largest logit of every image [n*784], from a forward
// pass that hands its logits over a batch at a time.
func predictions(spec model.Spec, images []float32, forward func(f func(logits []float32)) error) ([]int, error) {
	k := spec.Outputs
	out := make([]int, 0, len(images)/max(1, spec.Inputs))
	err := forward(func(logits []float32) {
		for i := 0; i+k <= len(logits); i += k {
			out = append(out, argmax(logits[i:i+k]))
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
