package cpu

import (
	"math"
	"testing"

	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/ir/ref"
	"github.com/graphtrain/graphtrain/lower/lowertest"
)

// bnProgram is the four batch normalisation launches on x [b, c, s], over buffers of their
// own, with the values of the inputs.
func bnProgram(dtype ir.Dtype, b, c, s int) *lowertest.Odd {
	o := lowertest.NewOdd(dtype)
	p := ir.BatchNormParams{B: b, C: c, S: s}
	n := b * c * s
	x := o.In(n, func() float64 { return 3*o.Normal() + 1.5 })
	mean, vr, dscale, dshift := o.Out(c), o.Out(c), o.Out(c), o.Out(c)
	scale, shift, dy := o.In(c, o.Normal), o.In(c, o.Normal), o.In(n, o.Normal)
	eps := []float64{1e-5}
	for _, l := range []ir.Launch{
		{Op: ir.BatchNormStats, Args: []int{x, mean, vr}},
		{Op: ir.BatchNorm, Args: []int{x, mean, vr, scale, shift, o.Out(n)}, Reals: eps},
		{Op: ir.BatchNormBackScale, Args: []int{x, mean, vr, dy, dscale, dshift}, Reals: eps},
		{Op: ir.BatchNormBackData, Args: []int{x, mean, vr, scale, dy, dscale, dshift, o.Out(n)}, Reals: eps},
	} {
		l.Dtype, l.Ints, l.What, l.Node = dtype, p.Ints(), l.Op.String(), 1
		o.P.Launches = append(o.P.Launches, l)
	}
	return o
}

// TestBatchNormOnAnyPool: the batch normalisation kernels give the same bits on 1 and 2
// workers, on shapes cut into several pieces (an image's channels of 16000 values, a
// vector's 300 channels of 128), and the reference interpreter's values (in float64 the same
// bits: the same sums in the same order).
func TestBatchNormOnAnyPool(t *testing.T) {
	for _, dtype := range []ir.Dtype{ir.Float32, ir.Float64} {
		for _, s := range [][3]int{{16, 5, 1000}, {128, 300, 1}, {5, 3, 25}} {
			o := bnProgram(dtype, s[0], s[1], s[2])
			run := func(workers int) [][]float64 {
				pool := parallel.New(workers)
				defer pool.Close()
				e, err := newExecutor(o.P, pool)
				if err != nil {
					t.Fatal(err)
				}
				for id, v := range o.Inputs {
					write(e, id, v)
				}
				for _, f := range e.steps {
					f()
				}
				out := make([][]float64, len(o.P.Buffers))
				for id := range out {
					out[id] = read(e, id)
				}
				return out
			}
			one, two := run(1), run(2)
			h := ref.New(o.P, nil, nil)
			for id, v := range o.Inputs {
				copy(h.Buf(id), v)
			}
			if err := h.Run(); err != nil {
				t.Fatal(err)
			}
			for id := range one {
				for i := range one[id] {
					if math.Float64bits(one[id][i]) != math.Float64bits(two[id][i]) {
						t.Fatalf("%s %v buffer %d value %d: %v on 1 worker, %v on 2", dtype, s, id, i, one[id][i], two[id][i])
					}
				}
				d := lowertest.RelErr(one[id], h.Buf(id))
				if tol := map[ir.Dtype]float64{ir.Float32: 1e-6, ir.Float64: 0}[dtype]; d > tol {
					t.Errorf("%s %v buffer %d: off the reference by %.2g relative", dtype, s, id, d)
				}
			}
		}
	}
}
