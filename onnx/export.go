package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/graphtrain/graphtrain/model"
)

// Opset is the ONNX operator set every exported model imports (the default domain only):
// opset 13, which every ONNX Runtime since 1.7 runs. The operators used and their versions
// at opset 13: Gemm-13, Relu-13, Sigmoid-13, Reshape-13, Conv-11, MaxPool-12, Flatten-13,
// AveragePool-11, BatchNormalization-9, Dropout-13.
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
	dt, err := elemType(m.Spec.Dtype)
	if err != nil {
		return nil, err
	}
	b := &builder{dt: dt, used: map[string]bool{}}
	if err := m.Spec.Check(); err != nil { // a model graphtrain builds
		return nil, fmt.Errorf("onnx: %w", err)
	}
	x, layers, err := b.layers(m)
	if err != nil {
		return nil, err
	}
	output := outputName(m.Spec)
	if err := b.finish(m, x, output); err != nil {
		return nil, err
	}
	dataset := exportDataset(m.Spec, info.Dataset)
	inDoc, outDoc, graphDoc := docStrings(m.Spec, layers, dataset)
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

// elemType is the ONNX element type of a model's dtype: float32 or float64.
func elemType(dtype string) (DataType, error) {
	switch dtype {
	case "float32":
		return Float, nil
	case "float64":
		return Double, nil
	}
	return 0, fmt.Errorf("onnx: dtype %q: graphtrain exports float32 and float64 models", dtype)
}

// outputName is the name of the graph's output: LogitsName for a classifier, XORName for
// the XOR net.
func outputName(spec model.Spec) string {
	if spec.Classifier() {
		return LogitsName
	}
	return XORName
}

// exportDataset is the data set recorded in the metadata: the one given, else "xor" for the
// XOR net and "mnist" for a classifier.
func exportDataset(spec model.Spec, given string) string {
	switch {
	case given != "":
		return given
	case !spec.Classifier():
		return "xor"
	}
	return "mnist"
}

// finish checks the graph built for m, whose last node computes x: every parameter of m
// placed, the names sound. It renames x, the last node's output, to output.
func (b *builder) finish(m *model.Model, x, output string) error {
	for _, p := range m.Params {
		if !b.used[p.Name] {
			return fmt.Errorf("onnx: %s model: parameter %s %v has no place in the exported graph", m.Spec.Kind, p.Name, p.T.Shape())
		}
	}
	if err := b.checkNames(); err != nil {
		return err
	}
	last := b.nodes[len(b.nodes)-1]
	if last.Outputs[0] != x {
		return fmt.Errorf("onnx: internal error: the last node does not compute the output")
	}
	last.Outputs[0] = output
	return nil
}

// docStrings are the doc strings of the graph's input and output and of the graph (also the
// model's) for a model of spec with the given layers, trained on dataset.
func docStrings(spec model.Spec, layers, dataset string) (inDoc, outDoc, graphDoc string) {
	if spec.Classifier() {
		inDoc = "MNIST-style images, 28x28 pixels each, row-major, each pixel the stored byte divided by 255 (0 background, 1 ink)"
		if in, err := spec.InputShape(); err == nil && spec.Kind == "custom" {
			inDoc = fmt.Sprintf("examples of %d values (%s, channels first, rows, columns), each pixel the stored byte divided by 255", spec.Inputs, in)
		}
		outDoc = fmt.Sprintf("the logits of the %d classes: the prediction is the largest; softmax gives probabilities", spec.Outputs)
		if spec.Outputs == 10 {
			outDoc = "the logits of the ten classes: the prediction is the largest; softmax gives probabilities"
		}
		graphDoc = fmt.Sprintf("graphtrain %s %s, trained on %s", spec.Kind, layers, dataset)
		return inDoc, outDoc, graphDoc
	}
	inDoc = "the two operands, each 0 or 1"
	outDoc = "the sigmoid output: the answer is 1 when it is above 0.5"
	graphDoc = fmt.Sprintf("graphtrain %s net %s, %s activations, float64", spec.Kind, layers, spec.Activation)
	return inDoc, outDoc, graphDoc
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
	case "tanh":
		return b.node("Tanh", []string{x}), nil
	}
	return "", fmt.Errorf("onnx: activation %q: graphtrain exports relu, leakyrelu, sigmoid and tanh", act)
}

