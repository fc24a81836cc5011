package onnx

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/model"
)

// These tests read the encoded bytes back with protowire, field by field, so that the wire
// format is checked here without ONNX Runtime; cmd/graphtrain's export tests run the files in
// ONNX Runtime and the onnx checker.

// field is one decoded protobuf field: a varint, a fixed32, or bytes (a string or message).
type field struct {
	num   protowire.Number
	typ   protowire.Type
	v     uint64
	bytes []byte
}

// decode splits a message into its fields, failing on malformed input.
func decode(t *testing.T, b []byte) []field {
	t.Helper()
	var fs []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("field %d: unexpected wire type %v", num, typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		fs = append(fs, f)
	}
	return fs
}

func all(fs []field, num protowire.Number) []field {
	var out []field
	for _, f := range fs {
		if f.num == num {
			out = append(out, f)
		}
	}
	return out
}

func one(t *testing.T, fs []field, num protowire.Number) field {
	t.Helper()
	got := all(fs, num)
	if len(got) != 1 {
		t.Fatalf("field %d appears %d times, want once", num, len(got))
	}
	return got[0]
}

func strs(fs []field, num protowire.Number) []string {
	var out []string
	for _, f := range all(fs, num) {
		out = append(out, string(f.bytes))
	}
	return out
}

// exported is what the tests look at in a decoded model.
type exported struct {
	ir, opset int64
	producer  string
	ops       []string
	inits     map[string][]int64 // name → dims
	initType  map[string]int64
	initRaw   map[string][]byte
	meta      map[string]string
	input     string
	output    string
	attrs     map[string][]field // "Conv_0.pads" → the attribute's fields
}

func read(t *testing.T, b []byte) exported {
	t.Helper()
	top := decode(t, b)
	e := exported{inits: map[string][]int64{}, initType: map[string]int64{}, initRaw: map[string][]byte{}, meta: map[string]string{}, attrs: map[string][]field{}}
	e.ir = int64(one(t, top, 1).v)
	e.producer = string(one(t, top, 2).bytes)
	opset := decode(t, one(t, top, 8).bytes)
	if len(all(opset, 1)) != 0 {
		t.Errorf("opset_import names a domain")
	}
	e.opset = int64(one(t, opset, 2).v)
	for _, m := range all(top, 14) {
		kv := decode(t, m.bytes)
		e.meta[string(one(t, kv, 1).bytes)] = string(one(t, kv, 2).bytes)
	}
	g := decode(t, one(t, top, 7).bytes)
	for _, n := range all(g, 1) {
		nf := decode(t, n.bytes)
		name := string(one(t, nf, 3).bytes)
		e.ops = append(e.ops, string(one(t, nf, 4).bytes))
		for _, a := range all(nf, 5) {
			af := decode(t, a.bytes)
			e.attrs[name+"."+string(one(t, af, 1).bytes)] = af
		}
	}
	for _, in := range all(g, 5) {
		tf := decode(t, in.bytes)
		name := string(one(t, tf, 8).bytes)
		var dims []int64
		for _, d := range all(tf, 1) {
			dims = append(dims, int64(d.v))
		}
		e.inits[name] = dims
		e.initType[name] = int64(one(t, tf, 2).v)
		e.initRaw[name] = one(t, tf, 9).bytes
	}
	e.input = string(one(t, decode(t, one(t, g, 11).bytes), 1).bytes)
	e.output = string(one(t, decode(t, one(t, g, 12).bytes), 1).bytes)
	return e
}

func export(t *testing.T, m *model.Model, info Info) exported {
	t.Helper()
	om, err := Export(m, info)
	if err != nil {
		t.Fatalf("export %s: %v", m.Spec.Kind, err)
	}
	b := om.Marshal()
	om2, _ := Export(m, info)
	if !bytes.Equal(b, om2.Marshal()) {
		t.Errorf("%s: two exports of the same model differ", m.Spec.Kind)
	}
	return read(t, b)
}

func TestExportMLP(t *testing.T) {
	m, err := model.NewMLP(32, 1)
	if err != nil {
		t.Fatal(err)
	}
	e := export(t, m, Info{ProducerVersion: "v1.2.3", Metadata: []Entry{{"test_accuracy", "0.9"}}})
	if e.ir != IRVersion || e.opset != Opset || e.producer != "graphtrain" {
		t.Errorf("ir %d opset %d producer %q", e.ir, e.opset, e.producer)
	}
	if !slices.Equal(e.ops, []string{"Gemm", "Relu", "Gemm"}) {
		t.Errorf("ops %v", e.ops)
	}
	want := map[string][]int64{"weights0": {784, 32}, "bias0": {32}, "weights1": {32, 10}, "bias1": {10}}
	for name, dims := range want {
		if !slices.Equal(e.inits[name], dims) || e.initType[name] != int64(Float) {
			t.Errorf("initializer %s: dims %v type %d, want %v float", name, e.inits[name], e.initType[name], dims)
		}
	}
	w := m.Param("weights0").T.Data().([]float32)
	raw := e.initRaw["weights0"]
	if len(raw) != 4*len(w) || math.Float32frombits(binary.LittleEndian.Uint32(raw[4*33:])) != w[33] {
		t.Errorf("weights0's raw data is not the parameter's, little-endian")
	}
	for k, v := range map[string]string{"kind": "mlp", "dataset": "mnist", "layers": "784-32-10", "dtype": "float32", "test_accuracy": "0.9"} {
		if e.meta[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, e.meta[k], v)
		}
	}
	if e.input != "input" || e.output != "logits" {
		t.Errorf("input %q output %q", e.input, e.output)
	}
}

