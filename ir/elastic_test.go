package ir

import (
	"math"
	"testing"
)

// elasticParams is an elastic field alone, of alpha pixels smoothed by sigma, on 28x28 images.
func elasticParams(batch int, alpha, sigma float64) AugmentParams {
	return AugmentParams{Batch: batch, C: 1, H: 28, W: 28, Seed: 11, Radius: ElasticRadius(sigma), Alpha: alpha, Decay: ElasticDecay(sigma)}
}

// field is example b's displacement at step (ElasticField).
func field(p AugmentParams, step int64, b int) []float64 {
	d := make([]float64, 2*p.H*p.W)
	p.ElasticField(d, make([]float64, p.ElasticScratch()), step, b)
	return d
}

// TestElasticWeights: the smoothing's weights are the Gaussian's, exp(−k²/(2σ²)) up to a
// factor, within a few ulps, zero beyond the radius ⌈3σ⌉, and sum to 1 over −r..r.
func TestElasticWeights(t *testing.T) {
	for _, sigma := range []float64{MinElasticSigma, 1, 4, 7.3, MaxElasticSigma} {
		p := elasticParams(1, 1, sigma)
		if p.Radius != int(math.Ceil(3*sigma)) || p.Radius > MaxElasticRadius {
			t.Fatalf("σ %v: radius %d", sigma, p.Radius)
		}
		g := p.ElasticWeights()
		var sum float64
		for i := -p.Radius; i <= p.Radius; i++ {
			sum += g[absInt(i)]
		}
		if math.Abs(sum-1) > 1e-14 {
			t.Errorf("σ %v: the weights sum to %v", sigma, sum)
		}
		for k := 0; k <= MaxElasticRadius; k++ {
			want := 0.0
			if k <= p.Radius {
				want = g[0] * math.Exp(-float64(k*k)/(2*sigma*sigma))
			}
			if math.Abs(g[k]-want) > 1e-13*g[0] {
				t.Errorf("σ %v: g[%d] = %v, want %v", sigma, k, g[k], want)
			}
		}
	}
}

// TestElasticFieldDefinition: ElasticField (the rows smoothed once, then the columns) gives
// the definition's sums pixel by pixel from ElasticPoint bit for bit, on a margin grid of
// even and of odd width; the pairs of points are drawn as documented (ElasticBlock's words 0,
// 1 for the even point, 2, 3 for the odd one); each component is in [−1, 1).
func TestElasticFieldDefinition(t *testing.T) {
	for _, p := range []AugmentParams{
		{Batch: 3, C: 1, H: 7, W: 8, Seed: -3, Radius: ElasticRadius(1.5), Alpha: 6, Decay: ElasticDecay(1.5)},
		{Batch: 3, C: 1, H: 9, W: 5, Seed: 1 << 40, Radius: ElasticRadius(0.5), Alpha: 20, Decay: ElasticDecay(0.5)},
	} {
		g := p.ElasticWeights()
		r := p.Radius
		for b := 0; b < p.Batch; b++ {
			step := int64(5<<32 + b)
			d := field(p, step, b)
			for y := 0; y < p.H; y++ {
				for x := 0; x < p.W; x++ {
					var dx, dy float64
					for j := -r; j <= r; j++ {
						var sx, sy float64
						for i := -r; i <= r; i++ {
							ux, uy := p.ElasticPoint(step, b, x+i, y+j)
							if ux < -1 || ux >= 1 || uy < -1 || uy >= 1 {
								t.Fatalf("field point (%d, %d) is (%v, %v)", x+i, y+j, ux, uy)
							}
							sx += float64(g[absInt(i)] * ux)
							sy += float64(g[absInt(i)] * uy)
						}
						dx += float64(g[absInt(j)] * sx)
						dy += float64(g[absInt(j)] * sy)
					}
					if got := []float64{d[y*p.W+x], d[p.H*p.W+y*p.W+x]}; got[0] != float64(p.Alpha*dx) || got[1] != float64(p.Alpha*dy) {
						t.Fatalf("%dx%d r %d example %d pixel (%d, %d): %v, want (%v, %v)", p.H, p.W, r, b, x, y, got, p.Alpha*dx, p.Alpha*dy)
					}
				}
			}
		}
		// The point (X, Y) = (1 − r, −r), X' = 1 odd: pair 0's words 2 and 3.
		w := ElasticBlock(p.Seed, 9, 2, 0)
		if ux, uy := p.ElasticPoint(9, 2, 1-r, -r); ux != unitWord(w[2]) || uy != unitWord(w[3]) {
			t.Errorf("point (%d, %d) is (%v, %v), not pair 0's odd words", 1-r, -r, ux, uy)
		}
	}
}

