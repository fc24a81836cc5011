// Runs an ONNX model in ONNX Runtime (npm's onnxruntime-node) on one batch and prints, as
// one JSON line, each output's dims and values:
//
//	node run.js MODEL.onnx INPUT.bin float32|float64 N,D
//
// INPUT.bin holds the batch, little-endian, row-major, of shape [N, D]; it is fed to the
// model's first input. Output: {"outputs": {"logits": {"dims": [N, 10], "data": [...]}}}.
// graphtrain's tests (cmd/graphtrain/export_test.go) run it; make onnx-deps installs
// onnxruntime-node next to it (npm install --ignore-scripts: the package carries the
// Linux x64 runtime, and its install script fetches only extras from a host not reached here).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, dtype, dimsArg] = process.argv.slice(2);
  if (!dimsArg) {
    throw new Error('usage: node run.js MODEL.onnx INPUT.bin float32|float64 N,D');
  }
  const dims = dimsArg.split(',').map(Number);
  const raw = fs.readFileSync(input);
  const TypedArray = { float32: Float32Array, float64: Float64Array }[dtype];
  if (!TypedArray) {
    throw new Error(`dtype ${dtype}: want float32 or float64`);
  }
  const ab = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength); // aligned copy
  const data = new TypedArray(ab);
  const session = await ort.InferenceSession.create(model);
  const feeds = { [session.inputNames[0]]: new ort.Tensor(dtype, data, dims) };
  const results = await session.run(feeds);
  const outputs = {};
  for (const name of session.outputNames) {
    outputs[name] = { dims: results[name].dims, type: results[name].type, data: Array.from(results[name].data) };
  }
  process.stdout.write(JSON.stringify({ outputs }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`run.js: ${err.message || err}\n`);
  process.exit(1);
});
