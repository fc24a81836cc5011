package ir

import (
	"math"
	"math/rand"
	"testing"
)

// TestAugmentIdentity: with shift, rotation and scale all 0 every example's transform is the
// identity and the image comes out bit for bit as it went in, on odd sides and several
// channels, in both precisions, negative values too.
func TestAugmentIdentity(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, g := range [][3]int{{1, 7, 5}, {3, 9, 6}, {2, 1, 13}} {
		c, h, w := g[0], g[1], g[2]
		p := AugmentParams{Batch: 4, C: c, H: h, W: w, Seed: 99}
		x64 := make([]float64, c*h*w)
		x32 := make([]float32, c*h*w)
		for i := range x64 {
			x64[i] = r.NormFloat64()
			x32[i] = float32(x64[i])
		}
		for b := 0; b < p.Batch; b++ {
			a := p.Transform(int64(b)*1000003, b)
			if a.A != 1 || a.B != 0 || a.TX != 0 || a.TY != 0 {
				t.Fatalf("%v example %d: transform %+v, want the identity", g, b, a)
			}
			y64, y32 := make([]float64, len(x64)), make([]float32, len(x32))
			AugmentImage(y64, x64, c, h, w, a)
			AugmentImage(y32, x32, c, h, w, a)
			for i := range x64 {
				if y64[i] != x64[i] || y32[i] != x32[i] {
					t.Fatalf("%v example %d: value %d is %v (%v), want %v (%v)", g, b, i, y64[i], y32[i], x64[i], x32[i])
				}
			}
		}
	}
}

// TestAugmentShiftMovesContent: a shift alone moves a hand-made image by whole pixels, each
// example by its own (tx, ty) in [−2, 2]², zeros coming in at the edges; over 400 examples
// every offset from −2 to 2 is drawn along each axis, and another step draws other offsets.
func TestAugmentShiftMovesContent(t *testing.T) {
	const h, w = 6, 8
	x := make([]float32, h*w)
	for i := range x {
		x[i] = float32(i + 1) // every pixel its own value
	}
	p := AugmentParams{Batch: 400, C: 1, H: h, W: w, Seed: 5, Shift: 2}
	seen := map[[2]float64]int{}
	same := 0
	for b := 0; b < p.Batch; b++ {
		a := p.Transform(17, b)
		if a.A != 1 || a.B != 0 || a.TX != math.Trunc(a.TX) || math.Abs(a.TX) > 2 || math.Abs(a.TY) > 2 {
			t.Fatalf("example %d: transform %+v, want a whole-pixel move of at most 2", b, a)
		}
		seen[[2]float64{a.TX, a.TY}]++
		if o := p.Transform(18, b); o.TX == a.TX && o.TY == a.TY {
			same++
		}
		y := make([]float32, h*w)
		AugmentImage(y, x, 1, h, w, a)
		tx, ty := int(a.TX), int(a.TY)
		for yy := 0; yy < h; yy++ {
			for xx := 0; xx < w; xx++ {
				want := float32(0)
				if sx, sy := xx-tx, yy-ty; sx >= 0 && sx < w && sy >= 0 && sy < h {
					want = x[sy*w+sx]
				}
				if got := y[yy*w+xx]; got != want {
					t.Fatalf("example %d moved by (%d, %d): pixel (%d, %d) is %v, want %v", b, tx, ty, xx, yy, got, want)
				}
			}
		}
	}
	if len(seen) != 25 {
		t.Errorf("%d of the 25 offsets drawn in 400 examples: %v", len(seen), seen)
	}
	if same > 40 {
		t.Errorf("step 18 draws step 17's offset for %d of 400 examples", same)
	}
}

// TestAugmentRotationAndScale: a rotation and a scaling keep within their bounds (the turn
// 2·atan(t) within ±rotate, the scale within 1 ± scale), and a half turn of 90 degrees maps a
// square image's corner pixel onto another corner.
func TestAugmentRotationAndScale(t *testing.T) {
	p := AugmentParams{Batch: 2000, C: 1, H: 9, W: 9, Seed: 8, TanHalf: AugmentTanHalf(30), Scale: 0.25}
	var lo, hi, slo, shi float64 = 1, -1, 2, 0
	for b := 0; b < p.Batch; b++ {
		a := p.Transform(3, b)
		s := 1 / math.Hypot(a.A, a.B) // A = cos θ/s, B = sin θ/s
		deg := math.Atan2(a.B, a.A) * 180 / math.Pi
		lo, hi, slo, shi = min(lo, deg), max(hi, deg), min(slo, s), max(shi, s)
	}
	if lo < -30-1e-9 || hi > 30+1e-9 || lo > -29 || hi < 29 {
		t.Errorf("turns from %.3g to %.3g degrees, want the whole of [−30, 30]", lo, hi)
	}
	if slo < 0.75-1e-9 || shi > 1.25+1e-9 || slo > 0.76 || shi < 1.24 {
		t.Errorf("scales from %.4g to %.4g, want the whole of [0.75, 1.25]", slo, shi)
	}
	// A quarter turn (t = 1) of a 3x3 image: the centre stays, the corners go round.
	a := Affine{A: 0, B: 1, CX: 1, CY: 1}
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	y := make([]float64, 9)
	AugmentImage(y, x, 1, 3, 3, a)
	if y[4] != 5 || y[0]+y[2]+y[6]+y[8] != 1+3+7+9 || y[0] == 1 {
		t.Errorf("a quarter turn of 1..9 gives %v", y)
	}
}

// TestAugmentStreamIsNoDropoutLayer: augmentation's counters use a layer that a Dropout
// launch may not have, so its words are never a dropout mask's.
func TestAugmentStreamIsNoDropoutLayer(t *testing.T) {
	l := Launch{Op: Dropout, Ints: DropoutParams{N: 8, Layer: AugmentStream, Seed: 1}.Ints()}
	if _, err := l.DropoutParams(); err == nil {
		t.Errorf("a dropout launch of layer %d decodes", AugmentStream)
	}
	if AugmentBlock(4, 9, 2) == DropoutBlock(4, 0, 9, 2) {
		t.Errorf("augmentation and dropout layer 0 draw the same words")
	}
}

// TestAugmentParamsChecked: an Augment launch's parameters round-trip, and those out of
// range are refused.
func TestAugmentParamsChecked(t *testing.T) {
	p := AugmentParams{Batch: 3, C: 2, H: 5, W: 7, Seed: -4, Shift: 2, TanHalf: 0.5, Scale: 0.1}
	got, err := Launch{Op: Augment, Ints: p.Ints(), Reals: p.Reals()}.AugmentParams()
	if err != nil || got != p {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, p)
	}
	for _, bad := range []AugmentParams{
		{Batch: 0, C: 1, H: 1, W: 1}, {Batch: 1, C: 1, H: 4, W: 3, Shift: 5}, {Batch: 1, C: 1, H: 1, W: 1, Shift: -1},
		{Batch: 1, C: 1, H: 1, W: 1, TanHalf: 1.5}, {Batch: 1, C: 1, H: 1, W: 1, Scale: 1}, {Batch: 1, C: 1, H: 1, W: 1, Scale: math.NaN()},
	} {
		if _, err := (Launch{Op: Augment, Ints: bad.Ints(), Reals: bad.Reals()}).AugmentParams(); err == nil {
			t.Errorf("%+v decodes", bad)
		}
	}
	if _, err := (Launch{Op: Augment, Ints: p.Ints(), Reals: []float64{0}}).AugmentParams(); err == nil {
		t.Errorf("an augment launch with one real decodes")
	}
}