// TestElasticFieldStatistics: over many examples the displacement has mean 0 and the
// standard deviation of a uniform field smoothed by g, α·Σg²/√3 along each axis, within 5%;
// it never exceeds α; examples, steps and seeds draw fields of their own, and the same (seed,
// step, example) the same field.
func TestElasticFieldStatistics(t *testing.T) {
	p := elasticParams(200, 34, 4)
	g := p.ElasticWeights()
	var g2 float64
	for i := -p.Radius; i <= p.Radius; i++ {
		g2 += g[absInt(i)] * g[absInt(i)]
	}
	want := p.Alpha * g2 / math.Sqrt(3)
	var n, sum, sq float64
	for b := 0; b < p.Batch; b++ {
		d := field(p, 3, b)
		for _, v := range d {
			if math.Abs(v) > p.Alpha {
				t.Fatalf("a displacement of %v pixels, over α = %v", v, p.Alpha)
			}
			n, sum, sq = n+1, sum+v, sq+v*v
		}
	}
	mean, std := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
	if math.Abs(mean) > 0.1*want || math.Abs(std-want) > 0.05*want {
		t.Errorf("displacements of mean %.3g, deviation %.3g pixels; want 0 and %.3g", mean, std, want)
	}
	a := field(p, 3, 0)
	for _, o := range [][]float64{field(p, 3, 1), field(p, 4, 0), field(AugmentParams{Seed: 12, H: 28, W: 28, Radius: p.Radius, Alpha: p.Alpha, Decay: p.Decay}, 3, 0)} {
		if a[0] == o[0] && a[100] == o[100] {
			t.Errorf("another example, step or seed draws the same field")
		}
	}
	if b := field(p, 3, 0); b[0] != a[0] || b[1500] != a[1500] {
		t.Errorf("the same example at the same step draws another field")
	}
}

// TestElasticMovesPixels: Simard's distortion (α 34, σ 4) of a 28x28 digit-like ring moves
// its pixels (no example comes out as it went in, and the images differ from each other) and
// keeps its mass, the sum of its values, within 40% of the original in every example (the
// field stretches and squeezes the strokes by about a third) and within 5% on average over 50;
// with α = 0 the launch copies the image.
func TestElasticMovesPixels(t *testing.T) {
	p := elasticParams(50, 34, 4)
	x := make([]float64, 28*28)
	var mass float64
	for y := 0; y < 28; y++ {
		for xx := 0; xx < 28; xx++ {
			r := math.Hypot(float64(xx)-13.5, (float64(y)-13.5)*0.8)
			x[y*28+xx] = math.Max(0, 1-math.Abs(r-7)/2.5) // a ring 5 pixels wide, 14 across
			mass += x[y*28+xx]
		}
	}
	var first []float64
	var total float64
	for b := 0; b < p.Batch; b++ {
		out := make([]float64, len(x))
		AugmentElastic(out, x, 1, 28, 28, p.Transform(1, b), field(p, 1, b))
		var m, moved float64
		for i, v := range out {
			m += v
			moved += math.Abs(v - x[i])
		}
		if moved < 0.05*mass {
			t.Errorf("example %d: the distortion changed %.3g of the ring's %.3g", b, moved, mass)
		}
		if m < 0.6*mass || m > 1.4*mass {
			t.Errorf("example %d: mass %.4g after the distortion, %.4g before", b, m, mass)
		}
		total += m
		if b == 0 {
			first = out
		} else if out[200] == first[200] && out[300] == first[300] && out[400] == first[400] {
			t.Errorf("example %d distorted as example 0", b)
		}
	}
	if m := total / float64(p.Batch); m < 0.95*mass || m > 1.05*mass {
		t.Errorf("a mass of %.4g on average after the distortion, %.4g before", m, mass)
	}
	t.Logf("mass %.4g before, %.4g on average after", mass, total/float64(p.Batch))
	id := p.Identity()
	out := make([]float64, len(x))
	AugmentImage(out, x, 1, 28, 28, id.Transform(1, 0))
	for i := range out {
		if out[i] != x[i] {
			t.Fatalf("without distortion pixel %d is %v, want %v", i, out[i], x[i])
		}
	}
}

