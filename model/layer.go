package model

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A Layer is one step of a sequential network, in the order the data flows through it. A
// model's layers (Spec.Arch) say everything about its graph but its loss: Build, the
// parameters' names and shapes, the memory estimate and the ONNX export all read them.
type Layer struct {
	Op     string  // "dense", "conv", "maxpool", "relu", "leakyrelu", "sigmoid", "tanh", "flatten", ...
	Units  int     // dense: outputs; conv: filters
	Kernel int     // conv, maxpool, avgpool: the side of the square window
	Stride int     // conv, maxpool, avgpool: the step between windows
	Pad    int     // conv: the zeros added on each side of the image
	Bias   bool    // dense, conv: whether a bias is added
	Alpha  float64 // leakyrelu: the slope below 0
	Rate   float64 // dropout: the fraction of values dropped in training
}

// String writes the layer as a model description does: dense(120), conv(6,5,pad=2),
// maxpool(2), relu.
func (l Layer) String() string {
	switch l.Op {
	case "dense":
		return fmt.Sprintf("dense(%d)", l.Units)
	case "conv":
		s := fmt.Sprintf("conv(%d,%d", l.Units, l.Kernel)
		if l.Stride != 1 {
			s += fmt.Sprintf(",stride=%d", l.Stride)
		}
		if l.Pad != 0 {
			s += fmt.Sprintf(",pad=%d", l.Pad)
		}
		return s + ")"
	case "maxpool", "avgpool":
		if l.Stride != l.Kernel {
			return fmt.Sprintf("%s(%d,stride=%d)", l.Op, l.Kernel, l.Stride)
		}
		return fmt.Sprintf("%s(%d)", l.Op, l.Kernel)
	case "leakyrelu":
		return fmt.Sprintf("leakyrelu(%s)", strconv.FormatFloat(l.Alpha, 'g', -1, 64))
	case "dropout":
		return fmt.Sprintf("dropout(%s)", strconv.FormatFloat(l.Rate, 'g', -1, 64))
	}
	return l.Op
}

// Dense, Conv, MaxPool and the activations make Layers.
func Dense(units int, bias bool) Layer { return Layer{Op: "dense", Units: units, Bias: bias} }

// Conv is a convolution of filters square kernels, stride 1, with pad zeros on each side.
func Conv(filters, kernel, pad int) Layer {
	return Layer{Op: "conv", Units: filters, Kernel: kernel, Stride: 1, Pad: pad, Bias: true}
}

// MaxPool is a max pooling over square windows of side k, stride k.
func MaxPool(k int) Layer { return Layer{Op: "maxpool", Kernel: k, Stride: k} }

// The layers without parameters or sizes.
var (
	ReLU    = Layer{Op: "relu"}
	Sigmoid = Layer{Op: "sigmoid"}
	Flatten = Layer{Op: "flatten"}
)

// Describe writes layers as a model description: one String per layer, spaces between.
func Describe(layers []Layer) string {
	parts := make([]string, len(layers))
	for i, l := range layers {
		parts[i] = l.String()
	}
	return strings.Join(parts, " ")
}

// Shape is the shape of one example between two layers: C channels of H x W values, or a
// vector of C values (H and W 0).
type Shape struct{ C, H, W int }

// Size is the number of values of an example of this shape.
func (s Shape) Size() int { return s.C * max(1, s.H) * max(1, s.W) }

func (s Shape) String() string {
	if s.H == 0 {
		return fmt.Sprint(s.C)
	}
	return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W)
}

// A Placed layer is a Layer with its input and output shapes and the names of its
// parameters: weights<j>/bias<j> for the j-th dense layer, conv<i>/conv<i>_bias for the i-th
// convolution.
type Placed struct {
	Layer
	In, Out      Shape
	Weights, Bs  string // parameter names, "" where there is none
	WShape, BShp []int  // their shapes
	FanIn        int    // inputs to each output value: what the uniform initialisation scales by
	// Names are a batch normalisation's parameters (bnNames), each of Out.C values: scale,
	// shift, running mean, running variance; empty for the other layers.
	Names []string
}

// Place works out the shape of every layer of arch on inputs of shape in, and names their
// parameters. A layer that does not fit its input is an error naming it and its position.
func Place(in Shape, arch []Layer) ([]Placed, error) { return place(in, arch, nil) }

