package ir

import (
	"fmt"
	"math"
)

// Elastic distortion, after Simard, Steinkraus and Platt ("Best practices for convolutional
// neural networks applied to visual document analysis", ICDAR 2003): each example's image is
// resampled through a smooth random displacement field of its own, drawn anew at every step.
//
// The field. Example b at step has a random field u = (ux, uy) on the integer points (X, Y)
// of the plane around its image, each component uniform in [−1, 1) (unitWord of a Philox
// word). Output pixel (x, y) is displaced by
//
//	d(x, y) = α · Σⱼ gⱼ · Σᵢ gᵢ · u(x+i, y+j),   i and j from −r to r,
//
// u smoothed by a Gaussian of standard deviation σ truncated at r = ⌈3σ⌉ pixels and
// normalised (the gᵢ sum to 1), then scaled by α pixels; |d| ≤ α along each axis. The
// field is drawn beyond the image, r pixels into a margin on every side, so the smoothing has
// no edge: a border pixel's displacement is a sum of the same (2r+1)² weights as the centre's,
// and the field is as strong at the edges as in the middle. The output pixel samples the
// input where the affine transform sends it, plus d (augment.go), bilinearly, zeros outside.
//
// Counters. The field's points are numbered on the grid of the image and its margin,
// X' = X + r from 0 to W+2r−1 and Y' = Y + r from 0 to H+2r−1. The pair k = Y'·P + ⌊X'/2⌋
// (P = ⌈(W+2r)/2⌉ pairs a row) of the point with X' even and its right neighbour takes one
// Philox call, on the counter (b, ElasticStream + k, step low, step high) under the key (seed
// low, seed high): words 0 and 1 are the even point's (ux, uy), words 2 and 3 the odd one's.
// k stays below 2³¹ − 1 (checked), so word 1 lies in [2³¹, 2³² − 2]: never a dropout layer
// (below 2³¹) nor AugmentStream (2³² − 1), whose counters share the key.
//
// Arithmetic. float64, each product and sum rounded on its own (no fused multiply-add), in
// this order on every executor, so that all give the same bits, and so does a resumed run:
//
//	e₀ = 1, m₁ = q, eₖ = eₖ₋₁·mₖ, mₖ₊₁ = mₖ·(q·q)   eₖ = q^(k²) = exp(−k²/(2σ²)), q = Decay
//	S = e_r + … + e₁ + e₀ + e₁ + … + e_r             from 0, i = −r to r in turn
//	gₖ = eₖ / S
//	s(x, Y) = Σᵢ g_|i|·ux(x+i, Y)                     from 0, i = −r to r in turn; uy alike
//	d(x, y) = α · Σⱼ g_|j|·s(x, y+j)                  from 0, j = −r to r in turn
//	source  = (sx + dx, sy + dy)                      (sx, sy) the affine transform's place
//
// q = exp(−1/(2σ²)) is computed once, where the launch is made (ElasticDecay), so that no
// executor evaluates exp. The CPU smooths the rows once (ElasticField: s for every row of the
// margin grid, then d), the reference interpreter and the CUDA kernel recompute s per pixel
// (ElasticPoint): the same sums in the same order.

// ElasticStream is the least word 1 of an elastic field's counter: ElasticStream + k for the
// pair of points k. Dropout layers lie below it.
const ElasticStream = 1 << 31

// The elastic field's bounds: σ in [MinElasticSigma, MaxElasticSigma] pixels, so the radius
// ⌈3σ⌉ is at most MaxElasticRadius; α at most ElasticAlphaPerSide times the image's longer
// side.
const (
	MinElasticSigma     = 0.5
	MaxElasticSigma     = 10
	MaxElasticRadius    = 30
	ElasticAlphaPerSide = 4
)

// ElasticRadius is the truncation radius of a Gaussian of standard deviation sigma: ⌈3σ⌉.
func ElasticRadius(sigma float64) int { return int(math.Ceil(3 * sigma)) }

// ElasticDecay is q = exp(−1/(2σ²)), whose k²-th power is the Gaussian's weight k pixels out.
func ElasticDecay(sigma float64) float64 { return math.Exp(-1 / (2 * sigma * sigma)) }

// Elastic reports whether p distorts elastically (Alpha above 0).
func (p AugmentParams) Elastic() bool { return p.Alpha > 0 }

// ElasticBlock is the Philox words of the pair of field points k of the example in place b of
// the batch at step: (ux, uy) of the even point, then of the odd one.
func ElasticBlock(seed, step int64, b, k int) [4]uint32 {
	key := [2]uint32{uint32(seed), uint32(uint64(seed) >> 32)}
	return Philox4x32([4]uint32{uint32(b), uint32(ElasticStream + k), uint32(step), uint32(uint64(step) >> 32)}, key)
}

// elasticPairs is P, the pairs of points in a row of the margin grid: ⌈(W+2r)/2⌉.
func (p AugmentParams) elasticPairs() int { return (p.W + 2*p.Radius + 1) / 2 }

// ElasticPoint is the unsmoothed field (ux, uy) of the example in place b at step at the point
// (X, Y) of the image's plane, X and Y from −Radius to W−1+Radius and H−1+Radius.
func (p AugmentParams) ElasticPoint(step int64, b, x, y int) (ux, uy float64) {
	xx, yy := x+p.Radius, y+p.Radius
	w := ElasticBlock(p.Seed, step, b, yy*p.elasticPairs()+xx/2)
	o := 2 * (xx & 1)
	return unitWord(w[o]), unitWord(w[o+1])
}

