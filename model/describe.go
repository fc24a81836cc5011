package model

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Model descriptions are how a user writes a sequential network: layers separated by spaces
// or newlines, '#' starting a comment that runs to the end of the line, each layer a name or
// name(args), the args positional numbers then key=value pairs:
//
//	conv(32,5,pad=2) relu maxpool(2) conv(64,5) relu maxpool(2) dense(256) relu dense(10)
//
// ParseArch reads one into Layers, NormalizeArch completes and checks it, and Describe writes
// it back in the one normalised form a checkpoint stores.

// MaxArchLayers bounds the layers of a description.
const MaxArchLayers = 256

// Limits on a layer's sizes: far beyond any useful net, small enough that no size overflows.
const (
	MaxFilters = 1 << 16
	MaxKernel  = 1 << 10
)

// layerSyntax is what each layer name takes: its positional arguments and its keys.
var layerSyntax = map[string]struct {
	min, max int      // positional arguments
	keys     []string // key=value arguments
}{
	"dense": {1, 1, nil}, "conv": {2, 2, []string{"stride", "pad"}},
	"maxpool": {1, 1, []string{"stride"}}, "avgpool": {1, 1, []string{"stride"}},
	"relu": {0, 0, nil}, "leakyrelu": {0, 1, nil}, "sigmoid": {0, 0, nil}, "tanh": {0, 0, nil},
	"dropout": {1, 1, nil}, "batchnorm": {0, 0, nil}, "flatten": {0, 0, nil},
}

// ArchError says which layer of a description is wrong and why.
type ArchError struct {
	Index int    // 1-based position of the layer
	Layer string // the layer as written (cut to 40 bytes)
	Why   string
}

func (e *ArchError) Error() string {
	if e.Layer == "" {
		return fmt.Sprintf("layer %d: %s", e.Index, e.Why)
	}
	return fmt.Sprintf("layer %d %s: %s", e.Index, e.Layer, e.Why)
}

// Unwrap makes every ArchError an ErrSpec.
func (e *ArchError) Unwrap() error { return ErrSpec }

// ParseArch reads a model description into its layers, as written (NormalizeArch completes
// and checks them against an input).
func ParseArch(text string) ([]Layer, error) {
	words, err := splitLayers(text)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: the description holds no layer", ErrSpec)
	}
	if len(words) > MaxArchLayers {
		return nil, fmt.Errorf("%w: %d layers: at most %d", ErrSpec, len(words), MaxArchLayers)
	}
	layers := make([]Layer, len(words))
	for i, w := range words {
		l, why := parseLayer(w)
		if why != "" {
			return nil, &ArchError{Index: i + 1, Layer: Short(w), Why: why}
		}
		layers[i] = l
	}
	return layers, nil
}

// splitLayers cuts a description into its layers' words, comments dropped; a layer's
// parentheses may hold spaces.
func splitLayers(text string) ([]string, error) {
	var words []string
	var cur strings.Builder
	depth := 0
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, r := range line {
			switch {
			case r == '(':
				depth++
			case r == ')':
				depth--
			case unicode.IsSpace(r) && depth == 0:
				if cur.Len() > 0 {
					words, cur = append(words, cur.String()), strings.Builder{}
				}
				continue
			case unicode.IsSpace(r):
				continue
			}
			if depth < 0 || depth > 1 {
				return nil, fmt.Errorf("%w: layer %d: unbalanced parentheses", ErrSpec, len(words)+1)
			}
			cur.WriteRune(r)
		}
		if depth != 0 {
			return nil, fmt.Errorf("%w: layer %d: a '(' without its ')' on the same line", ErrSpec, len(words)+1)
		}
		if cur.Len() > 0 {
			words, cur = append(words, cur.String()), strings.Builder{}
		}
	}
	return words, nil
}

// parseLayer reads one layer, name or name(args), and says what is wrong with it ("" for
// nothing).
func parseLayer(w string) (Layer, string) {
	name, args, ok := strings.Cut(w, "(")
	if ok && !strings.HasSuffix(args, ")") {
		return Layer{}, "want name(args)"
	}
	args = strings.TrimSuffix(args, ")")
	syn, known := layerSyntax[name]
	if !known {
		return Layer{}, fmt.Sprintf("unknown layer (want one of %s)", strings.Join(LayerNames(), ", "))
	}
	var pos []float64
	keys := map[string]string{}
	if ok && args != "" {
		for _, a := range strings.Split(args, ",") {
			if k, v, isKey := strings.Cut(a, "="); isKey {
				if !contains(syn.keys, k) {
					return Layer{}, fmt.Sprintf("unknown argument %q (%s takes %s)", Short(k), name, keyList(syn.keys))
				}
				keys[k] = v
				continue
			}
			if len(keys) > 0 {
				return Layer{}, "a number after a key=value argument"
			}
			x, err := strconv.ParseFloat(a, 64)
			if err != nil {
				return Layer{}, fmt.Sprintf("%q is not a number", Short(a))
			}
			pos = append(pos, x)
		}
	}
	if len(pos) < syn.min || len(pos) > syn.max {
		return Layer{}, fmt.Sprintf("%s takes %s", name, argCount(syn.min, syn.max))
	}
	return layerOf(name, pos, keys)
}

