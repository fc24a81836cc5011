package ir

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// wireCase is one family of parameters: the ops that take it, a value encoded, the
// integers it must encode to, and its decoder.
type wireCase struct {
	ops    []Op
	ints   []int64
	want   []int64
	decode func(Launch) (any, error)
	value  any
}

// wireCases are a value of each family of parameters and its wire format.
func wireCases() []wireCase {
	conv := ConvParams{ConvGeom: ConvGeom{B: 1, C: 2, H: 3, W: 4, KH: 5, KW: 6, PadH: 7, PadW: 8, StrideH: 9, StrideW: 10, DilH: 11, DilW: 12, OH: 13, OW: 14}, Cout: 15}
	pool := PoolGeom{B: 16, C: 17, H: 18, W: 19, KH: 20, KW: 21, PadH: 22, PadW: 23, StrideH: 24, StrideW: 25, OH: 26, OW: 27}
	seq := func(lo, hi int64) []int64 {
		var v []int64
		for x := lo; x <= hi; x++ {
			v = append(v, x)
		}
		return v
	}
	return []wireCase{
		{[]Op{Binary}, BinaryParams{N: 7, SA: 1, SB: 0, Op: Ge}.Ints(), []int64{7, 1, 0, 8},
			func(l Launch) (any, error) { return l.BinaryParams() }, BinaryParams{N: 7, SA: 1, SB: 0, Op: Ge}},
		{[]Op{Unary}, UnaryParams{N: 5, F: Sigmoid}.Ints(), []int64{5, 16},
			func(l Launch) (any, error) { return l.UnaryParams() }, UnaryParams{N: 5, F: Sigmoid}},
		{[]Op{Gather4}, Gather4Params{N: 120, Dims: [4]int{2, 3, 5, 4}, Strides: [4]int{1, 40, 2, 10}}.Ints(), []int64{120, 2, 3, 5, 4, 1, 40, 2, 10},
			func(l Launch) (any, error) { return l.Gather4Params() }, Gather4Params{N: 120, Dims: [4]int{2, 3, 5, 4}, Strides: [4]int{1, 40, 2, 10}}},
		{[]Op{Gemm, GemmBias, GemmBiasReLU, GemmMul}, GemmParams{M: 1, N: 2, K: 3, TransB: true}.Ints(), []int64{1, 2, 3, 0, 1},
			func(l Launch) (any, error) { return l.GemmParams() }, GemmParams{M: 1, N: 2, K: 3, TransB: true}},
		{[]Op{GemmSplit}, GemmSplitParams{GemmParams: GemmParams{M: 1, N: 2, K: 3, TransA: true}, KC: 4}.Ints(), []int64{1, 2, 3, 1, 0, 4},
			func(l Launch) (any, error) { return l.GemmSplitParams() }, GemmSplitParams{GemmParams: GemmParams{M: 1, N: 2, K: 3, TransA: true}, KC: 4}},
		{[]Op{ReduceSum}, ReduceSumParams{Outer: 1, Length: 2, Inner: 3}.Ints(), []int64{1, 2, 3},
			func(l Launch) (any, error) { return l.ReduceSumParams() }, ReduceSumParams{Outer: 1, Length: 2, Inner: 3}},
		{[]Op{SoftmaxXent}, SoftmaxXentParams{Rows: 4, Cols: 10}.Ints(), []int64{4, 10},
			func(l Launch) (any, error) { return l.SoftmaxXentParams() }, SoftmaxXentParams{Rows: 4, Cols: 10}},
		{[]Op{Softmax, SoftmaxBack}, SoftmaxParams{Rows: 4, Cols: 10, Log: true}.Ints(), []int64{4, 10, 1},
			func(l Launch) (any, error) { return l.SoftmaxParams() }, SoftmaxParams{Rows: 4, Cols: 10, Log: true}},
		{[]Op{Im2col, Col2im}, conv.ConvGeom.Ints(), seq(1, 14),
			func(l Launch) (any, error) { return l.ConvGeom() }, conv.ConvGeom},
		{[]Op{Conv, ConvData, ConvFilter, ConvReLU}, conv.Ints(), seq(1, 15),
			func(l Launch) (any, error) { return l.ConvParams() }, conv},
		{[]Op{MaxPool, MaxPoolBack, MaxPoolBackMask, PoolRouteBack}, pool.Ints(), seq(16, 27),
			func(l Launch) (any, error) { return l.PoolGeom() }, pool},
		{[]Op{ConvReLUPool, ConvReLUPoolBack, RouteData}, ConvPoolParams{Conv: conv, Pool: pool}.Ints(), seq(1, 27),
			func(l Launch) (any, error) { return l.ConvPoolParams() }, ConvPoolParams{Conv: conv, Pool: pool}},
		{[]Op{ConvFilterSplit}, ConvSplitParams{Conv: conv, Images: 16}.Ints(), append(seq(1, 15), 16),
			func(l Launch) (any, error) { return l.ConvSplitParams() }, ConvSplitParams{Conv: conv, Images: 16}},
		{[]Op{RouteFilter}, RouteFilterParams{ConvPoolParams: ConvPoolParams{Conv: conv, Pool: pool}, Images: 5}.Ints(), append(seq(1, 27), 5),
			func(l Launch) (any, error) { return l.RouteFilterParams() }, RouteFilterParams{ConvPoolParams: ConvPoolParams{Conv: conv, Pool: pool}, Images: 5}},
		{[]Op{FilterSum}, FilterSumParams{Parts: 7, Cout: 6, K: 25}.Ints(), []int64{7, 6, 25},
			func(l Launch) (any, error) { return l.FilterSumParams() }, FilterSumParams{Parts: 7, Cout: 6, K: 25}},
		{[]Op{GatherRows}, GatherRowsParams{Rows: 32, Cols: 784}.Ints(), []int64{32, 784},
			func(l Launch) (any, error) { return l.GatherRowsParams() }, GatherRowsParams{Rows: 32, Cols: 784}},
		{[]Op{CursorAdd}, CursorAddParams{N: 32}.Ints(), []int64{32},
			func(l Launch) (any, error) { return l.CursorAddParams() }, CursorAddParams{N: 32}},
		{[]Op{Dropout}, DropoutParams{N: 1024, Layer: 3, Seed: -5, Threshold: 1 << 31}.Ints(), []int64{1024, 3, -5, 1 << 31},
			func(l Launch) (any, error) { return l.DropoutParams() }, DropoutParams{N: 1024, Layer: 3, Seed: -5, Threshold: 1 << 31}},
		{[]Op{BatchNormStats, BatchNorm, BatchNormBackScale, BatchNormBackData}, BatchNormParams{B: 5, C: 3, S: 25}.Ints(), []int64{5, 3, 25},
			func(l Launch) (any, error) { return l.BatchNormParams() }, BatchNormParams{B: 5, C: 3, S: 25}},
		{[]Op{SGD, Momentum, Adam}, UpdateParams{N: 9}.Ints(), []int64{9},
			func(l Launch) (any, error) { return l.UpdateParams() }, UpdateParams{N: 9}},
	}
}