// A deeper MLP, as --hidden 64,32 will build: every dense layer is exported, ReLU between.
func TestExportDeepMLP(t *testing.T) {
	m, err := model.NewDeepMLP([]int{64, 32}, 1)
	if err != nil {
		t.Fatal(err)
	}
	e := export(t, m, Info{Dataset: "fashion"})
	if !slices.Equal(e.ops, []string{"Gemm", "Relu", "Gemm", "Relu", "Gemm"}) || e.meta["layers"] != "784-64-32-10" || e.meta["dataset"] != "fashion" {
		t.Errorf("ops %v, metadata %v", e.ops, e.meta)
	}
	if !slices.Equal(e.inits["weights2"], []int64{32, 10}) {
		t.Errorf("weights2 dims %v", e.inits["weights2"])
	}
}

func TestExportCNN(t *testing.T) {
	m, err := model.NewCNN(1)
	if err != nil {
		t.Fatal(err)
	}
	e := export(t, m, Info{})
	want := []string{"Reshape", "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm"}
	if !slices.Equal(e.ops, want) {
		t.Errorf("ops %v, want %v", e.ops, want)
	}
	if !slices.Equal(e.inits["conv0_bias"], []int64{6}) || !slices.Equal(e.inits["conv1"], []int64{16, 6, 5, 5}) || !slices.Equal(e.inits["weights0"], []int64{400, 120}) {
		t.Errorf("initializers %v", e.inits)
	}
	if e.initType["image_shape"] != int64(Int64) || int64(binary.LittleEndian.Uint64(e.initRaw["image_shape"])) != -1 {
		t.Errorf("image_shape: type %d raw %v", e.initType["image_shape"], e.initRaw["image_shape"])
	}
	ints := func(name string) []int64 {
		var v []int64
		for _, f := range all(e.attrs[name], 8) {
			v = append(v, int64(f.v))
		}
		return v
	}
	if !slices.Equal(ints("Conv_0.pads"), []int64{2, 2, 2, 2}) || !slices.Equal(ints("Conv_1.pads"), []int64{0, 0, 0, 0}) ||
		!slices.Equal(ints("MaxPool_1.strides"), []int64{2, 2}) || one(t, e.attrs["Flatten_0.axis"], 3).v != 1 {
		t.Errorf("attributes: conv pads %v %v, pool strides %v", ints("Conv_0.pads"), ints("Conv_1.pads"), ints("MaxPool_1.strides"))
	}
	if e.meta["layers"] != "784-conv6@5x5-conv16@5x5-400-120-84-10" {
		t.Errorf("layers %q", e.meta["layers"])
	}
}

func TestExportXOR(t *testing.T) {
	for _, bias := range []bool{false, true} {
		m, err := model.NewXOR(4, bias, 42)
		if err != nil {
			t.Fatal(err)
		}
		e := export(t, m, Info{})
		if !slices.Equal(e.ops, []string{"Gemm", "Sigmoid", "Gemm", "Sigmoid"}) || e.output != "output" || e.meta["dataset"] != "xor" || e.meta["dtype"] != "float64" {
			t.Errorf("bias %v: ops %v output %q metadata %v", bias, e.ops, e.output, e.meta)
		}
		if e.initType["weights0"] != int64(Double) || len(e.initRaw["weights1"]) != 8*4 {
			t.Errorf("bias %v: weights not float64", bias)
		}
		if _, ok := e.inits["bias0"]; ok != bias {
			t.Errorf("bias %v: initializers %v", bias, e.inits)
		}
	}
}

func TestExportRefuses(t *testing.T) {
	mlp := func() *model.Model { m, _ := model.NewMLP(8, 1); return m }
	cases := []struct {
		name  string
		edit  func(m *model.Model)
		wants string
	}{
		{"unknown kind", func(m *model.Model) { m.Spec.Kind = "rnn" }, `unknown model kind "rnn"`},
		{"stray parameter", func(m *model.Model) {
			m.Params = append(m.Params, &model.Param{Name: "gamma", T: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(3))})
		}, "gamma"},
		{"shapes that do not chain", func(m *model.Model) {
			m.Params[2].T = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(9, 10))
		}, "weights1 has shape"},
		{"missing bias", func(m *model.Model) { m.Params = slices.Delete(m.Params, 1, 2) }, "no parameter bias0"},
		{"dtype", func(m *model.Model) { m.Spec.Dtype = "float16" }, "float16"},
		{"activation", func(m *model.Model) { m.Spec.Activation = "gelu" }, "gelu"},
	}
	for _, c := range cases {
		m := mlp()
		c.edit(m)
		_, err := Export(m, Info{})
		if err == nil || !strings.Contains(err.Error(), c.wants) || !strings.HasPrefix(err.Error(), "onnx: ") {
			t.Errorf("%s: %v, want an error mentioning %q", c.name, err, c.wants)
		}
	}
}
