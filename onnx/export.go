package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"graphtrain/model"
)

// Opset is the ONNX operator set every exported model imports (the default domain only):
// opset 13, which every ONNX Runtime since 1.7 runs. The operators used and their versions
// at opset 13: Gemm-13, Relu-13, Sigmoid-13, Reshape-13, Conv-11, MaxPool-12, Flatten-13.
const Opset = 13

// IRVersion is the ONNX IR version written with Opset: 7, the one that came with opset 13
// (ONNX 1.8).
const IRVersion = 7

// ProducerName is the producer_name of every exported model.
const ProducerName = "graphtrain"

// The names of the graph's input and outputs.
const (
	InputName  = "input"  // [N, 784] float32 pixels, or [N, 2] float64 XOR operands
	LogitsName = "logits" // [N, 10] float32: an MNIST model's output
	XORName    = "output" // [N, 1] float64: the XOR net's sigmoid output
)

// Info is what Export records besides the graph.
type Info struct {
	ProducerVersion string  // graphtrain's version (producer_version)
	Dataset         string  // the data set the model was trained on; "" is "mnist" ("xor" for the XOR net)
	Metadata        []Entry // more metadata_props, after kind, dataset, layers and dtype
}

// Export builds the inference graph of m (xor, mlp or cnn) with its parameters as
// initializers:
//
//	xor  input [N,2] → Gemm(weights0[, bias0]) → Sigmoid → Gemm(weights1[, bias1]) → Sigmoid → output [N,1]   (float64)
//	mlp  input [N,784] → (Gemm(weightsI, biasI) → Relu) for every layer but the last → Gemm → logits [N,10]
//	cnn  input [N,784] → Reshape [N,1,28,28] → (Conv 5x5 + bias → Relu → MaxPool 2) x2 →
//	     Flatten [N,400] (channels, rows, columns: graphtrain's order) → Gemm+Relu, Gemm+Relu, Gemm → logits [N,10]
//
// The dense layers are weights0/bias0, weights1/bias1, ... as many as m has; every
// parameter of m must find its place, or Export fails rather than drop one.
func Export(m *model.Model, info Info) (*Model, error) {
	b := &builder{used: map[string]bool{}}
	switch m.Spec.Dtype {
	case "float32":
		b.dt = Float
	case "float64":
		b.dt = Double
	default:
		return nil, fmt.Errorf("onnx: dtype %q: graphtrain exports float32 and float64 models", m.Spec.Dtype)
	}
	dataset := info.Dataset
	output := LogitsName
	var x, layers string
	var err error
	switch m.Spec.Kind {
	case "xor":
		if dataset == "" {
			dataset = "xor"
		}
		output = XORName
		x, layers, err = b.dense(m, InputName, m.Spec.Inputs, m.Spec.Activation, m.Spec.Activation)
	case "mlp":
		x, layers, err = b.dense(m, InputName, m.Spec.Inputs, m.Spec.Activation, "")
	case "cnn":
		x, layers, err = b.cnn(m)
	default:
		return nil, fmt.Errorf("onnx: model kind %q: graphtrain exports xor, mlp and cnn", m.Spec.Kind)
	}
	if err != nil {
		return nil, err
	}
	if dataset == "" {
		dataset = "mnist"
	}
	for _, p := range m.Params {
		if !b.used[p.Name] {
			return nil, fmt.Errorf("onnx: %s model: parameter %s %v has no place in the exported graph", m.Spec.Kind, p.Name, p.T.Shape())
		}
	}
	if err := b.checkNames(); err != nil {
		return nil, err
	}
	// The last node writes the graph's output.
	last := b.nodes[len(b.nodes)-1]
	if last.Outputs[0] != x {
		return nil, fmt.Errorf("onnx: internal error: the last node does not compute the output")
	}
	last.Outputs[0] = output

	inDoc := "the two operands, each 0 or 1"
	outDoc := "the sigmoid output: the answer is 1 when it is above 0.5"
	graphDoc := fmt.Sprintf("graphtrain %s net %s, %s activations, float64", m.Spec.Kind, layers, m.Spec.Activation)
	if m.Spec.Kind != "xor" {
		inDoc = "MNIST-style images, 28x28 pixels each, row-major, each pixel the stored byte divided by 255 (0 background, 1 ink)"
		outDoc = "the logits of the ten classes: the prediction is the largest; softmax gives probabilities"
		graphDoc = fmt.Sprintf("graphtrain %s %s, trained on %s", m.Spec.Kind, layers, dataset)
	}
	g := &Graph{
		Name:         "graphtrain_" + m.Spec.Kind,
		DocString:    graphDoc,
		Nodes:        b.nodes,
		Initializers: b.inits,
		Inputs:       []*ValueInfo{{Name: InputName, ElemType: b.dt, Shape: []Dim{{Param: "N"}, {Value: int64(m.Spec.Inputs)}}, DocString: inDoc}},
		Outputs:      []*ValueInfo{{Name: output, ElemType: b.dt, Shape: []Dim{{Param: "N"}, {Value: int64(m.Spec.Outputs)}}, DocString: outDoc}},
	}
	meta := []Entry{
		{"kind", m.Spec.Kind},
		{"dataset", dataset},
		{"layers", layers},
		{"dtype", m.Spec.Dtype},
	}
	return &Model{
		IRVersion:       IRVersion,
		Opsets:          []OperatorSet{{Version: Opset}},
		ProducerName:    ProducerName,
		ProducerVersion: info.ProducerVersion,
		ModelVersion:    1,
		DocString:       graphDoc,
		Graph:           g,
		Metadata:        append(meta, info.Metadata...),
	}, nil
}

