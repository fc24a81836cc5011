package ref

import (
	"fmt"
	"math"

	"github.com/graphtrain/graphtrain/ir"
)

// The batch normalisation ops, x viewed as [B, C, S]: every sum over a channel's n = B·S
// values runs in order of b, then s, in float64, and each result is rounded once.

// bnArgs decodes a batch normalisation launch: its parameters, ε, and a check that each of
// its buffers holds what the op reads or writes there (perValue: B·C·S values, else C).
func bnArgs(l ir.Launch, a [][]float64, perValue ...bool) (ir.BatchNormParams, float64, error) {
	p, err := l.BatchNormParams()
	if err != nil {
		return p, 0, err
	}
	if len(a) != len(perValue) {
		return p, 0, fmt.Errorf("%s wants %d buffers, has %d", l.Op, len(perValue), len(a))
	}
	for i, v := range perValue {
		want := p.C
		if v {
			want = p.B * p.C * p.S
		}
		if len(a[i]) < want {
			return p, 0, fmt.Errorf("%s: buffer %d has %d values, wants %d", l.Op, i, len(a[i]), want)
		}
	}
	eps := 0.0
	if l.Op != ir.BatchNormStats {
		if len(l.Reals) != 1 {
			return p, 0, fmt.Errorf("%s wants 1 real (ε), has %d", l.Op, len(l.Reals))
		}
		eps = l.Reals[0]
	}
	return p, eps, nil
}

// channel calls f(i) for the index i of every value of channel c, in order of b, then s.
func channel(p ir.BatchNormParams, c int, f func(i int)) {
	for b := 0; b < p.B; b++ {
		for s := 0; s < p.S; s++ {
			f((b*p.C+c)*p.S + s)
		}
	}
}

// batchNormStats: mean[c] = Σx/n, var[c] = Σ(x − mean)²/n about the unrounded mean.
func batchNormStats(h *Machine, l ir.Launch, a [][]float64) error {
	p, _, err := bnArgs(l, a, true, false, false)
	if err != nil {
		return err
	}
	x, mean, vr := a[0], a[1], a[2]
	n := float64(p.B * p.S)
	for c := 0; c < p.C; c++ {
		var sum, sq float64
		channel(p, c, func(i int) { sum += x[i] })
		mu := sum / n
		channel(p, c, func(i int) { d := x[i] - mu; sq += d * d })
		mean[c], vr[c] = h.round(mu), h.round(sq/n)
	}
	return nil
}

// inv is 1/√(var + ε).
func inv(vr, eps float64) float64 { return 1 / math.Sqrt(vr+eps) }

// batchNorm: y = (x − mean)·inv·scale + shift.
func batchNorm(h *Machine, l ir.Launch, a [][]float64) error {
	p, eps, err := bnArgs(l, a, true, false, false, false, false, true)
	if err != nil {
		return err
	}
	x, mean, vr, scale, shift, y := a[0], a[1], a[2], a[3], a[4], a[5]
	for c := 0; c < p.C; c++ {
		k := inv(vr[c], eps)
		channel(p, c, func(i int) { y[i] = h.round((x[i]-mean[c])*k*scale[c] + shift[c]) })
	}
	return nil
}

// batchNormBackScale: dscale = Σ dy·x̂, dshift = Σ dy.
func batchNormBackScale(h *Machine, l ir.Launch, a [][]float64) error {
	p, eps, err := bnArgs(l, a, true, false, false, true, false, false)
	if err != nil {
		return err
	}
	x, mean, vr, dy, dscale, dshift := a[0], a[1], a[2], a[3], a[4], a[5]
	for c := 0; c < p.C; c++ {
		k := inv(vr[c], eps)
		var sxy, sy float64
		channel(p, c, func(i int) { sxy += dy[i] * (x[i] - mean[c]) * k; sy += dy[i] })
		dscale[c], dshift[c] = h.round(sxy), h.round(sy)
	}
	return nil
}

// batchNormBackData: dx = scale·inv/n·(n·dy − dshift − x̂·dscale).
func batchNormBackData(h *Machine, l ir.Launch, a [][]float64) error {
	p, eps, err := bnArgs(l, a, true, false, false, false, true, false, false, true)
	if err != nil {
		return err
	}
	x, mean, vr, scale, dy, dscale, dshift, dx := a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
	n := float64(p.B * p.S)
	for c := 0; c < p.C; c++ {
		k := inv(vr[c], eps)
		f := scale[c] * k / n
		channel(p, c, func(i int) { dx[i] = h.round(f * (n*dy[i] - dshift[c] - (x[i]-mean[c])*k*dscale[c])) })
	}
	return nil
}
