package inspect

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// XORLayers runs the XOR net m on inputs [n*2] (row-major pairs) and returns every hidden
// unit's activation, hidden [n][H], and the output, out [n]:
//
//	hidden = σ(x·W0 [+ b0])    out = σ(hidden·W1 [+ b1])
//
// They are the values of the model's own graph (Activations).
func XORLayers(m *model.Model, inputs []float64) (hidden [][]float64, out []float64, err error) {
	if m.Spec.Classifier() {
		return nil, nil, fmt.Errorf("graph: model is %q, not xor", m.Spec.Kind)
	}
	acts, err := Activations(m, inputs)
	if err != nil {
		return nil, nil, err
	}
	last := acts[len(acts)-1]
	out = make([]float64, len(last))
	for i, o := range last {
		out[i] = o[0]
	}
	return acts[1], out, nil
}

// Activations runs m's forward pass, its own graph on Gorgonia's TapeMachine, on x
// [n*inputs] (n at most MaxActivationExamples) and returns the output of every layer of
// m.Spec.Arch for each example: acts[layer][example], that layer's values for the example
// (C×H×W of an image, row-major).
func Activations(m *model.Model, x []float64) (acts [][][]float64, err error) {
	in := m.Spec.Inputs
	if in < 1 || len(x)%in != 0 || len(x) == 0 {
		return nil, fmt.Errorf("%w: %d inputs are not whole examples of %d", model.ErrShape, len(x), in)
	}
	n := len(x) / in
	if n > MaxActivationExamples {
		return nil, fmt.Errorf("%w: %d examples: at most %d at a time", model.ErrShape, n, MaxActivationExamples)
	}
	net, err := m.Build(n, false)
	if err != nil {
		return nil, err
	}
	defer model.RecoverGorgonia(&err, "forward pass")
	vals := make([]G.Value, len(net.Acts))
	for i, a := range net.Acts {
		G.Read(a, &vals[i])
	}
	xt := model.DenseOf(m.Spec.Dtype, n, in, x)
	if err := vm.Feed(net.X, xt); err != nil {
		return nil, err
	}
	tm := G.NewTapeMachine(net.G)
	defer tm.Close()
	if err := tm.RunAll(); err != nil {
		return nil, fmt.Errorf("graph: forward pass: %w", err)
	}
	for i, v := range vals {
		rows, err := perExample(v, n)
		if err != nil {
			return nil, fmt.Errorf("graph: layer %d: %w", i+1, err)
		}
		acts = append(acts, rows)
	}
	return acts, nil
}

// MaxActivationExamples bounds the examples of one Activations call: it keeps every layer's
// values of all of them.
const MaxActivationExamples = 1 << 16

// perExample cuts a layer's value [n, ...] into n rows of float64s.
func perExample(v G.Value, n int) ([][]float64, error) {
	var flat []float64
	switch d := v.Data().(type) {
	case []float64:
		flat = d
	case []float32:
		flat = make([]float64, len(d))
		for i, x := range d {
			flat[i] = float64(x)
		}
	default:
		return nil, fmt.Errorf("its value is %T", d)
	}
	if len(flat)%n != 0 {
		return nil, fmt.Errorf("%d values for %d examples", len(flat), n)
	}
	k := len(flat) / n
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = append([]float64(nil), flat[i*k:(i+1)*k]...)
	}
	return rows, nil
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

// CNNMaps are the feature maps of one image in a convnet.
type CNNMaps struct {
	Conv0 [][]float32 // after the first convolution + bias + ReLU: one map per filter, row-major
	Conv1 [][]float32 // after the second convolution + bias + ReLU (before pooling); nil with one
	// All are the maps after every convolution (and its activation), in order, and Shapes
	// their shapes: Conv0 and Conv1 are the first two.
	All    [][][]float32
	Shapes []model.Shape
}

// CNNFeatureMaps runs the convnet m on one image and returns the feature maps after each of
// its convolutions, with its bias and activation, before pooling: the values of the model's
// own graph (Activations). Convolution is cross-correlation, as in Gorgonia and PyTorch:
//
//	out[o][y][x] = b[o] + Σ_c Σ_i Σ_j w[o][c][i][j] · in[c][y+i−pad][x+j−pad]
func CNNFeatureMaps(m *model.Model, image []float32) (*CNNMaps, error) {
	arch, err := m.Spec.Arch()
	if err != nil {
		return nil, err
	}
	convs := convOutputs(arch)
	if len(convs) == 0 {
		return nil, fmt.Errorf("graph: the %s model has no convolution", m.Spec.Kind)
	}
	if len(image) != m.Spec.Inputs {
		return nil, fmt.Errorf("%w: image of %d pixels, want %d", model.ErrShape, len(image), m.Spec.Inputs)
	}
	x := make([]float64, len(image))
	for i, v := range image {
		x[i] = float64(v)
	}
	acts, err := Activations(m, x)
	if err != nil {
		return nil, err
	}
	placed, err := m.Spec.Layout()
	if err != nil {
		return nil, err
	}
	maps := &CNNMaps{}
	for _, c := range convs {
		maps.All = append(maps.All, channels(acts[c][0], placed[c].Out))
		maps.Shapes = append(maps.Shapes, placed[c].Out)
	}
	maps.Conv0 = maps.All[0]
	if len(maps.All) > 1 {
		maps.Conv1 = maps.All[1]
	}
	return maps, nil
}

// convOutputs are the positions in arch of each convolution's output after its activation
// (the convolution's own when none follows).
func convOutputs(arch []model.Layer) []int {
	var out []int
	for i, l := range arch {
		if l.Op != "conv" {
			continue
		}
		if i+1 < len(arch) && (arch[i+1].Op == "relu" || arch[i+1].Op == "sigmoid") {
			i++
		}
		out = append(out, i)
	}
	return out
}

// channels cuts one example's values of shape s into its channels, as float32.
func channels(v []float64, s model.Shape) [][]float32 {
	size := s.H * s.W
	out := make([][]float32, s.C)
	for c := range out {
		out[c] = make([]float32, size)
		for i := range out[c] {
			out[c][i] = float32(v[c*size+i])
		}
	}
	return out
}
