package ir

import (
	"fmt"
	"math"
)

// Augmentation moves each training image by a transform of its own, drawn from Philox4x32-10
// (philox.go) as dropout's masks are: the transform of the example in place b of a batch is a
// pure function of (seed, step, b), so that every executor draws the same one, and a resumed
// run the one the uninterrupted run would have drawn. One Philox call per example, on the
// counter (b, AugmentStream, step low, step high) under the key (seed low, seed high), gives
// its four words: w0 and w1 the translation along x and y, w2 the rotation, w3 the scale.
// Dropout's counters have a layer in word 1, below ElasticStream (DropoutParams refuses the
// rest); the elastic field's have ElasticStream + its pair of pixels there (elastic.go), below
// AugmentStream; so no two streams ever share a counter.
//
// The transform, about the image's centre c = ((W−1)/2, (H−1)/2):
//
//	tx, ty  whole pixels, uniform in [−shift, shift]: ⌊w·(2·shift+1)/2³²⌋ − shift
//	t       tanHalf·u(w2), u(w) = (w − 2³¹)/2³¹ uniform in [−1, 1)
//	θ       2·atan(t): cos θ = (1 − t²)/(1 + t²), sin θ = 2t/(1 + t²), no trigonometry in
//	        a kernel; tanHalf = tan(rotate/2), so θ lies within ±rotate, nearly uniform
//	s       1 + scale·u(w3)
//
// Output pixel p samples the input at c + R(−θ)·(p − c − (tx, ty))/s + d(p): the content
// turns by θ, grows by s and moves by (tx, ty), and the elastic field d (elastic.go; none
// without it) pushes each pixel's sample place on its own. The sample is bilinear, with zeros
// outside the image; every channel of an example moves alike. All of it is float64
// arithmetic (+ − × ÷ and floor), the result rounded once to the dtype: a transform with
// shift, rotation and scale all 0 and no elastic field samples each pixel at itself with
// weight 1 and copies the image exactly, and so does a whole-pixel translation alone, pixel
// by pixel.

// AugmentStream is word 1 of every augmentation counter: the dropout layer no model has.
const AugmentStream = 1<<32 - 1

// AugmentBlock is the Philox words of the transform of the example in place b of the batch at
// step.
func AugmentBlock(seed, step int64, b int) [4]uint32 {
	key := [2]uint32{uint32(seed), uint32(uint64(seed) >> 32)}
	return Philox4x32([4]uint32{uint32(b), AugmentStream, uint32(step), uint32(uint64(step) >> 32)}, key)
}

// Affine is one example's transform as its output pixels read it: output pixel (x, y) samples
// the input at (CX + A·qx + B·qy, CY + A·qy − B·qx) with (qx, qy) = (x − CX − TX, y − CY − TY).
type Affine struct {
	A, B   float64 // cos θ/s and sin θ/s
	CX, CY float64 // the centre: (W−1)/2, (H−1)/2
	TX, TY float64 // the translation, whole pixels
}

// Transform is the transform of the example in place b of the batch at step.
func (p AugmentParams) Transform(step int64, b int) Affine {
	w := AugmentBlock(p.Seed, step, b)
	k := int64(p.Shift)
	span := uint64(2*k + 1)
	t := p.TanHalf * unitWord(w[2])
	s := 1 + float64(p.Scale*unitWord(w[3])) // no fused multiply-add (Source)
	tt := float64(t * t)
	d := 1 + tt
	c, sn := (1-tt)/d, 2*t/d
	return Affine{A: c / s, B: sn / s, CX: float64(p.W-1) / 2, CY: float64(p.H-1) / 2,
		TX: float64(int64((uint64(w[0])*span)>>32) - k), TY: float64(int64((uint64(w[1])*span)>>32) - k)}
}

// unitWord maps a Philox word to [−1, 1), exactly.
func unitWord(w uint32) float64 { return (float64(w) - (1 << 31)) / (1 << 31) }

// Source is where output pixel (x, y) samples the input.
func (a Affine) Source(x, y int) (sx, sy float64) {
	qx, qy := float64(x)-a.CX-a.TX, float64(y)-a.CY-a.TY
	// Each product converted on its own: Go may fuse a product into a sum (FMA, arm64), which
	// the CUDA kernel (__dmul_rn, __dadd_rn) and the reference do not.
	return a.CX + (float64(a.A*qx) + float64(a.B*qy)), a.CY + (float64(a.A*qy) - float64(a.B*qx))
}

// AugmentImage writes one example's image, transformed by a, into dst from src (both C·H·W
// values, channel by channel): the arithmetic of an Augment launch without elastic
// distortion for one example.
func AugmentImage[T float32 | float64](dst, src []T, c, h, w int, a Affine) {
	AugmentElastic(dst, src, c, h, w, a, nil)
}

