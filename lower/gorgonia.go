package lower

import (
	"fmt"
	"reflect"
	"strings"

	G "gorgonia.org/gorgonia"
)

// Gorgonia's op types are unexported. We identify them by their Go type name and read their
// parameters with reflect, for the pinned Gorgonia version (v0.9.18). opFields lists every
// field we read, by op type; TestGorgoniaOpLayout fails loudly when a version bump changes them.
var opFields = map[string][]string{
	"linAlgBinOp":    {"āBinaryOperator", "transA", "transB"},
	"elemBinOp":      {"ʘBinaryOperator", "retSame"},
	"elemUnaryOp":    {"ʘUnaryOperator"},
	"im2colOp":       {"h", "w", "padH", "padW", "strideH", "strideW", "dilationH", "dilationW"},
	"col2imOp":       {"unpaddedB", "unpaddedC", "unpaddedH", "unpaddedW", "im2colOp"},
	"maxPoolOp":      {"h", "w", "padNorth", "padWest", "padSouth", "padEast", "explicitPadding", "strideH", "strideW"},
	"maxPoolDiffOp":  {"maxPoolOp"},
	"softmaxOp":      {"axis", "isLog"},
	"softmaxDiffOp":  {"softmaxOp"},
	"sumOp":          {"along"},
	"reshapeOp":      {"from", "to"},
	"transposeOp":    {"pattern"},
	"repeatOp":       {"along"},
	"sizeOp":         {"axis"},
	"constantScalar": {"v"},
	"readOp":         nil,
}

// opType is the Go type name of n's op without package or pointer ("linAlgBinOp"), or ""
// for an input node.
func opType(n *G.Node) string {
	if n.Op() == nil {
		return ""
	}
	t := reflect.TypeOf(n.Op())
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// opValue is the op's struct value (pointers followed).
func opValue(n *G.Node) reflect.Value {
	v := reflect.ValueOf(n.Op())
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	return v
}

// field reads a named (unexported) field of a struct value, descending into embedded structs
// and pointers to them.
func field(v reflect.Value, name string) (reflect.Value, error) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return reflect.Value{}, fmt.Errorf("program: nil where field %s was expected", name)
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("program: %s is not a struct (looking for field %s)", v.Type(), name)
	}
	f := v.FieldByName(name)
	if !f.IsValid() {
		return reflect.Value{}, fmt.Errorf("program: Gorgonia's %s has no field %s: this Gorgonia version is not the one graphtrain was written for (v0.9.18)", v.Type(), name)
	}
	return f, nil
}

// intField, boolField and intsField read fields of the kinds their names say.
func intField(v reflect.Value, name string) (int, error) {
	f, err := field(v, name)
	if err != nil {
		return 0, err
	}
	switch f.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return int(f.Int()), nil
	case reflect.Uint8, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return int(f.Uint()), nil
	}
	return 0, fmt.Errorf("program: field %s of %s is %s, not an integer", name, v.Type(), f.Kind())
}

func boolField(v reflect.Value, name string) (bool, error) {
	f, err := field(v, name)
	if err != nil {
		return false, err
	}
	if f.Kind() != reflect.Bool {
		return false, fmt.Errorf("program: field %s of %s is %s, not a bool", name, v.Type(), f.Kind())
	}
	return f.Bool(), nil
}

func intsField(v reflect.Value, name string) ([]int, error) {
	f, err := field(v, name)
	if err != nil {
		return nil, err
	}
	if f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Int {
		return nil, fmt.Errorf("program: field %s of %s is %s, not a slice of int", name, v.Type(), f.Type())
	}
	out := make([]int, f.Len())
	for i := range out {
		out[i] = int(f.Index(i).Int())
	}
	return out, nil
}

// binOpSymbol is the operator symbol of an elemBinOp ("+", "⊙", ">="), taken from its String
// ("+ false").
func binOpSymbol(n *G.Node) string {
	s := fmt.Sprint(n.Op())
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i]
	}
	return s
}

// convParams are the parameters shared by im2col, col2im, max pooling and its gradient.
type convParams struct {
	kh, kw, padH, padW, strideH, strideW, dilH, dilW int
}

func readIm2col(v reflect.Value) (p convParams, err error) {
	for _, f := range []struct {
		name string
		dst  *int
	}{{"h", &p.kh}, {"w", &p.kw}, {"padH", &p.padH}, {"padW", &p.padW}, {"strideH", &p.strideH}, {"strideW", &p.strideW}, {"dilationH", &p.dilH}, {"dilationW", &p.dilW}} {
		if *f.dst, err = intField(v, f.name); err != nil {
			return p, err
		}
	}
	return p, nil
}

func readMaxPool(v reflect.Value) (p convParams, err error) {
	if v.Type().Name() == "maxPoolDiffOp" {
		if v, err = field(v, "maxPoolOp"); err != nil {
			return p, err
		}
	}
	explicit, err := boolField(v, "explicitPadding")
	if err != nil {
		return p, err
	}
	north, west := "padNorth", "padWest"
	if explicit { // Gorgonia's kernel uses south/east when padding is explicit
		north, west = "padSouth", "padEast"
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"h", &p.kh}, {"w", &p.kw}, {north, &p.padH}, {west, &p.padW}, {"strideH", &p.strideH}, {"strideW", &p.strideW}} {
		if *f.dst, err = intField(v, f.name); err != nil {
			return p, err
		}
	}
	p.dilH, p.dilW = 1, 1
	return p, nil
}
