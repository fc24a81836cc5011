package onnx

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The ONNX messages an exported model uses, and their encoding. Field numbers are those of
// onnx/onnx.proto (ONNX 1.12, the version Debian bookworm's python3-onnx ships; opset 13 and
// IR version 7 need no later field). onnx.proto is proto2: a field is written when it is set
// here, repeated scalars unpacked unless the schema says [packed = true]. Fields are written
// in a fixed order, so the same model always gives the same bytes.

// DataType is TensorProto.DataType.
type DataType int32

// The element types graphtrain exports (TensorProto.DataType in onnx.proto).
const (
	Float  DataType = 1  // FLOAT = 1
	Int64  DataType = 7  // INT64 = 7
	Double DataType = 11 // DOUBLE = 11
)

// String names the type as ONNX Runtime's tensor types do.
func (d DataType) String() string {
	switch d {
	case Float:
		return "float32"
	case Int64:
		return "int64"
	case Double:
		return "float64"
	}
	return "unknown"
}

// AttributeType is AttributeProto.AttributeType.
type AttributeType int32

// The attribute types graphtrain writes (AttributeProto.AttributeType in onnx.proto).
const (
	AttrFloat  AttributeType = 1 // FLOAT = 1
	AttrInt    AttributeType = 2 // INT = 2
	AttrString AttributeType = 3 // STRING = 3
	AttrInts   AttributeType = 7 // INTS = 7
)

// Model is ModelProto.
type Model struct {
	IRVersion       int64         // ir_version = 1
	Opsets          []OperatorSet // opset_import = 8
	ProducerName    string        // producer_name = 2
	ProducerVersion string        // producer_version = 3
	Domain          string        // domain = 4
	ModelVersion    int64         // model_version = 5
	DocString       string        // doc_string = 6
	Graph           *Graph        // graph = 7
	Metadata        []Entry       // metadata_props = 14
}

// OperatorSet is OperatorSetIdProto.
type OperatorSet struct {
	Domain  string // domain = 1 ("" is the default ONNX domain)
	Version int64  // version = 2
}

// Entry is StringStringEntryProto.
type Entry struct {
	Key   string // key = 1
	Value string // value = 2
}

// Graph is GraphProto.
type Graph struct {
	Nodes        []*Node      // node = 1
	Name         string       // name = 2
	Initializers []*Tensor    // initializer = 5
	DocString    string       // doc_string = 10
	Inputs       []*ValueInfo // input = 11
	Outputs      []*ValueInfo // output = 12
}

// Node is NodeProto.
type Node struct {
	Inputs     []string     // input = 1
	Outputs    []string     // output = 2
	Name       string       // name = 3
	OpType     string       // op_type = 4
	Attributes []*Attribute // attribute = 5
	DocString  string       // doc_string = 6
	Domain     string       // domain = 7
}

// Attribute is AttributeProto; Type says which of F, I, S, Ints is meant.
type Attribute struct {
	Name string        // name = 1
	F    float32       // f = 2
	I    int64         // i = 3
	S    string        // s = 4
	Ints []int64       // ints = 8
	Type AttributeType // type = 20
}

// Tensor is TensorProto, its data always in raw_data: little-endian, row-major.
type Tensor struct {
	Dims     []int64  // dims = 1
	DataType DataType // data_type = 2
	Name     string   // name = 8
	Raw      []byte   // raw_data = 9
}

// ValueInfo is ValueInfoProto for a tensor: TypeProto.tensor_type with its shape.
type ValueInfo struct {
	Name      string   // name = 1
	ElemType  DataType // type = 2 → TypeProto.tensor_type = 1 → elem_type = 1
	Shape     []Dim    // type = 2 → TypeProto.tensor_type = 1 → shape = 2
	DocString string   // doc_string = 3
}

// Dim is TensorShapeProto.Dimension: a fixed size, or a named one (Param) such as "N".
type Dim struct {
	Value int64  // dim_value = 1
	Param string // dim_param = 2
}