// TestParamsWire: each family of parameters encodes to the positional integers that the
// CUDA kernels and the golden programs read, in the order of the Op comments, and decodes
// back from a launch of each op that takes it, and from no other.
func TestParamsWire(t *testing.T) {
	for _, c := range wireCases() {
		if !slices.Equal(c.ints, c.want) {
			t.Errorf("%v: encodes to %v, want %v", c.ops, c.ints, c.want)
		}
		for op := range numOps {
			got, err := c.decode(Launch{Op: op, Ints: c.ints})
			if !slices.Contains(c.ops, op) {
				if err == nil {
					t.Errorf("%v parameters decode from a %s launch", c.ops, op)
				}
				continue
			}
			if err != nil || got != c.value {
				t.Errorf("%s: decodes %v to %+v, %v; want %+v", op, c.ints, got, err, c.value)
			}
			if _, err := c.decode(Launch{Op: op, Ints: c.ints[1:]}); err == nil || !strings.Contains(err.Error(), "integers") {
				t.Errorf("%s: %d integers decode: %v", op, len(c.ints)-1, err)
			}
		}
	}
}

// TestParamsFlags: a bool travels as 0 or 1, and any other value does not decode.
func TestParamsFlags(t *testing.T) {
	if p, err := (Launch{Op: Gemm, Ints: []int64{1, 2, 3, 2, 0}}).GemmParams(); err == nil {
		t.Errorf("transA 2 decodes to %+v", p)
	}
	if p, err := (Launch{Op: GemmSplit, Ints: []int64{1, 2, 3, 0, -1, 4}}).GemmSplitParams(); err == nil {
		t.Errorf("transB -1 decodes to %+v", p)
	}
	if p, err := (Launch{Op: Softmax, Ints: []int64{1, 2, 3}}).SoftmaxParams(); err == nil {
		t.Errorf("isLog 3 decodes to %+v", p)
	}
}

// TestElementwiseFuncs: every code of BinaryOps and UnaryOps has its function and no other
// code has one.
func TestElementwiseFuncs(t *testing.T) {
	if len(binaryFuncs) != len(BinaryOps) || len(unaryFuncs) != len(UnaryOps) {
		t.Fatalf("%d and %d functions for %d and %d codes", len(binaryFuncs), len(unaryFuncs), len(BinaryOps), len(UnaryOps))
	}
	for _, c := range BinaryOps {
		if f, ok := BinaryOp(c.Code).Func(); !ok || f == nil {
			t.Errorf("%s: no function", c.C)
		}
	}
	for _, c := range UnaryOps {
		if f, ok := UnaryOp(c.Code).Func(); !ok || f == nil {
			t.Errorf("%s: no function", c.C)
		}
	}
	for _, op := range []BinaryOp{-1, BinaryOp(len(BinaryOps))} {
		if _, ok := op.Func(); ok {
			t.Errorf("binary code %d has a function", op)
		}
	}
	for _, op := range []UnaryOp{-1, UnaryOp(len(UnaryOps))} {
		if _, ok := op.Func(); ok {
			t.Errorf("unary code %d has a function", op)
		}
	}
	pow, _ := Pow.Func()
	sig, _ := Sigmoid.Func()
	sign, _ := Sign.Func()
	if pow(2, 10) != 1024 || sig(0) != 0.5 || sign(-3) != -1 || sign(0) != 0 || sig(math.Inf(-1)) != 0 {
		t.Errorf("pow(2, 10) = %v, sigmoid(0) = %v, sign(-3) = %v", pow(2, 10), sig(0), sign(-3))
	}
}
