package main

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/inspect"
	"github.com/graphtrain/graphtrain/model"
)

type gradcheckOpts struct {
	samples int
	tol     float64
	batch   int
	seed    int64
	weights string
	hidden  layersFlag
	arch    string
}

func init() {
	register(&command{
		path:  "gradcheck",
		short: "check a model's symbolic gradients against finite differences",
		args:  "xor|mlp|cnn|custom",
		long: `Builds the model's graph with its symbolic gradients (gorgonia.Grad) and compares them with
central differences of the loss, (L(θ+h) − L(θ−h)) / 2h with h = 1e-6, on float64 copies of
the parameters and a random batch. Prints per parameter the worst relative error
|g − ĝ| / max(1e-3, |g| + |ĝ|) and exits with status 1 when one is above --tol. The
parameters are fresh (xor: 4 hidden units with biases, values in ±1; mlp: 16 hidden units,
or the layers --hidden lists) unless --weights gives a checkpoint of that model.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &gradcheckOpts{}
			fs.IntVar(&o.samples, "samples", 25, "values of each parameter tensor to check, the first and others at random (0: all)")
			fs.Float64Var(&o.tol, "tol", 1e-5, "largest relative error accepted")
			fs.IntVar(&o.batch, "batch", 2, "examples in the random batch (xor: its four examples, repeated)")
			fs.Int64Var(&o.seed, "seed", 1, "seed for the fresh parameters and the batch")
			fs.StringVar(&o.weights, "weights", "", "check the parameters of this checkpoint instead of fresh ones")
			fs.Var(&o.hidden, "hidden", "hidden units of the fresh model (xor 4, mlp 16); for the mlp a list of layer sizes checks a deeper net: 16,8,8 is 784-16-8-8-10")
			fs.StringVar(&o.arch, "arch", "", archFlagHelp)
			return o
		},
		run: runGradcheck,
	})
}

func runGradcheck(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*gradcheckOpts)
	kind, err := checkGradcheckArgs(fs, o)
	if err != nil {
		return err
	}
	m, err := gradcheckModel(kind, o)
	if err != nil {
		return err
	}
	m64, err := inspect.Float64Copy(m)
	if err != nil {
		return err
	}
	x, y := model.RandomBatch(m64, o.batch, o.seed)
	checks, err := inspect.GradCheck(m64, o.batch, x, y, o.samples)
	if err != nil {
		return err
	}
	e.printf("%s: symbolic gradients against central differences (h = %g), batch %d, float64\n\n", kind, inspect.GradStep, o.batch)
	e.printf("%-12s %-14s %8s %12s %14s %14s\n", "parameter", "shape", "checked", "worst error", "symbolic", "numeric")
	worst, worstName := 0.0, ""
	var rows []gradRow
	for _, c := range checks {
		shape := []int(m.Param(c.Name).T.Shape())
		mark := ""
		if c.Worst > o.tol {
			mark = "  above --tol"
		}
		e.printf("%-12s %-14s %8d %12.3g %14.6g %14.6g%s\n", c.Name, fmt.Sprint(shape), c.Checked, c.Worst, c.Symbolic, c.Numeric, mark)
		rows = append(rows, gradRow{c.Name, shape, c.Checked, c.Worst, c.Symbolic, c.Numeric})
		if c.Worst >= worst {
			worst, worstName = c.Worst, c.Name
		}
	}
	ok := worst <= o.tol
	if ok {
		e.printf("\nall within --tol %g (worst %.3g, in %s)\n", o.tol, worst, worstName)
	}
	if e.g.JSON {
		if err := e.emitJSON(map[string]any{"model": kind, "params": rows, "worst": worst, "tol": o.tol, "ok": ok}); err != nil {
			return err
		}
	}
	if !ok {
		return fmt.Errorf("gradcheck %s: %s's worst relative error %.3g is above --tol %g: the symbolic gradient disagrees with the finite differences; please report it with the command line", kind, worstName, worst, o.tol)
	}
	return nil
}

// gradRow is one parameter's line of gradcheck's --json.
type gradRow struct {
	Name     string  `json:"parameter"`
	Shape    []int   `json:"shape"`
	Checked  int     `json:"checked"`
	Worst    float64 `json:"worst_relative_error"`
	Symbolic float64 `json:"symbolic"`
	Numeric  float64 `json:"numeric"`
}

// checkGradcheckArgs checks gradcheck's model argument and flags, and returns the model kind.
func checkGradcheckArgs(fs *pflag.FlagSet, o *gradcheckOpts) (string, error) {
	if fs.NArg() != 1 {
		return "", usagef("gradcheck: give one model, %s", orList(model.NamedKinds()))
	}
	kind := fs.Arg(0)
	switch {
	case checkKind("gradcheck", kind, o.hidden) != nil:
		return "", checkKind("gradcheck", kind, o.hidden)
	case checkArchArg(kind, o.arch) != nil && o.weights == "":
		return "", checkArchArg(kind, o.arch)
	case o.samples < 0:
		return "", usagef("--samples %d: must be 0 (all) or more", o.samples)
	case !(o.tol > 0) || math.IsInf(o.tol, 0):
		return "", usagef("--tol %v: must be a positive number", o.tol)
	case checkSize("batch", o.batch, 1, maxGradcheckBatch, "a few examples check the gradients as well") != nil:
		return "", checkSize("batch", o.batch, 1, maxGradcheckBatch, "a few examples check the gradients as well")
	case checkLayers(o.hidden) != nil:
		return "", checkLayers(o.hidden)
	case len(o.hidden) > 0 && o.weights != "":
		return "", usagef("--hidden: the model in --weights has its own; give one or the other")
	}
	return kind, nil
}

// gradcheckCopies is how many times gradcheck holds a model and its batch's values: the
// model, and its float64 copy (twice the bytes) with the perturbed copies' passes.
const gradcheckCopies = 3

// gradcheckModel is the model whose gradients are checked: the one in --weights, or a fresh
// one with biases (the XOR net's values, biases included, spread over ±1).
func gradcheckModel(kind string, o *gradcheckOpts) (*model.Model, error) {
	if o.weights != "" {
		m, _, _, err := checkpoint.LoadCheckpoint(o.weights)
		if err != nil {
			return nil, checkpointError("--weights", err, "give a directory that graphtrain train wrote")
		}
		if m.Spec.Kind != kind {
			return nil, fmt.Errorf("--weights %s: holds a %s model, not a %s; run 'graphtrain gradcheck %s'", o.weights, m.Spec.Kind, kind, m.Spec.Kind)
		}
		return m, checkModelMemory(m.Spec, o.batch, gradcheckCopies, "lower --batch")
	}
	spec, err := namedSpec(kind, defaultHidden(kind, o.hidden), o.arch, true)
	if err != nil {
		return nil, err
	}
	if err := checkModelMemory(spec, o.batch, gradcheckCopies, memoryAdvice(kind, o.hidden)); err != nil {
		return nil, err
	}
	if kind == customKind {
		return customModel(o.arch, o.seed)
	}
	m, err := newModel(kind, defaultHidden(kind, o.hidden), true, o.seed)
	if err == nil && kind == "xor" {
		// Spread the values over ±1, biases included (NewXOR starts biases at 0).
		r := rand.New(rand.NewSource(o.seed))
		for _, p := range m.Params {
			for i, d := 0, p.T.Data().([]float64); i < len(d); i++ {
				d[i] = r.Float64()*2 - 1
			}
		}
	}
	return m, err
}
