package model

import (
	"math/rand"

	"gorgonia.org/tensor"
)

// RandomBatch returns inputs and one-hot targets that fit m, in m's dtype: for XOR its four
// examples repeated to fill the batch, otherwise inputs uniform in [0, 1) with random
// targets, drawn from seed. For benchmarks and tests.
func RandomBatch(m *Model, batch int, seed int64) (x, y *tensor.Dense) {
	r := rand.New(rand.NewSource(seed))
	in, out := m.Spec.Inputs, m.Spec.Outputs
	xd := make([]float64, batch*in)
	yd := make([]float64, batch*out)
	for i := 0; i < batch; i++ {
		if !m.Spec.Classifier() { // the XOR net
			e := i % 4
			xd[2*i], xd[2*i+1], yd[i] = XORInputs[2*e], XORInputs[2*e+1], XORTargets[e]
			continue
		}
		for j := 0; j < in; j++ {
			xd[i*in+j] = r.Float64()
		}
		yd[i*out+r.Intn(out)] = 1
	}
	if m.Spec.Dtype == "float64" {
		return tensor.New(tensor.WithShape(batch, in), tensor.WithBacking(xd)), tensor.New(tensor.WithShape(batch, out), tensor.WithBacking(yd))
	}
	return tensor.New(tensor.WithShape(batch, in), tensor.WithBacking(toFloat32(xd))), tensor.New(tensor.WithShape(batch, out), tensor.WithBacking(toFloat32(yd)))
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// DenseOf is x as a [rows, cols] tensor of dtype ("float64" or "float32"), copied.
func DenseOf(dtype string, rows, cols int, x []float64) *tensor.Dense {
	if dtype == "float64" {
		return tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(append([]float64(nil), x...)))
	}
	xs := make([]float32, len(x))
	for i, v := range x {
		xs[i] = float32(v)
	}
	return tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(xs))
}