// builder collects nodes and initializers.
type builder struct {
	dt    DataType
	nodes []*Node
	inits []*Tensor
	used  map[string]bool // the model's parameters placed in the graph
	count map[string]int  // nodes per op type, for their names
}

// node adds an op_type node reading inputs and returns the name of its one output.
func (b *builder) node(op string, inputs []string, attrs ...*Attribute) string {
	if b.count == nil {
		b.count = map[string]int{}
	}
	name := fmt.Sprintf("%s_%d", op, b.count[op]) // "Conv_0": never a parameter's name
	b.count[op]++
	b.nodes = append(b.nodes, &Node{Name: name, OpType: op, Inputs: inputs, Outputs: []string{name}, Attributes: attrs})
	return name
}

// param adds the model's parameter name as an initializer of the given dims (its own
// shape when dims is nil; the same elements either way) and returns its name.
func (b *builder) param(m *model.Model, name string, dims ...int) (string, error) {
	p := m.Param(name)
	if p == nil {
		return "", fmt.Errorf("onnx: %s model has no parameter %s", m.Spec.Kind, name)
	}
	if dims == nil {
		dims = p.T.Shape()
	}
	n := 1
	d64 := make([]int64, len(dims))
	for i, d := range dims {
		n *= d
		d64[i] = int64(d)
	}
	if n != p.T.Shape().TotalSize() {
		return "", fmt.Errorf("onnx: %s model: parameter %s has shape %v, want %v", m.Spec.Kind, name, p.T.Shape(), dims)
	}
	var raw []byte
	switch data := p.T.Data().(type) {
	case []float32:
		if b.dt != Float {
			return "", fmt.Errorf("onnx: parameter %s is float32 in a %s model", name, b.dt)
		}
		raw = make([]byte, 0, 4*len(data))
		for _, v := range data {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
	case []float64:
		if b.dt != Double {
			return "", fmt.Errorf("onnx: parameter %s is float64 in a %s model", name, b.dt)
		}
		raw = make([]byte, 0, 8*len(data))
		for _, v := range data {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
		}
	default:
		return "", fmt.Errorf("onnx: parameter %s holds %T", name, p.T.Data())
	}
	b.used[name] = true
	b.inits = append(b.inits, &Tensor{Name: name, Dims: d64, DataType: b.dt, Raw: raw})
	return name, nil
}

// checkNames makes sure that every value (the input, initializers, node outputs) has a name
// of its own, as ONNX requires.
func (b *builder) checkNames() error {
	seen := map[string]bool{InputName: true, LogitsName: true, XORName: true}
	for _, t := range b.inits {
		if seen[t.Name] {
			return fmt.Errorf("onnx: internal error: two values named %s", t.Name)
		}
		seen[t.Name] = true
	}
	for _, n := range b.nodes {
		for _, o := range n.Outputs {
			if seen[o] {
				return fmt.Errorf("onnx: internal error: two values named %s", o)
			}
			seen[o] = true
		}
	}
	return nil
}

// int64s adds a constant int64 vector as an initializer.
func (b *builder) int64s(name string, v ...int64) string {
	raw := make([]byte, 0, 8*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(x))
	}
	b.inits = append(b.inits, &Tensor{Name: name, Dims: []int64{int64(len(v))}, DataType: Int64, Raw: raw})
	return name
}

// activation adds the node of a graphtrain activation ("" for none).
func (b *builder) activation(x, act string) (string, error) {
	switch act {
	case "":
		return x, nil
	case "relu":
		return b.node("Relu", []string{x}), nil
	case "sigmoid":
		return b.node("Sigmoid", []string{x}), nil
	}
	return "", fmt.Errorf("onnx: activation %q: graphtrain exports relu and sigmoid", act)
}