// ElasticWeights is the smoothing's normalised weights g[k], k pixels out, for k from 0 to
// Radius (0 beyond).
func (p AugmentParams) ElasticWeights() (g [MaxElasticRadius + 1]float64) {
	r, q := min(max(p.Radius, 0), MaxElasticRadius), p.Decay
	q2, m := float64(q*q), q
	g[0] = 1
	for k := 1; k <= r; k++ {
		g[k] = float64(g[k-1] * m)
		m = float64(m * q2)
	}
	var s float64
	for i := -r; i <= r; i++ {
		s += g[absInt(i)]
	}
	for k := 0; k <= r; k++ {
		g[k] /= s
	}
	return g
}

func absInt(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// ElasticScratch is the float64 values of scratch that ElasticField needs: the field on the
// margin grid, then its rows smoothed, two components each.
func (p AugmentParams) ElasticScratch() int {
	eh, ew := p.H+2*p.Radius, p.W+2*p.Radius
	return 2*eh*ew + 2*eh*p.W
}

// ElasticField writes the displacement of the example in place b of the batch at step into d
// (2·H·W values: the x displacements of the pixels row by row, then the y ones), using
// scratch (at least ElasticScratch values): the field drawn on the margin grid, its rows
// smoothed, then its columns, scaled by Alpha. It allocates nothing. Each sum runs over the
// weights in the definition's order, a whole row (or image) of sums at a time.
func (p AugmentParams) ElasticField(d, scratch []float64, step int64, b int) {
	r, h, w := p.Radius, p.H, p.W
	eh, ew, pairs := h+2*r, w+2*r, p.elasticPairs()
	n := eh * ew
	ux, uy := scratch[:n], scratch[n:2*n]
	sx, sy := scratch[2*n:2*n+eh*w], scratch[2*n+eh*w:2*n+2*eh*w]
	for yy := 0; yy < eh; yy++ {
		for k := 0; k < pairs; k++ {
			q := ElasticBlock(p.Seed, step, b, yy*pairs+k)
			i := yy*ew + 2*k
			ux[i], uy[i] = unitWord(q[0]), unitWord(q[1])
			if 2*k+1 < ew {
				ux[i+1], uy[i+1] = unitWord(q[2]), unitWord(q[3])
			}
		}
	}
	half := p.ElasticWeights()
	var g [2*MaxElasticRadius + 1]float64 // g[i+r] = g_|i|
	for i := -r; i <= r; i++ {
		g[i+r] = half[absInt(i)]
	}
	// Along x: s(x, Y') = Σᵢ g_|i|·u(x+i, Y'), for each row of the margin grid.
	clear(sx)
	clear(sy)
	for yy := 0; yy < eh; yy++ {
		ox, oy := sx[yy*w:(yy+1)*w], sy[yy*w:(yy+1)*w]
		for i, gi := range g[:2*r+1] {
			rx, ry := ux[yy*ew+i:yy*ew+i+w], uy[yy*ew+i:yy*ew+i+w]
			for x := range ox {
				ox[x] += float64(gi * rx[x])
				oy[x] += float64(gi * ry[x])
			}
		}
	}
	// Along y: d(x, y) = α·Σⱼ g_|j|·s(x, y+j); rows j+r to j+r+H−1 of s are the image's
	// rows moved by j.
	dx, dy := d[:h*w], d[h*w:2*h*w]
	clear(dx)
	clear(dy)
	for j, gj := range g[:2*r+1] {
		cx, cy := sx[j*w:(j+h)*w], sy[j*w:(j+h)*w]
		for i := range dx {
			dx[i] += float64(gj * cx[i])
			dy[i] += float64(gj * cy[i])
		}
	}
	for i := range dx {
		dx[i], dy[i] = float64(p.Alpha*dx[i]), float64(p.Alpha*dy[i])
	}
}

// checkElastic checks the elastic field's parameters: none (all 0), or α in (0,
// ElasticAlphaPerSide·side], a radius from 1 to MaxElasticRadius, a decay in [0, 1), and
// fewer than 2³¹ − 1 pairs of points on the margin grid.
func (p AugmentParams) checkElastic(op Op) error {
	side := max(p.H, p.W)
	switch {
	case p.Alpha == 0 && p.Radius == 0 && p.Decay == 0:
		return nil
	case !(p.Alpha > 0 && p.Alpha <= ElasticAlphaPerSide*float64(side)):
		return fmt.Errorf("%s: elastic alpha %v: want it in (0, %d] pixels (%d times the image's side)", op, p.Alpha, ElasticAlphaPerSide*side, ElasticAlphaPerSide)
	case p.Radius < 1 || p.Radius > MaxElasticRadius || !(p.Decay >= 0 && p.Decay < 1):
		return fmt.Errorf("%s: elastic radius %d or decay %v: want the first from 1 to %d, the second in [0, 1)", op, p.Radius, p.Decay, MaxElasticRadius)
	case p.H+2*p.Radius > (ElasticStream-1)/p.elasticPairs():
		return fmt.Errorf("%s: elastic field of %dx%d images with radius %d: more than 2^31−1 pairs of points", op, p.H, p.W, p.Radius)
	}
	return nil
}