// AugmentElastic is AugmentImage with the elastic field d (2·H·W: the pixels' x
// displacements, then their y ones, ElasticField; nil for none) added to every sample place:
// the arithmetic of an Augment launch for one example, which the CPU executor and the
// TapeMachine's op call.
func AugmentElastic[T float32 | float64](dst, src []T, c, h, w int, a Affine, d []float64) {
	if d == nil && a.A == 1 && a.B == 0 {
		// No turn, no scaling: every sample place is the pixel (x − TX, y − TY) itself, with
		// fractions 0, where Bilinear returns its first corner exactly.
		shiftImage(dst, src, c, h, w, int(a.TX), int(a.TY))
		return
	}
	hw := h * w
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := a.Source(x, y)
			if d != nil {
				sx, sy = sx+d[y*w+x], sy+d[hw+y*w+x]
			}
			x0, y0 := math.Floor(sx), math.Floor(sy)
			fx, fy := sx-x0, sy-y0
			ix, iy := clampIndex(x0, w), clampIndex(y0, h)
			if ix >= 0 && ix+1 < w && iy >= 0 && iy+1 < h { // all four corners inside
				at := iy*w + ix
				for ch := 0; ch < c; ch++ {
					img := src[ch*hw : (ch+1)*hw]
					v := [4]float64{float64(img[at]), float64(img[at+1]), float64(img[at+w]), float64(img[at+w+1])}
					dst[ch*hw+y*w+x] = T(Bilinear(v, fx, fy))
				}
				continue
			}
			in := [4]bool{inside(ix, w) && inside(iy, h), inside(ix+1, w) && inside(iy, h), inside(ix, w) && inside(iy+1, h), inside(ix+1, w) && inside(iy+1, h)}
			at := [4]int{iy*w + ix, iy*w + ix + 1, (iy+1)*w + ix, (iy+1)*w + ix + 1}
			for ch := 0; ch < c; ch++ {
				img := src[ch*hw : (ch+1)*hw]
				var v [4]float64
				for k := range v {
					if in[k] {
						v[k] = float64(img[at[k]])
					}
				}
				dst[ch*hw+y*w+x] = T(Bilinear(v, fx, fy))
			}
		}
	}
}

// shiftImage is dst[ch, y, x] = src[ch, y−ty, x−tx], 0 where that lies outside the image: a
// whole-pixel translation, the content moving by (tx, ty).
func shiftImage[T float32 | float64](dst, src []T, c, h, w, tx, ty int) {
	hw := h * w
	x0, x1 := max(0, tx), min(w, w+tx) // the output columns that read a column of the input
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			row := dst[ch*hw+y*w : ch*hw+(y+1)*w]
			sy := y - ty
			if sy < 0 || sy >= h || x0 >= x1 {
				clear(row)
				continue
			}
			clear(row[:x0])
			copy(row[x0:x1], src[ch*hw+sy*w+x0-tx:ch*hw+sy*w+x1-tx])
			clear(row[x1:])
		}
	}
}

// Bilinear blends the four corners v (x0y0, x1y0, x0y1, x1y1) at fractions fx, fy, in this
// order, as every executor does: (1−fy)·((1−fx)·v0 + fx·v1) + fy·((1−fx)·v2 + fx·v3).
func Bilinear(v [4]float64, fx, fy float64) float64 {
	top := float64((1-fx)*v[0]) + float64(fx*v[1]) // no fused multiply-add (Source)
	bottom := float64((1-fx)*v[2]) + float64(fx*v[3])
	return float64((1-fy)*top) + float64(fy*bottom)
}

// clampIndex is a floored coordinate as an int, kept within [−2, n+1] (a place that far out
// reads nothing either way), so that a huge coordinate does not overflow.
func clampIndex(f float64, n int) int {
	return int(max(-2, min(f, float64(n+1))))
}

func inside(i, n int) bool { return i >= 0 && i < n }

// AugmentTanHalf is the tanHalf of a largest rotation of deg degrees, in [0, 90].
func AugmentTanHalf(deg float64) float64 { return math.Tan(deg * math.Pi / 360) }

// MaxAugmentRotate bounds the rotation: tanHalf at most 1.
const MaxAugmentRotate = 90

// checkAugment checks an Augment launch's parameters.
func (p AugmentParams) check(op Op) error {
	switch {
	case p.Batch < 1 || p.Batch > 1<<32-1 || p.C < 1 || p.H < 1 || p.W < 1:
		return fmt.Errorf("%s: batch %d of %dx%dx%d images: want each from 1, at most 2^32−1 examples", op, p.Batch, p.C, p.H, p.W)
	case p.Shift < 0 || p.Shift > max(p.H, p.W):
		return fmt.Errorf("%s: shift %d: want 0 to the image's side, %d", op, p.Shift, max(p.H, p.W))
	case !(p.TanHalf >= 0 && p.TanHalf <= 1) || !(p.Scale >= 0 && p.Scale < 1):
		return fmt.Errorf("%s: tan(rotate/2) %v or scale %v: want the first in [0, 1], the second in [0, 1)", op, p.TanHalf, p.Scale)
	}
	return p.checkElastic(op)
}
