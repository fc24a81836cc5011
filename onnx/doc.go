// Package onnx writes graphtrain models as ONNX files, the format ONNX Runtime and most
// deployment engines read.
//
// It holds two things:
//
//   - proto.go: the few ONNX protobuf messages an exported model needs (ModelProto,
//     GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto and what they
//     contain) as plain Go structs, encoded with google.golang.org/protobuf/encoding/protowire.
//     The field numbers are those of onnx/onnx.proto (ONNX 1.12; IR version 7 and opset 13
//     use no newer field), cited next to each one. There is no decoder: graphtrain only
//     writes ONNX.
//   - export.go: Export, which turns a model.Model (xor, mlp or cnn) into the inference
//     graph, with its parameters as initializers, at the fixed opset Opset.
//
// The exported graphs: an MNIST model takes "input" [N, 784] float32 (pixels in [0, 1],
// each image row-major, as graphtrain reads MNIST) and gives "logits" [N, 10]; the XOR net
// takes "input" [N, 2] float64 and gives "output" [N, 1] float64, its sigmoid output. The
// XOR net is trained in float64, so its tensors are exported as DOUBLE, not cast.
//
// The tests in cmd/graphtrain run exported files in ONNX Runtime (npm's onnxruntime-node,
// driven by testdata/ort/run.js) and through Debian's python3-onnx checker; make onnx-deps
// installs both.
package onnx
