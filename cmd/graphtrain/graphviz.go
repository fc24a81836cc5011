package main

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/inspect"
	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/model"
)

type graphOpts struct {
	grad     bool
	dot, svg string
	batch    int
	hidden   layersFlag
	cost     bool
	target   string
	arch     string
}

func init() {
	register(&command{
		path:  "graph",
		short: "draw a model's expression graph (Graphviz DOT, SVG)",
		args:  "xor|mlp|cnn|custom",
		long: `Writes the model's Gorgonia expression graph as Graphviz DOT: a node per value, labelled
with its op (or its name) and its shape, an edge from each operand to the node using it (the
numbers on the arrows give the operand order). Parameters are orange boxes, inputs blue
boxes, the output green, the loss a red octagon. With --grad it adds the backward pass that
gorgonia.Grad builds: its nodes are dashed, the gradients purple boxes. --svg runs
Graphviz's 'dot' program (apt-get install graphviz) to draw it.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &graphOpts{}
			fs.BoolVar(&o.grad, "grad", false, "include the backward pass (the symbolic gradients)")
			fs.StringVar(&o.dot, "dot", "", "write the DOT text to this file")
			fs.StringVar(&o.svg, "svg", "", "also draw it as SVG into this file, with Graphviz's dot")
			fs.IntVar(&o.batch, "batch", 4, "batch size the graph is built for (it shows in the shapes)")
			fs.Var(&o.hidden, "hidden", "hidden units (xor 4, mlp 16 unless given); for the mlp a list of layer sizes builds a deeper net: 16,8 is 784-16-8-10")
			fs.BoolVar(&o.cost, "cost", false, "print the cost model of a training step instead: each launch of the model's Program for --target, its FLOPs and the bytes it reads and writes, and the step's totals (no --dot needed)")
			fs.StringVar(&o.arch, "arch", "", archFlagHelp)
			fs.StringVar(&o.target, "target", "cpu", "with --cost, the lowering target: cpu or cuda (no GPU needed: the Program is the same)")
			return o
		},
		run: runGraph,
	})
}

func runGraph(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*graphOpts)
	kind, dotProg, err := checkGraphArgs(fs, o)
	if err != nil {
		return err
	}
	if err := checkGraphMemory(kind, o); err != nil {
		return err
	}
	var m *model.Model
	if kind == customKind {
		m, err = customModel(o.arch, 1)
	} else if kind == "xor" {
		m, err = newModel(kind, orLayers(o.hidden, 4), false, 42)
	} else {
		m, err = newModel(kind, orLayers(o.hidden, 16), false, 1)
	}
	if err != nil {
		return err
	}
	if o.cost {
		return printCost(e, kind, m, o)
	}
	net, err := m.Build(o.batch, o.grad)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := inspect.WriteDOT(&buf, net); err != nil {
		return err
	}
	if err := writeGraph(o, dotProg, buf.Bytes()); err != nil {
		return err
	}
	back := "forward pass"
	if o.grad {
		back = "forward and backward pass"
	}
	e.printf("%s graph, batch %d, %s: %d nodes\n", kind, o.batch, back, len(net.G.AllNodes()))
	for _, f := range []string{o.dot, o.svg} {
		if f != "" {
			e.printf("wrote %s\n", f)
		}
	}
	if e.g.JSON {
		return e.emitJSON(map[string]any{"model": kind, "nodes": len(net.G.AllNodes()), "grad": o.grad, "dot": o.dot, "svg": o.svg})
	}
	return nil
}

// checkGraphArgs checks graph's model argument and flags, before any work: it returns the
// model kind and, for --svg, Graphviz's dot program.
func checkGraphArgs(fs *pflag.FlagSet, o *graphOpts) (kind, dotProg string, err error) {
	if fs.NArg() != 1 {
		return "", "", usagef("graph: give one model, %s", orList(model.NamedKinds()))
	}
	kind = fs.Arg(0)
	switch {
	case checkKind("graph", kind, o.hidden) != nil:
		return "", "", checkKind("graph", kind, o.hidden)
	case checkArchArg(kind, o.arch) != nil:
		return "", "", checkArchArg(kind, o.arch)
	case o.dot == "" && o.svg == "" && !o.cost:
		return "", "", usagef("graph: nothing to write; give --dot FILE (and/or --svg FILE) to write the graph to, or --cost")
	case o.target != "cpu" && o.target != "cuda":
		return "", "", usagef("--target %q: must be cpu or cuda", o.target)
	case checkSize("batch", o.batch, 1, maxBatch, "the shapes read the same at --batch 4") != nil:
		return "", "", checkSize("batch", o.batch, 1, maxBatch, "the shapes read the same at --batch 4")
	case checkLayers(o.hidden) != nil:
		return "", "", checkLayers(o.hidden)
	}
	if o.svg != "" {
		if dotProg, err = exec.LookPath("dot"); err != nil {
			return "", "", fmt.Errorf("--svg: Graphviz's dot program is not installed (apt-get install graphviz); nothing written: leave out --svg to write the DOT only, then draw it where Graphviz is, with 'dot -Tsvg FILE.dot -o FILE.svg'")
		}
	}
	if err := checkOutputs([]output{{"--dot", o.dot}, {"--svg", o.svg}}, nil); err != nil {
		return "", "", err
	}
	return kind, dotProg, nil
}

// writeGraph writes the DOT text to --dot and draws it with dot into --svg.
func writeGraph(o *graphOpts, dotProg string, dot []byte) error {
	if o.dot != "" {
		if err := atomicfile.WriteFile(o.dot, func(w io.Writer) error {
			_, err := w.Write(dot)
			return err
		}); err != nil {
			return writeFailed("--dot", o.dot, err)
		}
	}
	if o.svg != "" {
		cmd := exec.Command(dotProg, "-Tsvg", "-o", o.svg)
		cmd.Stdin = bytes.NewReader(dot)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("--svg %s: Graphviz's dot failed (%v: %s); write the DOT with --dot and draw it with 'dot -Tsvg'", o.svg, err, strings.Join(strings.Fields(stderr.String()), " "))
		}
	}
	return nil
}

// orLayers is hidden, or one layer of def units when hidden is empty.
func orLayers(hidden []int, def int) []int {
	if len(hidden) > 0 {
		return hidden
	}
	return []int{def}
}

// checkGraphMemory refuses a graph whose model and batch would not fit in memory (--hidden
// 16777216, --batch 1000000), before the model is made.
func checkGraphMemory(kind string, o *graphOpts) error {
	spec, err := namedSpec(kind, defaultHidden(kind, o.hidden), o.arch, false)
	if err != nil {
		return err
	}
	return checkModelMemory(spec, o.batch, 1, memoryAdvice(kind, o.hidden))
}
