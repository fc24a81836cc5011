package inspect

import (
	"fmt"
	"math"

	"graphtrain/model"
)

// XORLayers runs the XOR net m on inputs [n*2] (row-major pairs) and returns every hidden
// unit's activation, hidden [n][H], and the output, out [n]:
//
//	hidden = σ(x·W0 [+ b0])    out = σ(hidden·W1 [+ b1])
func XORLayers(m *model.Model, inputs []float64) (hidden [][]float64, out []float64, err error) {
	if m.Spec.Kind != "xor" {
		return nil, nil, fmt.Errorf("graph: model is %q, not xor", m.Spec.Kind)
	}
	if len(inputs)%2 != 0 {
		return nil, nil, fmt.Errorf("%w: %d XOR inputs: want pairs", model.ErrShape, len(inputs))
	}
	H := m.Spec.Hidden
	w0, err := float64Param(m, "weights0", 2*H)
	if err != nil {
		return nil, nil, err
	}
	w1, err := float64Param(m, "weights1", H)
	if err != nil {
		return nil, nil, err
	}
	b0, b1 := make([]float64, H), []float64{0}
	if m.Spec.Bias {
		if b0, err = float64Param(m, "bias0", H); err != nil {
			return nil, nil, err
		}
		if b1, err = float64Param(m, "bias1", 1); err != nil {
			return nil, nil, err
		}
	}
	n := len(inputs) / 2
	hidden = make([][]float64, n)
	out = make([]float64, n)
	for i := 0; i < n; i++ {
		a, b := inputs[2*i], inputs[2*i+1]
		h := make([]float64, H)
		z := b1[0]
		for j := range h {
			h[j] = sigmoid(a*w0[j] + b*w0[H+j] + b0[j]) // W0 is [2, H], row-major
			z += h[j] * w1[j]
		}
		hidden[i], out[i] = h, sigmoid(z)
	}
	return hidden, out, nil
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// float64Param returns the values of m's parameter name, which must hold n of them.
func float64Param(m *model.Model, name string, n int) ([]float64, error) {
	p := m.Param(name)
	if p == nil {
		return nil, fmt.Errorf("graph: %s model has no parameter %s", m.Spec.Kind, name)
	}
	var v []float64
	switch d := p.T.Data().(type) {
	case []float64:
		v = d
	case []float32:
		v = make([]float64, len(d))
		for i, x := range d {
			v[i] = float64(x)
		}
	default:
		return nil, fmt.Errorf("graph: parameter %s holds %T", name, d)
	}
	if len(v) != n {
		return nil, fmt.Errorf("%w: parameter %s has %d values, want %d", model.ErrShape, name, len(v), n)
	}
	return v, nil
}

// LogicNames are the 16 logic functions of two inputs A and B, indexed by their truth table
// on the inputs 00 01 10 11 read as a 4-bit number, f(0,0) the high bit: AND is 0001 = 1,
// XOR 0110 = 6, NAND 1110 = 14.
var LogicNames = [16]string{
	"FALSE", "AND", "A AND NOT B", "A", "NOT A AND B", "B", "XOR", "OR",
	"NOR", "XNOR", "NOT B", "A OR NOT B", "NOT A", "NOT A OR B", "NAND", "TRUE",
}

// NearestLogic returns the logic function of two inputs whose truth table is closest to the
// activations v on the inputs 00 01 10 11 (each thresholded at 0.5), and how close: the
// largest distance of an activation from its function's 0 or 1 (0: exactly the function;
// near 0.5: barely). Thresholding gives the closest truth table in that maximum distance.
func NearestLogic(v [4]float64) (name string, maxDist float64) {
	code := 0
	for i, a := range v {
		bit := 0.0
		if a >= 0.5 {
			code |= 1 << (3 - i)
			bit = 1
		}
		maxDist = math.Max(maxDist, math.Abs(a-bit))
	}
	return LogicNames[code], maxDist
}

// CNNMaps are the feature maps of one image in the convnet.
type CNNMaps struct {
	Conv0 [][]float32 // after conv0 + bias + ReLU: 6 maps of 28x28, row-major
	Conv1 [][]float32 // after conv1 + bias + ReLU (before pooling): 16 maps of 10x10
}

// CNNFeatureMaps runs the first two layers of the convnet m on one image [784] and returns
// the feature maps after each convolution (with its bias and ReLU, before pooling).
// Convolution here is cross-correlation, as in Gorgonia and PyTorch:
//
//	out[o][y][x] = b[o] + Σ_c Σ_i Σ_j w[o][c][i][j] · in[c][y+i−pad][x+j−pad]
func CNNFeatureMaps(m *model.Model, image []float32) (*CNNMaps, error) {
	if m.Spec.Kind != "cnn" {
		return nil, fmt.Errorf("graph: model is %q, not cnn", m.Spec.Kind)
	}
	if len(image) != model.ImageSize {
		return nil, fmt.Errorf("%w: image of %d pixels, want %d", model.ErrShape, len(image), model.ImageSize)
	}
	w0, err := float64Param(m, "conv0", 6*1*5*5)
	if err != nil {
		return nil, err
	}
	b0, err := float64Param(m, "conv0_bias", 6)
	if err != nil {
		return nil, err
	}
	w1, err := float64Param(m, "conv1", 16*6*5*5)
	if err != nil {
		return nil, err
	}
	b1, err := float64Param(m, "conv1_bias", 16)
	if err != nil {
		return nil, err
	}
	in := [][]float32{image}
	maps := &CNNMaps{}
	maps.Conv0 = convReLU(in, model.ImageSide, w0, b0, 6, 2)        // [6][28*28]
	pooled := maxPool2(maps.Conv0, model.ImageSide)                 // [6][14*14]
	maps.Conv1 = convReLU(pooled, model.ImageSide/2, w1, b1, 16, 0) // [16][10*10]
	return maps, nil
}

// convReLU is a 5x5 convolution, stride 1, of the channels in (each side x side) into outs
// channels, with padding pad, plus bias, then ReLU. w is [outs, len(in), 5, 5].
func convReLU(in [][]float32, side int, w, b []float64, outs, pad int) [][]float32 {
	const k = 5
	oside := side + 2*pad - k + 1
	res := make([][]float32, outs)
	for o := range res {
		m := make([]float32, oside*oside)
		for y := 0; y < oside; y++ {
			for x := 0; x < oside; x++ {
				s := b[o]
				for c, ch := range in {
					for i := 0; i < k; i++ {
						yy := y + i - pad
						if yy < 0 || yy >= side {
							continue
						}
						for j := 0; j < k; j++ {
							xx := x + j - pad
							if xx < 0 || xx >= side {
								continue
							}
							s += w[((o*len(in)+c)*k+i)*k+j] * float64(ch[yy*side+xx])
						}
					}
				}
				m[y*oside+x] = float32(math.Max(s, 0))
			}
		}
		res[o] = m
	}
	return res
}

// maxPool2 is a 2x2 max pooling with stride 2 of each side x side map.
func maxPool2(in [][]float32, side int) [][]float32 {
	h := side / 2
	res := make([][]float32, len(in))
	for c, ch := range in {
		m := make([]float32, h*h)
		for y := 0; y < h; y++ {
			for x := 0; x < h; x++ {
				v := ch[2*y*side+2*x]
				v = max(v, ch[2*y*side+2*x+1], ch[(2*y+1)*side+2*x], ch[(2*y+1)*side+2*x+1])
				m[y*h+x] = v
			}
		}
		res[c] = m
	}
	return res
}
