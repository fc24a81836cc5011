package main

import (
	"fmt"

	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/model"
)

// Bounds of the size-like flags, far beyond any useful run: a typo (an extra zero, a 1e12)
// is refused at once, before it runs for days or asks for more memory than any machine has.
const (
	// maxXOREpochs bounds train xor's --epochs: the XOR net learns in about 10000.
	maxXOREpochs = 10_000_000
	// maxBenchSteps bounds bench's --steps: a few hundred steps time a model well.
	maxBenchSteps = 100_000
	// maxBatch bounds the --batch of bench and graph (train mnist's is MNIST's 60000).
	maxBatch = 1 << 20
	// maxGradcheckBatch bounds gradcheck's --batch: finite differences need a few examples,
	// and every parameter checked runs the batch forward twice.
	maxGradcheckBatch = 1000
)

// checkSize refuses a size-like flag's value outside [lo, hi], naming the flag, its bounds and
// what to do.
func checkSize(flag string, v, lo, hi int, advice string) error {
	if v < lo || v > hi {
		return usagef("--%s %d: must be between %d and %d; %s", flag, v, lo, hi, advice)
	}
	return nil
}

// namedSpec is the spec of a fresh model of kind with these hidden sizes (named kinds) or
// this --arch (custom), allocating nothing, so that its memory can be checked first.
func namedSpec(kind string, hidden []int, arch string, bias bool) (model.Spec, error) {
	switch {
	case kind == customKind:
		text, err := archText(arch)
		if err != nil {
			return model.Spec{}, err
		}
		spec, err := model.CustomSpec(text, model.Shape{C: 1, H: datasets.MNISTRows, W: datasets.MNISTCols})
		if err != nil {
			return model.Spec{}, usagef("--arch: %v", err)
		}
		return spec, nil
	case kind == "mlp":
		return model.MLPSpec(hidden)
	case len(hidden) > 0:
		return model.SpecFor(kind, hidden[0], bias)
	}
	return model.SpecFor(kind, 1, bias)
}

// defaultHidden is hidden, or the hidden layer graph and gradcheck give a fresh xor (4) or
// mlp (16) when hidden is empty; nil for the kinds without one.
func defaultHidden(kind string, hidden []int) []int {
	if def := map[string]int{"xor": 4, "mlp": 16}[kind]; def > 0 {
		return orLayers(hidden, def)
	}
	return nil
}

// memoryAdvice is what to lower when a fresh model of kind does not fit in memory.
func memoryAdvice(kind string, hidden []int) string {
	switch {
	case kind == customKind:
		return "give --arch smaller layers or lower --batch"
	case len(hidden) > 0:
		return "lower --hidden or --batch"
	}
	return "lower --batch"
}

// checkModelMemory refuses a model whose graph at batch would not fit in memory: copies
// counts the model's copies (gradcheck's float64 copy doubles and adds to it).
func checkModelMemory(spec model.Spec, batch int, copies int64, advice string) error {
	need, err := spec.TrainBytes(batch, 0)
	if err != nil {
		return fmt.Errorf("%v; %s", err, advice)
	}
	return checkMemory(need*copies, advice)
}