// place is Place with the positions errors give each layer: pos[i], the layer's place in
// the description the user wrote (NormalizeArch adds flattens), or i+1 when pos is nil.
func place(in Shape, arch []Layer, pos []int) ([]Placed, error) {
	var out []Placed
	dense, conv, bn := 0, 0, 0
	for i, l := range arch {
		p := Placed{Layer: l, In: in}
		n := i + 1
		if pos != nil {
			n = pos[i]
		}
		switch l.Op {
		case "conv":
			if in.H == 0 {
				return nil, fmt.Errorf("%w: layer %d %s: its input is a vector of %d, not an image", ErrSpec, n, l, in.C)
			}
			oh, ow := (in.H+2*l.Pad-l.Kernel)/l.Stride+1, (in.W+2*l.Pad-l.Kernel)/l.Stride+1
			if in.H+2*l.Pad < l.Kernel || in.W+2*l.Pad < l.Kernel {
				return nil, fmt.Errorf("%w: layer %d %s: its input is %s, smaller than the kernel", ErrSpec, n, l, in)
			}
			p.Weights, p.Bs = fmt.Sprintf("conv%d", conv), fmt.Sprintf("conv%d_bias", conv)
			p.WShape, p.BShp = []int{l.Units, in.C, l.Kernel, l.Kernel}, []int{1, l.Units, 1, 1}
			p.FanIn, conv = in.C*l.Kernel*l.Kernel, conv+1
			in = Shape{l.Units, oh, ow}
		case "maxpool", "avgpool":
			if in.H == 0 {
				return nil, fmt.Errorf("%w: layer %d %s: its input is a vector of %d, not an image", ErrSpec, n, l, in.C)
			}
			if in.H < l.Kernel || in.W < l.Kernel {
				return nil, fmt.Errorf("%w: layer %d %s: its input is %s, smaller than the window", ErrSpec, n, l, in)
			}
			in = Shape{in.C, (in.H-l.Kernel)/l.Stride + 1, (in.W-l.Kernel)/l.Stride + 1}
		case "flatten":
			in = Shape{C: in.Size()}
		case "dense":
			if in.H != 0 {
				return nil, fmt.Errorf("%w: layer %d %s: its input is the image %s; flatten it first", ErrSpec, n, l, in)
			}
			p.Weights, p.Bs = fmt.Sprintf("weights%d", dense), fmt.Sprintf("bias%d", dense)
			p.WShape, p.BShp = []int{in.C, l.Units}, []int{1, l.Units}
			p.FanIn, dense = in.C, dense+1
			in = Shape{C: l.Units}
		case "relu", "sigmoid", "tanh", "leakyrelu", "dropout":
		case "batchnorm":
			names := bnNames(bn)
			p.Names, bn = names[:], bn+1
		default:
			return nil, fmt.Errorf("%w: layer %d: unknown layer %q", ErrSpec, n, Short(l.Op))
		}
		if !l.Bias || i+1 < len(arch) && arch[i+1].Op == "batchnorm" { // the batch norm's shift is its bias
			p.Bs, p.BShp = "", nil
		}
		p.Out = in
		out = append(out, p)
	}
	return out, nil
}

// paramShapes lists the parameters of placed layers, layer by layer, weights then bias (a
// batch normalisation's in the order of Placed.Names).
func paramShapes(placed []Placed) []ParamShape {
	var ps []ParamShape
	for _, p := range placed {
		if p.Weights != "" {
			ps = append(ps, ParamShape{p.Weights, p.WShape})
		}
		if p.Bs != "" {
			ps = append(ps, ParamShape{p.Bs, p.BShp})
		}
		for _, n := range p.Names {
			ps = append(ps, ParamShape{n, []int{p.Out.C}})
		}
	}
	return ps
}

// uniformParams draws float32 parameters for placed layers, layer by layer, weights then
// bias, each uniform in ±1/√fan_in (as PyTorch's layers start).
func uniformParams(placed []Placed, seed int64) []*Param {
	r := rand.New(rand.NewSource(seed))
	var ps []*Param
	for _, p := range placed {
		if p.Weights != "" {
			ps = append(ps, uniformParam(r, p.Weights, p.FanIn, p.WShape...))
		}
		if p.Bs != "" {
			ps = append(ps, uniformParam(r, p.Bs, p.FanIn, p.BShp...))
		}
		for j, n := range p.Names { // batch normalisation: scale 1, shift 0, mean 0, variance 1
			c := constParam(n, float32(1-j%2), p.Out.C)
			c.Running = j >= 2
			ps = append(ps, c)
		}
	}
	return ps
}

// constParam makes a float32 parameter of n values, each v.
func constParam(name string, v float32, n int) *Param {
	data := make([]float32, n)
	for i := range data {
		data[i] = v
	}
	return &Param{Name: name, T: tensor.New(tensor.WithShape(n), tensor.WithBacking(data))}
}

// uniformParam makes a float32 parameter of shape, uniform in ±1/√fanIn.
func uniformParam(r *rand.Rand, name string, fanIn int, shape ...int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	bound := 1 / math.Sqrt(float64(fanIn))
	data := make([]float32, n)
	for i := range data {
		data[i] = float32((r.Float64()*2 - 1) * bound)
	}
	return &Param{Name: name, T: tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))}
}

// buildLayers adds the placed layers to net's graph, from x; it records each layer's output
// in net.Acts and returns the last.
func buildLayers(net *Net, x *G.Node, placed []Placed) (*G.Node, error) {
	var err error
	for i, p := range placed {
		w, b := net.node(p.Weights), net.node(p.Bs)
		switch p.Op {
		case "conv":
			k := p.Kernel
			if x, err = G.Conv2d(x, w, tensor.Shape{k, k}, []int{p.Pad, p.Pad}, []int{p.Stride, p.Stride}, []int{1, 1}); err == nil && b != nil {
				x, err = G.BroadcastAdd(x, b, nil, []byte{0, 2, 3})
			}
		case "maxpool":
			x, err = G.MaxPool2D(x, tensor.Shape{p.Kernel, p.Kernel}, []int{0, 0}, []int{p.Stride, p.Stride})
		case "flatten":
			x, err = G.Reshape(x, tensor.Shape{net.Batch, p.Out.C})
		case "dense":
			if x, err = G.Mul(x, w); err == nil && b != nil {
				x, err = G.BroadcastAdd(x, b, nil, []byte{0})
			}
		case "relu":
			x, err = G.Rectify(x)
		case "sigmoid":
			x, err = G.Sigmoid(x)
		case "tanh":
			x, err = G.Tanh(x)
		case "leakyrelu":
			x, err = G.LeakyRelu(x, p.Alpha)
		case "dropout":
			x, err = net.dropout(x, p, i)
		case "batchnorm":
			x, err = net.batchNorm(x, p)
		case "avgpool":
			x, err = net.avgPool(x, p)
		}
		if err != nil {
			return nil, err
		}
		net.Acts = append(net.Acts, x)
	}
	return x, nil
}
