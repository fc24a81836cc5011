package cpu

import (
	"fmt"
	"math"

	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/ir"
)

// The batch normalisation kernels, x viewed as [B, C, S]. The per-channel sums are pieces of
// whole channels, each summed in float64 in order of b, then s, as package ref does; the
// elementwise kernels are pieces of whole (b, c) planes of S values, computed in float64 as
// ref does and rounded once. Nothing is allocated in a step: the per-channel coefficients
// live in a scratch made when the launch is compiled.

// compileBatchNorm compiles a BatchNormStats, BatchNorm, BatchNormBackScale or
// BatchNormBackData launch.
func compileBatchNorm[T float](pool *parallel.Pool, l ir.Launch, a func(int) []T) (func(), error) {
	p, err := l.BatchNormParams()
	if err != nil {
		return nil, err
	}
	want := map[ir.Op]int{ir.BatchNormStats: 3, ir.BatchNorm: 6, ir.BatchNormBackScale: 6, ir.BatchNormBackData: 8}[l.Op]
	if len(l.Args) != want || (l.Op != ir.BatchNormStats && len(l.Reals) != 1) {
		return nil, fmt.Errorf("%s: %d buffers and %d reals, want %d and 1 (ε)", l.Op, len(l.Args), len(l.Reals), want)
	}
	perValue := p.B * p.C * p.S
	for i := range l.Args {
		n := p.C
		if i == 0 || (l.Op == ir.BatchNorm && i == 5) || (l.Op == ir.BatchNormBackScale && i == 3) ||
			(l.Op == ir.BatchNormBackData && (i == 4 || i == 7)) {
			n = perValue
		}
		if len(a(i)) < n {
			return nil, fmt.Errorf("%s: buffer %d has %d values, wants %d", l.Op, i, len(a(i)), n)
		}
	}
	switch l.Op {
	case ir.BatchNormStats:
		return bnStats(pool, a(0), a(1), a(2), p), nil
	case ir.BatchNorm:
		return bnForward(pool, a(0), a(1), a(2), a(3), a(4), a(5), p, l.Reals[0]), nil
	case ir.BatchNormBackScale:
		return bnBackScale(pool, a(0), a(1), a(2), a(3), a(4), a(5), p, l.Reals[0]), nil
	}
	return bnBackData(pool, a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), p, l.Reals[0]), nil
}

// bnChannels runs body over the channels in pieces of about a chunk of values each.
func bnChannels(pool *parallel.Pool, p ir.BatchNormParams, body func(c int)) func() {
	return forEach(pool, p.C, perRow(p.B*p.S), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			body(c)
		}
	})
}

// bnPlanes runs body over the (b, c) planes of S values, plane r at x[r·S:], channel r mod C.
func bnPlanes(pool *parallel.Pool, p ir.BatchNormParams, body func(r, c int)) func() {
	return forEach(pool, p.B*p.C, perRow(p.S), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			body(r, r%p.C)
		}
	})
}

// bnStats: mean[c] = Σx/n, var[c] = Σ(x − mean)²/n about the unrounded mean (ir.BatchNormStats).
func bnStats[T float](pool *parallel.Pool, x, mean, vr []T, p ir.BatchNormParams) func() {
	n := float64(p.B * p.S)
	return bnChannels(pool, p, func(c int) {
		var sum, sq float64
		for b := 0; b < p.B; b++ {
			for _, v := range x[(b*p.C+c)*p.S : (b*p.C+c+1)*p.S] {
				sum += float64(v)
			}
		}
		mu := sum / n
		for b := 0; b < p.B; b++ {
			for _, v := range x[(b*p.C+c)*p.S : (b*p.C+c+1)*p.S] {
				d := float64(v) - mu
				sq += d * d
			}
		}
		mean[c], vr[c] = T(mu), T(sq/n)
	})
}

// bnInv is 1/√(var + ε).
func bnInv(vr, eps float64) float64 { return 1 / math.Sqrt(vr+eps) }

// bnForward: y = (x − mean)·inv·scale + shift (ir.BatchNorm).
func bnForward[T float](pool *parallel.Pool, x, mean, vr, scale, shift, y []T, p ir.BatchNormParams, eps float64) func() {
	k := make([]float64, p.C)
	run := bnPlanes(pool, p, func(r, c int) {
		m, kc, s, b := float64(mean[c]), k[c], float64(scale[c]), float64(shift[c])
		yr := y[r*p.S : (r+1)*p.S]
		for i, v := range x[r*p.S : (r+1)*p.S] {
			yr[i] = T((float64(v)-m)*kc*s + b)
		}
	})
	return func() {
		for c := range k {
			k[c] = bnInv(float64(vr[c]), eps)
		}
		run()
	}
}

// bnBackScale: dscale[c] = Σ dy·x̂, dshift[c] = Σ dy (ir.BatchNormBackScale).
func bnBackScale[T float](pool *parallel.Pool, x, mean, vr, dy, dscale, dshift []T, p ir.BatchNormParams, eps float64) func() {
	return bnChannels(pool, p, func(c int) {
		m, k := float64(mean[c]), bnInv(float64(vr[c]), eps)
		var sxy, sy float64
		for b := 0; b < p.B; b++ {
			lo, hi := (b*p.C+c)*p.S, (b*p.C+c+1)*p.S
			xr := x[lo:hi]
			for i, g := range dy[lo:hi] {
				sxy += float64(g) * (float64(xr[i]) - m) * k
				sy += float64(g)
			}
		}
		dscale[c], dshift[c] = T(sxy), T(sy)
	})
}

// bnBackData: dx = scale·inv/n·(n·dy − dshift − x̂·dscale) (ir.BatchNormBackData).
func bnBackData[T float](pool *parallel.Pool, x, mean, vr, scale, dy, dscale, dshift, dx []T, p ir.BatchNormParams, eps float64) func() {
	n := float64(p.B * p.S)
	k := make([]float64, p.C)
	run := bnPlanes(pool, p, func(r, c int) {
		m, kc := float64(mean[c]), k[c]
		f, ds, db := float64(scale[c])*kc/n, float64(dscale[c]), float64(dshift[c])
		lo, hi := r*p.S, (r+1)*p.S
		xr, dxr := x[lo:hi], dx[lo:hi]
		for i, g := range dy[lo:hi] {
			dxr[i] = T(f * (n*float64(g) - db - (float64(xr[i])-m)*kc*ds))
		}
	})
	return func() {
		for c := range k {
			k[c] = bnInv(float64(vr[c]), eps)
		}
		run()
	}
}