// layers adds the model's layers (Spec.Arch) over the input: a Reshape to [N, C, H, W] first
// when they start on images; Conv with its bias, MaxPool, Flatten (which keeps graphtrain's
// channels-first order), Gemm with its bias, the activations, AveragePool,
// BatchNormalization (its running statistics) and Dropout (the identity at inference). It returns the output's name
// and the layer sizes, such as 784-256-10 or 784-conv6@5x5-conv16@5x5-400-120-84-10.
func (b *builder) layers(m *model.Model) (string, string, error) {
	placed, err := m.Spec.Layout()
	if err != nil {
		return "", "", fmt.Errorf("onnx: %w", err)
	}
	x := InputName
	if in := placed[0].In; in.H > 0 {
		x = b.node("Reshape", []string{x, b.int64s("image_shape", -1, int64(in.C), int64(in.H), int64(in.W))})
	}
	sizes := []string{strconv.Itoa(m.Spec.Inputs)}
	for _, p := range placed {
		if x, err = b.layer(m, x, p); err != nil {
			return "", "", err
		}
		switch p.Op {
		case "conv":
			sizes = append(sizes, fmt.Sprintf("conv%d@%dx%d", p.Units, p.Kernel, p.Kernel))
		case "dense":
			if sizes[len(sizes)-1] != strconv.Itoa(p.In.C) {
				sizes = append(sizes, strconv.Itoa(p.In.C))
			}
			sizes = append(sizes, strconv.Itoa(p.Units))
		}
	}
	if out := placed[len(placed)-1].Out; out.Size() != m.Spec.Outputs {
		return "", "", fmt.Errorf("onnx: %s model: the last layer gives %s values, the model has %d outputs", m.Spec.Kind, out, m.Spec.Outputs)
	}
	return x, strings.Join(sizes, "-"), nil
}

// layer adds one placed layer over x and returns its output's name.
func (b *builder) layer(m *model.Model, x string, p model.Placed) (string, error) {
	var inputs []string
	if p.Weights != "" {
		w, err := b.param(m, p.Weights, p.WShape...)
		if err != nil {
			return "", err
		}
		inputs = append(inputs, x, w)
	}
	if p.Bs != "" { // [1, units] or [1, filters, 1, 1] in the checkpoint, [units] here
		bias, err := b.param(m, p.Bs, p.Units)
		if err != nil {
			return "", err
		}
		inputs = append(inputs, bias)
	}
	k, s := int64(p.Kernel), int64(p.Stride)
	switch p.Op {
	case "conv":
		pad := int64(p.Pad)
		return b.node("Conv", inputs,
			&Attribute{Name: "kernel_shape", Type: AttrInts, Ints: []int64{k, k}},
			&Attribute{Name: "pads", Type: AttrInts, Ints: []int64{pad, pad, pad, pad}},
			&Attribute{Name: "strides", Type: AttrInts, Ints: []int64{s, s}},
			&Attribute{Name: "dilations", Type: AttrInts, Ints: []int64{1, 1}},
			&Attribute{Name: "group", Type: AttrInt, I: 1}), nil
	case "maxpool":
		return b.node("MaxPool", []string{x},
			&Attribute{Name: "kernel_shape", Type: AttrInts, Ints: []int64{k, k}},
			&Attribute{Name: "strides", Type: AttrInts, Ints: []int64{s, s}}), nil
	case "flatten":
		return b.node("Flatten", []string{x}, &Attribute{Name: "axis", Type: AttrInt, I: 1}), nil
	case "dense":
		// Gemm: Y = x·W + b, b [units] broadcast over the rows (alpha = beta = 1, no transposes).
		return b.node("Gemm", inputs), nil
	case "leakyrelu":
		return b.node("LeakyRelu", []string{x}, &Attribute{Name: "alpha", Type: AttrFloat, F: float32(p.Alpha)}), nil
	case "avgpool":
		return b.node("AveragePool", []string{x},
			&Attribute{Name: "kernel_shape", Type: AttrInts, Ints: []int64{k, k}},
			&Attribute{Name: "strides", Type: AttrInts, Ints: []int64{s, s}}), nil
	case "dropout": // the identity at inference (training_mode false), as in graphtrain's evaluation
		return b.node("Dropout", []string{x}), nil
	case "batchnorm": // with the running statistics, as graphtrain evaluates
		in := []string{x}
		for _, name := range p.Names { // scale, shift, mean, variance
			v, err := b.param(m, name, p.Out.C)
			if err != nil {
				return "", err
			}
			in = append(in, v)
		}
		return b.node("BatchNormalization", in, &Attribute{Name: "epsilon", Type: AttrFloat, F: float32(model.BNEps)}), nil
	}
	return b.activation(x, p.Op)
}
