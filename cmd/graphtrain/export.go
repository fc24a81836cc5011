package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/onnx"
)

type exportONNXOpts struct {
	weights, out string
}

func init() {
	register(&command{
		path:  "export onnx",
		short: "write a checkpoint's inference graph as an ONNX model, for ONNX Runtime and others",
		long: fmt.Sprintf(`Writes the model in --weights (xor, mlp or cnn) as one ONNX file: the inference
graph, the parameters as initializers, ONNX opset %d (IR version %d), producer %q with
graphtrain's version, and as metadata properties the model's kind, data set, layer sizes and
dtype, and the test and validation accuracy and the epoch where the checkpoint records them.

An MNIST model (mlp, cnn) takes %q [N, 784] float32, the 28x28 pixels of each image
row-major, each the stored byte divided by 255 as graphtrain reads MNIST, and gives %q
[N, 10] (no softmax). The XOR net takes %q [N, 2] float64 and gives %q [N, 1] float64,
its sigmoid output: it is exported in float64, as it is trained. In Python:

  import onnxruntime as ort, numpy as np
  s = ort.InferenceSession("mlp.onnx")
  logits = s.run(None, {"input": (images.reshape(-1, 784) / 255).astype(np.float32)})[0]

where images holds the pixels as MNIST stores them, bytes from 0 to 255.

With --json the last line on stdout is {"out","model","opset","bytes"}. The file is written
under a temporary name and renamed: a failed export overwrites nothing. --device plays no
part in an export.`,
			onnx.Opset, onnx.IRVersion, onnx.ProducerName, onnx.InputName, onnx.LogitsName, onnx.InputName, onnx.XORName),
		flags: func(fs *pflag.FlagSet) any {
			o := &exportONNXOpts{}
			fs.StringVar(&o.weights, "weights", "", "checkpoint directory to export (written by 'graphtrain train xor' or 'train mnist'; required)")
			fs.StringVar(&o.out, "out", "", "the ONNX file to write (default: the --weights directory's path with .onnx added, e.g. checkpoints/mlp.onnx)")
			return o
		},
		run: runExportONNX,
	})
}

func runExportONNX(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*exportONNXOpts)
	if fs.NArg() > 0 {
		return usagef("export onnx: takes no arguments, got %q; give the checkpoint with --weights DIR", fs.Args())
	}
	if o.weights == "" {
		return usagef("export onnx: no checkpoint given; add --weights DIR, a directory written by 'graphtrain train'")
	}
	out := o.out
	if out == "" {
		out = filepath.Clean(o.weights) + ".onnx"
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return fmt.Errorf("--out %s: is a directory; give a file name such as %s", out, filepath.Join(out, "model.onnx"))
	}
	if err := checkOutputs([]output{{"--out", out}}, []output{{"--weights", o.weights}}); err != nil {
		return err
	}
	m, _, ck, err := checkpoint.LoadCheckpoint(o.weights)
	if err != nil {
		return fmt.Errorf("--weights %s: %v; give a directory written by 'graphtrain train'", o.weights, strings.TrimPrefix(err.Error(), "graph: "))
	}
	model, err := onnx.Export(m, onnx.Info{
		ProducerVersion: version,
		Dataset:         checkpointDataset(o.weights),
		Metadata:        checkpointMetadata(ck),
	})
	if err != nil {
		return fmt.Errorf("export onnx: %s: %v; this checkpoint's model cannot be exported", o.weights, strings.TrimPrefix(err.Error(), "onnx: "))
	}
	b := model.Marshal()
	if err := atomicfile.WriteFile(out, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return writeFailed("--out", out, err)
	}
	g := model.Graph
	in, res := g.Inputs[0], g.Outputs[0]
	e.printf("exported the %s model in %s to %s: ONNX opset %d, %d bytes, %d nodes, %d initializers\n",
		m.Spec.Kind, o.weights, out, onnx.Opset, len(b), len(g.Nodes), len(g.Initializers))
	e.printf("input %q %s %s, output %q %s %s\n", in.Name, dimsString(in.Shape), in.ElemType, res.Name, dimsString(res.Shape), res.ElemType)
	if e.g.JSON {
		return e.emitJSON(map[string]any{"out": out, "model": m.Spec.Kind, "opset": onnx.Opset, "bytes": len(b)})
	}
	return nil
}

// checkpointMetadata is what model.json records of how the model did and when: the test
// and validation accuracy and the loss where recorded, the epoch, and the version of
// graphtrain that trained it.
func checkpointMetadata(ck *checkpoint.Checkpoint) []onnx.Entry {
	var meta []onnx.Entry
	keys := make([]string, 0, len(ck.Metrics))
	for k := range ck.Metrics {
		switch k {
		case "test_accuracy", "val_accuracy", "best_val_accuracy", "loss", "train_loss":
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		meta = append(meta, onnx.Entry{Key: k, Value: strconv.FormatFloat(ck.Metrics[k], 'g', -1, 64)})
	}
	if ck.Epoch > 0 {
		meta = append(meta, onnx.Entry{Key: "epoch", Value: strconv.Itoa(ck.Epoch)})
	}
	if ck.Version != "" {
		meta = append(meta, onnx.Entry{Key: "trained_by", Value: "graphtrain " + ck.Version})
	}
	return meta
}

// checkpointDataset is the data set model.json names ("dataset" at its top, in "model" or
// in "hyperparameters"), or "" when it names none: then the exporter says mnist, or xor for
// the XOR net.
func checkpointDataset(dir string) string {
	raw, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return ""
	}
	var j struct {
		Dataset string `json:"dataset"`
		Model   struct {
			Dataset string `json:"dataset"`
		} `json:"model"`
		Hyper map[string]any `json:"hyperparameters"`
	}
	if json.Unmarshal(raw, &j) != nil {
		return ""
	}
	if j.Dataset != "" {
		return j.Dataset
	}
	if j.Model.Dataset != "" {
		return j.Model.Dataset
	}
	s, _ := j.Hyper["dataset"].(string)
	return s
}

// dimsString writes a tensor shape as [N, 784].
func dimsString(dims []onnx.Dim) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		if d.Param != "" {
			parts[i] = d.Param
		} else {
			parts[i] = strconv.FormatInt(d.Value, 10)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