// layerOf makes the layer called name from its arguments, checked.
func layerOf(name string, pos []float64, keys map[string]string) (Layer, string) {
	l := Layer{Op: name}
	var why string
	switch name {
	case "dense":
		l.Units, why = whole(pos[0], 1, MaxHidden, "units")
		l.Bias = true
	case "conv":
		if l.Units, why = whole(pos[0], 1, MaxFilters, "filters"); why == "" {
			l.Kernel, why = whole(pos[1], 1, MaxKernel, "kernel")
		}
		l.Stride, l.Bias = 1, true
		if why == "" {
			why = l.keys(keys)
		}
	case "maxpool", "avgpool":
		l.Kernel, why = whole(pos[0], 1, MaxKernel, "window")
		l.Stride = l.Kernel
		if why == "" {
			why = l.keys(keys)
		}
	case "leakyrelu":
		l.Alpha = 0.01
		if len(pos) == 1 {
			l.Alpha = pos[0]
		}
		if !(l.Alpha >= 0 && l.Alpha < 1) {
			why = fmt.Sprintf("slope %v: must be at least 0 and below 1", l.Alpha)
		}
	case "dropout":
		l.Rate = pos[0]
		if !(l.Rate >= 0 && l.Rate < 1) {
			why = fmt.Sprintf("rate %v: must be at least 0 and below 1", l.Rate)
		}
	}
	return l, why
}

// keys reads a conv's or a pool's stride= and pad= (a whole number, or same: the output as
// large as the input at stride 1, for an odd kernel).
func (l *Layer) keys(keys map[string]string) string {
	if v, ok := keys["stride"]; ok {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Sprintf("stride %q is not a number", Short(v))
		}
		var why string
		if l.Stride, why = whole(x, 1, MaxKernel, "stride"); why != "" {
			return why
		}
	}
	v, ok := keys["pad"]
	if !ok {
		return ""
	}
	if v == "same" {
		if l.Kernel%2 == 0 || l.Stride != 1 {
			return "pad=same needs an odd kernel and stride 1"
		}
		l.Pad = (l.Kernel - 1) / 2
		return ""
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Sprintf("pad %q: want a whole number or same", Short(v))
	}
	var why string
	l.Pad, why = whole(x, 0, MaxKernel, "pad")
	return why
}

// whole is x as an int in [lo, hi], or why not.
func whole(x float64, lo, hi int, what string) (int, string) {
	if x != float64(int64(x)) || x < float64(lo) || x > float64(hi) {
		return 0, fmt.Sprintf("%s %v: must be a whole number from %d to %d", what, x, lo, hi)
	}
	return int(x), ""
}

// NormalizeArch completes layers for an input of shape in and checks every layer against
// its input: a flatten is put before the first dense layer that follows an image. It returns
// the layers a model of them has and their shapes.
func NormalizeArch(in Shape, layers []Layer) ([]Layer, []Placed, error) {
	var out []Layer
	var pos []int // each layer's position as the user wrote it
	image := in.H > 0
	for i, l := range layers {
		if l.Op == "dense" && image {
			out, pos = append(out, Flatten), append(pos, i+1)
		}
		out, pos = append(out, l), append(pos, i+1)
		if l.Op == "dense" || l.Op == "flatten" {
			image = false
		}
	}
	placed, err := place(in, out, pos)
	if err != nil {
		return nil, nil, err
	}
	if len(out) == 0 || out[len(out)-1].Op != "dense" {
		return nil, nil, fmt.Errorf("%w: the description must end in a dense layer whose units are the classes", ErrSpec)
	}
	return out, placed, nil
}

// LayerNames are the layer kinds a description may name.
func LayerNames() []string {
	return []string{"dense", "conv", "maxpool", "avgpool", "relu", "leakyrelu", "sigmoid", "tanh", "dropout", "batchnorm", "flatten"}
}

func keyList(keys []string) string {
	if len(keys) == 0 {
		return "no key=value arguments"
	}
	return strings.Join(keys, "= and ") + "="
}

func argCount(lo, hi int) string {
	switch {
	case hi == 0:
		return "no arguments"
	case lo == hi && lo == 1:
		return "1 number"
	case lo == hi:
		return fmt.Sprintf("%d numbers", lo)
	}
	return fmt.Sprintf("%d to %d numbers", lo, hi)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