// Marshal encodes the model in the protobuf wire format, the bytes of a .onnx file.
func (m *Model) Marshal() []byte {
	var b []byte
	b = appendInt(b, 1, m.IRVersion)
	b = appendString(b, 2, m.ProducerName)
	b = appendString(b, 3, m.ProducerVersion)
	if m.Domain != "" {
		b = appendString(b, 4, m.Domain)
	}
	b = appendInt(b, 5, m.ModelVersion)
	if m.DocString != "" {
		b = appendString(b, 6, m.DocString)
	}
	if m.Graph != nil {
		b = appendMessage(b, 7, m.Graph.marshal())
	}
	for _, o := range m.Opsets {
		var ob []byte
		if o.Domain != "" {
			ob = appendString(ob, 1, o.Domain)
		}
		ob = appendInt(ob, 2, o.Version)
		b = appendMessage(b, 8, ob)
	}
	for _, e := range m.Metadata {
		b = appendMessage(b, 14, appendString(appendString(nil, 1, e.Key), 2, e.Value))
	}
	return b
}

func (g *Graph) marshal() []byte {
	var b []byte
	for _, n := range g.Nodes {
		b = appendMessage(b, 1, n.marshal())
	}
	b = appendString(b, 2, g.Name)
	for _, t := range g.Initializers {
		b = appendMessage(b, 5, t.marshal())
	}
	if g.DocString != "" {
		b = appendString(b, 10, g.DocString)
	}
	for _, v := range g.Inputs {
		b = appendMessage(b, 11, v.marshal())
	}
	for _, v := range g.Outputs {
		b = appendMessage(b, 12, v.marshal())
	}
	return b
}

func (n *Node) marshal() []byte {
	var b []byte
	for _, s := range n.Inputs {
		b = appendString(b, 1, s)
	}
	for _, s := range n.Outputs {
		b = appendString(b, 2, s)
	}
	if n.Name != "" {
		b = appendString(b, 3, n.Name)
	}
	b = appendString(b, 4, n.OpType)
	for _, a := range n.Attributes {
		b = appendMessage(b, 5, a.marshal())
	}
	if n.DocString != "" {
		b = appendString(b, 6, n.DocString)
	}
	if n.Domain != "" {
		b = appendString(b, 7, n.Domain)
	}
	return b
}

func (a *Attribute) marshal() []byte {
	b := appendString(nil, 1, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = appendInt(b, 3, a.I)
	case AttrString:
		b = appendString(b, 4, a.S)
	case AttrInts:
		for _, v := range a.Ints { // repeated int64 ints = 8, not packed in onnx.proto
			b = appendInt(b, 8, v)
		}
	}
	return appendInt(b, 20, int64(a.Type))
}

func (t *Tensor) marshal() []byte {
	var b []byte
	for _, d := range t.Dims { // repeated int64 dims = 1, not packed in onnx.proto
		b = appendInt(b, 1, d)
	}
	b = appendInt(b, 2, int64(t.DataType))
	b = appendString(b, 8, t.Name)
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, t.Raw)
}

func (v *ValueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.Shape {
		var db []byte
		if d.Param != "" {
			db = appendString(db, 2, d.Param)
		} else {
			db = appendInt(db, 1, d.Value)
		}
		shape = appendMessage(shape, 1, db) // TensorShapeProto: dim = 1
	}
	tensorType := appendInt(nil, 1, int64(v.ElemType)) // TypeProto.Tensor: elem_type = 1
	tensorType = appendMessage(tensorType, 2, shape)   // TypeProto.Tensor: shape = 2
	typ := appendMessage(nil, 1, tensorType)           // TypeProto: tensor_type = 1
	b := appendString(nil, 1, v.Name)
	b = appendMessage(b, 2, typ)
	if v.DocString != "" {
		b = appendString(b, 3, v.DocString)
	}
	return b
}

// appendInt writes an int64 or int32 field as a varint (negative values in ten bytes, as
// protobuf encodes them for both).
func appendInt(b []byte, num protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}
