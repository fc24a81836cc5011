package lowertest

import (
	"math/rand"
	"testing"

	"github.com/graphtrain/graphtrain/model"
)

// CustomDescriptions are models from descriptions with what the built-in models do not
// have: tanh, leakyrelu, pad=same, a stride of 2, several channels in, odd image sides, a
// convolution's output going straight to a dense layer, a model on vectors, and batch
// normalisation, dropout and average pooling (overlapping windows too) on images and vectors,
// and augmentation (elastic distortion too) of images of two channels with odd sides.
var CustomDescriptions = []struct {
	Text    string
	In      model.Shape
	Augment *model.Augment
}{
	{"conv(4,3,pad=same) leakyrelu(0.1) maxpool(2) dense(16) tanh dense(3)", model.Shape{C: 1, H: 12, W: 12}, nil},
	{"conv(5,3,stride=2) tanh conv(6,2) relu dense(7)", model.Shape{C: 2, H: 11, W: 9}, nil},
	{"dense(9) leakyrelu(0.2) dense(8) tanh dense(4)", model.Shape{C: 13}, nil},
	{"conv(4,3,pad=1) batchnorm relu avgpool(2) conv(3,2) batchnorm leakyrelu(0.1) dropout(0.25) dense(8) batchnorm tanh dropout(0.5) dense(3)", model.Shape{C: 2, H: 9, W: 9}, nil},
	{"conv(3,3) avgpool(3,stride=2) relu dense(10) batchnorm relu dropout(0.3) dense(4)", model.Shape{C: 1, H: 11, W: 11}, nil},
	{"conv(4,3) relu maxpool(2) dense(6) relu dropout(0.2) dense(3)", model.Shape{C: 2, H: 9, W: 7}, &model.Augment{Shift: 2, Rotate: 20, Scale: 0.2, Elastic: 8, Sigma: 1.5, Seed: 11}},
}

// Custom are the CustomDescriptions' models at a small batch, with adam.
func Custom(t testing.TB) []Case {
	t.Helper()
	var cs []Case
	for i, d := range CustomDescriptions {
		spec, err := model.CustomSpec(d.Text, d.In)
		if err != nil {
			t.Fatalf("%s: %v", d.Text, err)
		}
		spec.Augment = d.Augment
		m, err := model.NewModel(spec, int64(3+i))
		if err != nil {
			t.Fatalf("%s: %v", d.Text, err)
		}
		cs = append(cs, Case{M: m, Batch: 5, Solver: "adam", LR: 1e-3})
	}
	return cs
}

// SetRunning gives m's running statistics (batch norms' means and variances) values other
// than a fresh model's 0 and 1, uniform in [0.5, 1.5) from seed, so that a forward pass at
// evaluation shows which statistics it read.
func SetRunning(m *model.Model, seed int64) {
	r := rand.New(rand.NewSource(seed))
	for _, p := range m.Params {
		if d, ok := p.T.Data().([]float32); ok && p.Running {
			for i := range d {
				d[i] = 0.5 + r.Float32()
			}
		}
	}
}