// dense adds the dense layers weights0/bias0, weights1/bias1, ... (as many as m has, biases
// when m.Spec.Bias) over x [N, in], hidden after every layer but the last and last after it.
// It returns the output's name and the layer sizes, such as 784-256-10.
func (b *builder) dense(m *model.Model, x string, in int, hidden, last string) (string, string, error) {
	sizes := []string{strconv.Itoa(in)}
	n := 0
	for m.Param("weights"+strconv.Itoa(n)) != nil {
		n++
	}
	if n == 0 {
		return "", "", fmt.Errorf("onnx: %s model has no dense layer (no parameter weights0)", m.Spec.Kind)
	}
	for i := 0; i < n; i++ {
		wName := "weights" + strconv.Itoa(i)
		shape := m.Param(wName).T.Shape()
		if len(shape) != 2 || shape[0] != in {
			return "", "", fmt.Errorf("onnx: %s model: %s has shape %v, want [%d, units]", m.Spec.Kind, wName, shape, in)
		}
		out := shape[1]
		w, err := b.param(m, wName)
		if err != nil {
			return "", "", err
		}
		inputs := []string{x, w}
		if m.Spec.Bias {
			bias, err := b.param(m, "bias"+strconv.Itoa(i), out)
			if err != nil {
				return "", "", err
			}
			inputs = append(inputs, bias)
		}
		// Gemm: Y = x·W + b, b [units] broadcast over the rows (alpha = beta = 1, no transposes).
		x = b.node("Gemm", inputs)
		act := hidden
		if i == n-1 {
			act = last
		}
		if x, err = b.activation(x, act); err != nil {
			return "", "", err
		}
		in = out
		sizes = append(sizes, strconv.Itoa(out))
	}
	if in != m.Spec.Outputs {
		return "", "", fmt.Errorf("onnx: %s model: the last dense layer has %d units, the model %d outputs", m.Spec.Kind, in, m.Spec.Outputs)
	}
	return x, strings.Join(sizes, "-"), nil
}

// cnn adds graphtrain's LeNet-style convnet (graph/mnist.go, buildCNN): the input reshaped to
// [N,1,28,28]; for each of conv0 (padding 2) and conv1 (padding 0): Conv with bias, Relu,
// MaxPool 2x2 stride 2; then Flatten, which keeps graphtrain's NCHW order, and the dense layers.
func (b *builder) cnn(m *model.Model) (string, string, error) {
	side := model.ImageSide
	if m.Spec.Inputs != side*side {
		return "", "", fmt.Errorf("onnx: cnn model with %d inputs: want %d", m.Spec.Inputs, side*side)
	}
	x := b.node("Reshape", []string{InputName, b.int64s("image_shape", -1, 1, int64(side), int64(side))})
	channels := 1
	var sizes []string
	for i, pad := range []int{2, 0} {
		wName := fmt.Sprintf("conv%d", i)
		p := m.Param(wName)
		if p == nil {
			return "", "", fmt.Errorf("onnx: cnn model has no parameter %s", wName)
		}
		shape := p.T.Shape()
		if len(shape) != 4 || shape[1] != channels || shape[2] != shape[3] {
			return "", "", fmt.Errorf("onnx: cnn model: %s has shape %v, want [filters, %d, k, k]", wName, shape, channels)
		}
		filters, k := shape[0], shape[2]
		w, err := b.param(m, wName)
		if err != nil {
			return "", "", err
		}
		bias, err := b.param(m, wName+"_bias", filters) // [1, filters, 1, 1] in the checkpoint
		if err != nil {
			return "", "", err
		}
		p64 := int64(pad)
		x = b.node("Conv", []string{x, w, bias},
			&Attribute{Name: "kernel_shape", Type: AttrInts, Ints: []int64{int64(k), int64(k)}},
			&Attribute{Name: "pads", Type: AttrInts, Ints: []int64{p64, p64, p64, p64}},
			&Attribute{Name: "strides", Type: AttrInts, Ints: []int64{1, 1}},
			&Attribute{Name: "dilations", Type: AttrInts, Ints: []int64{1, 1}},
			&Attribute{Name: "group", Type: AttrInt, I: 1})
		if x, err = b.activation(x, "relu"); err != nil {
			return "", "", err
		}
		x = b.node("MaxPool", []string{x},
			&Attribute{Name: "kernel_shape", Type: AttrInts, Ints: []int64{2, 2}},
			&Attribute{Name: "strides", Type: AttrInts, Ints: []int64{2, 2}})
		side = (side + 2*pad - k + 1) / 2
		channels = filters
		sizes = append(sizes, fmt.Sprintf("conv%d@%dx%d", filters, k, k))
	}
	x = b.node("Flatten", []string{x}, &Attribute{Name: "axis", Type: AttrInt, I: 1})
	x, dense, err := b.dense(m, x, channels*side*side, "relu", "")
	if err != nil {
		return "", "", err
	}
	return x, "784-" + strings.Join(sizes, "-") + "-" + dense, nil
}