// TestElasticStreams: the elastic field's counters are neither a dropout layer's (a Dropout
// launch of layer ElasticStream or more is refused) nor the affine transform's, and the
// largest pair index of a checked launch stays below AugmentStream.
func TestElasticStreams(t *testing.T) {
	for _, layer := range []int{ElasticStream, ElasticStream + 5, AugmentStream} {
		l := Launch{Op: Dropout, Ints: DropoutParams{N: 8, Layer: layer, Seed: 1}.Ints()}
		if _, err := l.DropoutParams(); err == nil {
			t.Errorf("a dropout launch of layer %d decodes", layer)
		}
	}
	if ElasticBlock(4, 9, 2, 0) == AugmentBlock(4, 9, 2) || ElasticBlock(4, 9, 2, 0) == DropoutBlock(4, ElasticStream-1, 9, 2) {
		t.Errorf("the elastic field's pair 0 draws another stream's words")
	}
	big := AugmentParams{Batch: 1, C: 1, H: 46341, W: 92680, Radius: 1, Alpha: 1, Decay: 0.5}
	if _, err := (Launch{Op: Augment, Ints: big.Ints(), Reals: big.Reals()}).AugmentParams(); err == nil {
		t.Errorf("a margin grid of %d x %d pairs decodes", big.H+2, big.elasticPairs())
	}
}

// TestElasticParamsChecked: an elastic launch's parameters round-trip; a negative, NaN or
// too large alpha, a radius of 0 or over MaxElasticRadius and a decay outside [0, 1) are
// refused, and so are radius or decay without alpha.
func TestElasticParamsChecked(t *testing.T) {
	p := AugmentParams{Batch: 3, C: 2, H: 5, W: 7, Seed: -4, Shift: 2, TanHalf: 0.5, Scale: 0.1, Radius: 12, Alpha: 28, Decay: ElasticDecay(4)}
	got, err := Launch{Op: Augment, Ints: p.Ints(), Reals: p.Reals()}.AugmentParams()
	if err != nil || got != p {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, p)
	}
	ok := AugmentParams{Batch: 1, C: 1, H: 5, W: 7, Radius: 3, Alpha: 2, Decay: 0.9}
	for _, bad := range []func(*AugmentParams){
		func(p *AugmentParams) { p.Alpha = -1 }, func(p *AugmentParams) { p.Alpha = math.NaN() },
		func(p *AugmentParams) { p.Alpha = 28.5 }, func(p *AugmentParams) { p.Radius = 0 },
		func(p *AugmentParams) { p.Radius = MaxElasticRadius + 1 }, func(p *AugmentParams) { p.Decay = 1 },
		func(p *AugmentParams) { p.Decay = -0.1 }, func(p *AugmentParams) { p.Alpha = 0 },
		func(p *AugmentParams) { p.Alpha, p.Radius = 0, 0 },
	} {
		q := ok
		bad(&q)
		if _, err := (Launch{Op: Augment, Ints: q.Ints(), Reals: q.Reals()}).AugmentParams(); err == nil {
			t.Errorf("%+v decodes", q)
		}
	}
}
