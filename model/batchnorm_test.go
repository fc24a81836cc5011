package model

import (
	"math"
	"math/rand"
	"testing"
)

// TestBatchNormGradients: the gradients of L = Σ w ⊙ BN(x) (the batch's statistics) that
// BNOp's backward ops compute, dx, dscale and dshift, match float64 central differences of L,
// for images (S = 25) and vectors (S = 1) of 3 channels in a batch of 5.
func TestBatchNormGradients(t *testing.T) {
	for _, sh := range []bnShape{{B: 5, C: 3, S: 25}, {B: 5, C: 3, S: 1}} {
		r := rand.New(rand.NewSource(7))
		n := sh.B * sh.C * sh.S
		draw := func(k int, off float64) []float64 {
			v := make([]float64, k)
			for i := range v {
				v[i] = off + r.NormFloat64()
			}
			return v
		}
		x, w, scale, shift := draw(n, 0.5), draw(n, 0), draw(sh.C, 1), draw(sh.C, 0)
		mean, vr := make([]float64, sh.C), make([]float64, sh.C)
		loss := func() float64 {
			bnStatsInto(mean, x, sh, false)
			bnStatsInto(vr, x, sh, true)
			y := make([]float64, n)
			bnNormInto(y, x, mean, vr, scale, shift, sh, BNEps)
			var l float64
			for i := range y {
				l += w[i] * y[i]
			}
			return l
		}
		loss()
		dscale, dshift, dx := make([]float64, sh.C), make([]float64, sh.C), make([]float64, n)
		bnParamGradInto(dscale, x, mean, vr, w, sh, BNEps, false)
		bnParamGradInto(dshift, x, mean, vr, w, sh, BNEps, true)
		bnBackDataInto(dx, x, mean, vr, scale, w, dscale, dshift, sh, BNEps)
		const h = 1e-6
		for _, c := range []struct {
			name string
			v    []float64
			grad []float64
		}{{"x", x, dx}, {"scale", scale, dscale}, {"shift", shift, dshift}} {
			for i := range c.v {
				v := c.v[i]
				c.v[i] = v + h
				up := loss()
				c.v[i] = v - h
				down := loss()
				c.v[i] = v
				num := (up - down) / (2 * h)
				if e := math.Abs(num-c.grad[i]) / math.Max(1e-3, math.Abs(num)+math.Abs(c.grad[i])); e > 1e-5 { // gradcheck's --tol
					t.Errorf("%+v: d%s[%d] = %v, central differences %v (relative error %.2g)", sh, c.name, i, c.grad[i], num, e)
				}
			}
		}
	}
}
