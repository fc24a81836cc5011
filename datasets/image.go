package datasets

// Preparing a user's picture of a handwritten digit the way the MNIST
// digits were prepared, so that a network trained on MNIST sees the same
// kind of input.
//
// A digit prepared this way is 28x28 pixels, stored row-major (index
// y*28+x) as float32 values in [0, 1] where 0 is background and 1 is ink,
// with the maximum exactly 1.

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // register GIF with image.Decode
	_ "image/jpeg" // register JPEG with image.Decode
	_ "image/png"  // register PNG with image.Decode
	"io"
	"math"
	"slices"
	"strings"

	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/internal/safefile"
)

// MaxDigitImageSide is the largest width or height, in pixels, that
// DigitFromImage and LoadDigit accept. Larger images are refused before
// they are decoded, to bound memory.
const MaxDigitImageSide = 10000

// MaxDigitFileBytes is the largest image file LoadDigit reads: a photo of a digit is a few
// megabytes.
const MaxDigitFileBytes = 64 << 20

// MaxDigitImagePixels is the largest number of pixels (width*height) that
// DigitFromImage and LoadDigit accept (50 megapixels, more than a phone
// photo). Larger images are refused before they are decoded.
const MaxDigitImagePixels = 50_000_000

// ErrNoDigit is returned (wrapped) by DigitFromImage and LoadDigit when the
// picture holds no ink: every pixel is within the blank-contrast limit of
// the background. Test for it with errors.Is.
var ErrNoDigit = errors.New("no digit found (blank image)")

const (
	digitSide = 28 // the MNIST field is 28x28
	digitBox  = 20 // the digit is scaled to fit a 20x20 box
	// digitMinContrast is the least difference, on a 0..1 scale, between
	// the brightest ink and the background for a picture to count as
	// holding a digit (about 26 of 255 grey levels).
	digitMinContrast = 0.1
	// digitNoiseFraction is the share of the ink's contrast that is
	// removed as background noise (soft threshold).
	digitNoiseFraction = 0.2
	// digitRamp is the text-art ramp from background to full ink.
	digitRamp = " .:-=+*#%@"
)

// DigitFromImage reads a picture of one handwritten digit (PNG, JPEG or GIF,
// any size up to MaxDigitImageSide per side, MaxDigitImagePixels in all and
// MaxDigitDecodeBytes to decode, all read from its header)
// and prepares it as the MNIST digits were prepared, giving the 28x28 input
// an MNIST network expects: 784 float32 values, row-major (index y*28+x),
// in [0, 1], where 1 is ink and 0 background.
//
// MNIST recipe (LeCun et al.): each NIST digit was size-normalised to fit a
// 20x20 pixel box while preserving its aspect ratio; the anti-aliasing of
// the normalisation gave grey levels; the result was then centred in a
// 28x28 field by placing its centre of mass at the centre of the field.
//
// The steps here:
//
//  1. Decode and convert to grayscale luma (Y = 0.299R + 0.587G + 0.114B),
//     compositing any transparency over white. If the border pixels are
//     mostly transparent (mean border opacity below 1/2), the picture is a
//     drawing on a transparent canvas and the ink is the opacity itself.
//  2. Invert when the background is light: the background level is the
//     median of the outermost ring of pixels (the border), and the picture
//     is inverted when that median grey is above 1/2, so ink is high.
//  3. Remove background noise: with bg the background's ink level (the
//     border median after step 2) and peak the brightest ink, a picture
//     whose contrast peak-bg is below 0.1 is blank; otherwise the level
//     bg + 0.2*(peak-bg) is subtracted from every pixel, clamping at 0.
//  4. Crop to the bounding box of the remaining ink (pixels above 0). A
//     picture with no ink is an error wrapping ErrNoDigit.
//  5. Scale so the longer side is 20 pixels, keeping the aspect ratio (the
//     shorter side is rounded, at least 1 pixel), with area-averaging (box
//     filter) resampling when shrinking and bilinear when enlarging, which
//     gives anti-aliased grey levels.
//  6. Paste into a 28x28 field, shifted by whole pixels so that the centre
//     of mass of the ink is as near as can be to the field's centre (14,14)
//     in pixel-edge coordinates (pixel x spans [x, x+1)), i.e. within half
//     a pixel; the shift is clamped so the digit stays inside the field.
//  7. Normalise so the maximum is exactly 1.
//
// Errors (all prefixed "datasets: digit image: ") name the cause: input
// that is not a PNG, JPEG or GIF image, a truncated or corrupt image, a
// zero-size image, an image over the size limits (checked with
// image.DecodeConfig before decoding), or a blank image. DigitFromImage
// does not panic on any input.
func DigitFromImage(r io.Reader) ([]float32, error) {
	px, err := digitFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("datasets: digit image: %w", err)
	}
	return px, nil
}

// LoadDigit reads the picture of a handwritten digit in the file at path and
// prepares it as DigitFromImage does, returning 784 float32 values in
// [0, 1], row-major 28x28, 1 = ink. Every error names the file:
// "datasets: read digit image PATH: ...".
func LoadDigit(path string) ([]float32, error) {
	fail := func(err error) ([]float32, error) {
		return nil, fmt.Errorf("datasets: read digit image %s: %w", path, err)
	}
	f, err := safefile.Open(path, MaxDigitFileBytes)
	if err != nil {
		var se *safefile.Error
		if errors.As(err, &se) {
			err = problem{se.Problem, se.Err} // the path is named once, above
		}
		return fail(err)
	}
	defer f.Close()
	px, err := digitFromReader(f)
	if err != nil {
		return fail(err)
	}
	return px, nil
}

// problem is an error's text without the file name, which the message names once.
type problem struct {
	text string
	err  error
}

func (p problem) Error() string { return p.text }
func (p problem) Unwrap() error { return p.err }

// DigitArt renders a prepared digit (28x28, row-major, values in [0, 1]) as
// 28 lines of 28 characters for the terminal, each line ending in a
// newline, using the ramp " .:-=+*#%@" from background (0) to full ink (1).
// Missing pixels (px shorter than 784) and NaN render as background; values
// outside [0, 1] are clamped; pixels past 784 are ignored.
func DigitArt(px []float32) string {
	var sb strings.Builder
	sb.Grow(digitSide * (digitSide + 1))
	top := float32(len(digitRamp) - 1)
	for y := 0; y < digitSide; y++ {
		for x := 0; x < digitSide; x++ {
			var v float32
			if i := y*digitSide + x; i < len(px) {
				v = px[i]
			}
			c := digitRamp[0]
			switch {
			case v >= 1:
				c = digitRamp[len(digitRamp)-1]
			case v > 0: // false for NaN
				c = digitRamp[int(v*top+0.5)]
			}
			sb.WriteByte(c)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

// digitErrReader remembers the first read error other than io.EOF, so that
// an I/O failure is reported as such and not as "unknown format".
type digitErrReader struct {
	r   io.Reader
	err error
}

func (d *digitErrReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF && d.err == nil {
		d.err = err
	}
	return n, err
}

// digitFromReader checks the image's size from its header, decodes it and
// prepares the digit. Its errors carry no prefix.
func digitFromReader(r io.Reader) ([]float32, error) { return pictureFromReader(r, digitRecipe) }

// recipe is how a picture is made a 28x28 input: MNIST's digits and Fashion-MNIST's
// clothes were prepared differently.
type recipe struct {
	box          int     // the longer side is scaled to box pixels
	noise        float32 // share of the contrast subtracted as background noise
	centreOfMass bool    // centre by the centre of mass (else by the bounding box)
	normalise    bool    // scale so the maximum is 1
}

var (
	digitRecipe = recipe{box: digitBox, noise: digitNoiseFraction, centreOfMass: true, normalise: true}
	// Fashion-MNIST (Zalando's README): trimmed to the object, the longer side resized to
	// 28, centred, negated, 8-bit grey; no threshold, no normalisation. A little of the
	// contrast (5%) is still taken as background so that a photo's paper is not an object.
	fashionRecipe = recipe{box: digitSide, noise: 0.05}
)

// FashionFromImage reads a picture of one piece of clothing (PNG, JPEG or GIF, the limits
// of DigitFromImage) and prepares it as Fashion-MNIST's pictures were: grey, inverted when
// its background is light, cropped to the object, its longer side scaled to 28 pixels
// keeping the aspect ratio, centred in the 28x28 field by its bounding box. It returns 784
// float32 values in [0, 1], row-major, 1 = dark on a light background.
func FashionFromImage(r io.Reader) ([]float32, error) {
	px, err := pictureFromReader(r, fashionRecipe)
	if err != nil {
		return nil, fmt.Errorf("datasets: fashion image: %w", err)
	}
	return px, nil
}

// LoadFashion reads the picture in the file at path and prepares it as FashionFromImage
// does. Every error names the file.
func LoadFashion(path string) ([]float32, error) {
	f, err := safefile.Open(path, MaxDigitFileBytes)
	if err != nil {
		var se *safefile.Error
		if errors.As(err, &se) {
			err = problem{se.Problem, se.Err}
		}
		return nil, fmt.Errorf("datasets: read fashion image %s: %w", path, err)
	}
	defer f.Close()
	px, err := pictureFromReader(f, fashionRecipe)
	if err != nil {
		return nil, fmt.Errorf("datasets: read fashion image %s: %w", path, err)
	}
	return px, nil
}

func pictureFromReader(r io.Reader, rc recipe) ([]float32, error) {
	img, err := decodePicture(r)
	if err != nil {
		return nil, err
	}
	return digitPrepare(img, rc)
}

// decodePicture decodes a PNG, JPEG or GIF picture, refusing one over the size limits from
// its header, before it is decoded.
func decodePicture(r io.Reader) (image.Image, error) {
	er := &digitErrReader{r: r}
	// Keep the bytes DecodeConfig consumes so that Decode can read them
	// again: only the header (plus read-ahead) is held, not the file.
	var head bytes.Buffer
	cfg, format, err := digitDecodeConfig(io.TeeReader(er, &head))
	if err != nil {
		return nil, decodeProblem(err, er.err, format)
	}
	if !slices.Contains(pictureFormats, format) {
		return nil, problem{fmt.Sprintf("a %s picture: graphtrain reads PNG, JPEG and GIF only; save it as PNG", strings.ToUpper(format)), image.ErrFormat}
	}
	if err := digitCheckSize(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	if need := decodeBytes(cfg, format, head.Bytes()); need > MaxDigitDecodeBytes {
		return nil, fmt.Errorf("%w (%dx%d): decoding it would take about %d MiB, more than the %d MiB allowed; scale it down (a few hundred pixels a side is plenty)",
			ErrImageTooLarge, cfg.Width, cfg.Height, need>>20, MaxDigitDecodeBytes>>20)
	}
	img, format, err := digitDecode(io.MultiReader(&head, er))
	if err != nil {
		return nil, decodeProblem(err, er.err, format)
	}
	b := img.Bounds()
	if err := digitCheckSize(b.Dx(), b.Dy()); err != nil {
		return nil, err
	}
	return img, nil
}

// pictureFormats are the formats pictures are read in (image.Decode's names): those README
// names. Another decoder registered by a dependency (TIFF) is not used.
var pictureFormats = []string{"png", "jpeg", "gif"}

// MaxDigitDecodeBytes bounds the memory that decoding and preparing a picture may take
// (decodeBytes): with the garbage collector's headroom and the rest of the program, a
// picture refused after decoding (a blank one) keeps the process under 200 MiB.
const MaxDigitDecodeBytes = 96 << 20

// ErrImageTooLarge is returned (wrapped) for a picture whose size, read from its header,
// is over the limits.
var ErrImageTooLarge = errors.New("image too large")

// decodeBytes estimates from a picture's header (cfg, and the bytes DecodeConfig read) the
// memory that decoding and preparing it takes: the decoded image (by its colour model), what
// its decoder holds beside it (a progressive JPEG keeps every coefficient, 4 bytes a sample;
// an interlaced PNG decodes each pass into an image of its own), and the float32 ink map.
func decodeBytes(cfg image.Config, format string, head []byte) int64 {
	bpp, samples := int64(8), int64(4) // bytes a pixel decoded; samples a pixel
	switch cfg.ColorModel {
	case color.GrayModel:
		bpp, samples = 1, 1
	case color.Gray16Model:
		bpp, samples = 2, 1
	case color.YCbCrModel:
		bpp, samples = 3, 3
	case color.RGBAModel, color.NRGBAModel:
		bpp = 4
	case color.CMYKModel:
		bpp = 8 // the decoder's YCbCr and black planes, then the CMYK image
	}
	if _, ok := cfg.ColorModel.(color.Palette); ok {
		bpp, samples = 4, 1 // a GIF's frames are composed
	}
	extra := int64(0)
	switch {
	case format == "jpeg" && bytes.Contains(head, []byte{0xff, 0xc2}): // SOF2: progressive
		extra = 4 * samples
	case format == "png" && len(head) > 28 && head[28] == 1: // IHDR's interlace method: Adam7
		extra = bpp
	}
	return int64(cfg.Width) * int64(cfg.Height) * (bpp + extra + 4)
}

// decodeProblem is a decoder's error (or, when readErr is set, the read's) as one line a
// person can act on, without the decoder's own wording of where it failed.
func decodeProblem(err, readErr error, format string) error {
	name := strings.ToUpper(format)
	switch {
	case readErr != nil:
		return problem{"cannot be read (" + atomicfile.Reason(readErr) + ")", readErr}
	case errors.Is(err, image.ErrFormat):
		return problem{"not a PNG, JPEG or GIF image; give a picture in one of those formats", err}
	case endsEarly(err):
		return problem{fmt.Sprintf("the %s picture ends early (cut short?); save it again, or take the original", name), err}
	}
	why := err.Error()
	for _, p := range []string{format + ": ", "invalid format: ", "unsupported feature: ", "unsupported JPEG feature: "} {
		why = strings.TrimPrefix(why, p)
	}
	for _, p := range []string{"zlib: ", "flate: "} { // the PNG's compressed pixel data
		if strings.HasPrefix(why, p) {
			why = "its compressed pixel data is damaged"
		}
	}
	if len(why) > 80 {
		why = why[:80] + "..."
	}
	return problem{fmt.Sprintf("a damaged or unusual %s picture (%s); save it again as PNG", name, why), err}
}

// endsEarly reports whether a decoder's error says that its input ended too soon.
func endsEarly(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	for _, s := range []string{"unexpected EOF", "not enough pixel data", "short Huffman data"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// digitDecodeConfig is image.DecodeConfig, with a panic in a decoder turned
// into an error.
func digitDecodeConfig(r io.Reader) (cfg image.Config, format string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("image decoder panicked: %v", p)
		}
	}()
	return image.DecodeConfig(r)
}

// digitDecode is image.Decode, with a panic in a decoder turned into an
// error.
func digitDecode(r io.Reader) (img image.Image, format string, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("image decoder panicked: %v", p)
		}
	}()
	return image.Decode(r)
}

// digitCheckSize refuses zero-size images and images over the limits.
func digitCheckSize(w, h int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("zero-size image (%dx%d)", w, h)
	}
	if w > MaxDigitImageSide || h > MaxDigitImageSide || int64(w)*int64(h) > MaxDigitImagePixels {
		return fmt.Errorf("%w (%dx%d; the limit is %d pixels a side and %d in all)",
			ErrImageTooLarge, w, h, MaxDigitImageSide, MaxDigitImagePixels)
	}
	return nil
}

// digitPixelFunc returns a function giving the luma of the pixel at (x, y)
// premultiplied by its opacity (that is, composited over black) and the
// opacity, both in [0, 1]. The common decoded types are read directly.
func digitPixelFunc(img image.Image) func(x, y int) (lum, alpha float32) {
	const (
		kr, kg, kb = 0.299, 0.587, 0.114
	)
	switch m := img.(type) {
	case *image.Gray:
		return func(x, y int) (float32, float32) {
			return float32(m.Pix[m.PixOffset(x, y)]) / 255, 1
		}
	case *image.Gray16:
		return func(x, y int) (float32, float32) {
			i := m.PixOffset(x, y)
			return float32(uint16(m.Pix[i])<<8|uint16(m.Pix[i+1])) / 65535, 1
		}
	case *image.YCbCr:
		// JPEG's Y is full-range Rec. 601 luma, the same weights as above.
		return func(x, y int) (float32, float32) {
			return float32(m.Y[m.YOffset(x, y)]) / 255, 1
		}
	case *image.RGBA:
		return func(x, y int) (float32, float32) {
			p := m.Pix[m.PixOffset(x, y):]
			lum := (kr*float32(p[0]) + kg*float32(p[1]) + kb*float32(p[2])) / 255
			return lum, float32(p[3]) / 255
		}
	case *image.NRGBA:
		return func(x, y int) (float32, float32) {
			p := m.Pix[m.PixOffset(x, y):]
			a := float32(p[3]) / 255
			lum := (kr*float32(p[0]) + kg*float32(p[1]) + kb*float32(p[2])) / 255
			return lum * a, a
		}
	case *image.Paletted:
		var lums, alphas [256]float32
		for i := range lums {
			lums[i], alphas[i] = 0, 1 // missing entries: opaque black
			if i < len(m.Palette) && m.Palette[i] != nil {
				lums[i], alphas[i] = digitColor(m.Palette[i])
			}
		}
		return func(x, y int) (float32, float32) {
			c := m.Pix[m.PixOffset(x, y)]
			return lums[c], alphas[c]
		}
	}
	return func(x, y int) (float32, float32) {
		c := img.At(x, y)
		if c == nil {
			return 0, 0
		}
		return digitColor(c)
	}
}

// digitColor gives the premultiplied luma and the opacity of c.
func digitColor(c color.Color) (lum, alpha float32) {
	r, g, b, a := c.RGBA()
	lum = (0.299*float32(r) + 0.587*float32(g) + 0.114*float32(b)) / 65535
	return min(lum, 1), float32(a) / 65535
}

// digitMedian returns the median of v, reordering v.
func digitMedian(v []float32) float32 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// digitPrepare runs steps 1 to 7 of DigitFromImage on a decoded image of
// non-zero size, following the recipe rc. It returns the 28x28 field,
// row-major, in [0, 1].
func digitPrepare(img image.Image, rc recipe) ([]float32, error) {
	// Steps 1 and 2: the ink, its background level and its peak.
	ink, bg, peak := digitInk(img)
	// Step 3: blank test and soft threshold at bg + 20% of the contrast.
	if peak-bg < digitMinContrast {
		return nil, ErrNoDigit
	}
	w := img.Bounds().Dx()
	crop, ok := digitThreshold(ink, w, bg+rc.noise*(peak-bg))
	// Step 4: crop to the ink's bounding box.
	if !ok {
		return nil, ErrNoDigit
	}
	// Step 5: the longer side becomes rc.box pixels (20 for a digit, 28 for clothes).
	small, nw, nh := digitScale(ink, w, crop, rc.box)
	// Step 6: into the 28x28 field.
	out, top, err := digitPlace(small, nw, nh, rc.centreOfMass)
	if err != nil {
		return nil, err
	}
	// Step 7: the maximum becomes 1.
	if !(top > 0) {
		return nil, ErrNoDigit
	}
	if !rc.normalise {
		top = 1
	}
	for i, v := range out {
		out[i] = min(max(v/top, 0), 1)
	}
	return out, nil
}

// inkSample is a pixel's luma premultiplied by its opacity, and the opacity
// (digitPixelFunc).
type inkSample struct{ lum, alpha float32 }

// inkRule says how a pixel becomes ink, 0 background to 1 full ink: its
// opacity (useAlpha: a drawing on a transparent canvas), else its grey
// level, inverted when the background is light.
type inkRule struct{ useAlpha, invert bool }

// ink is the ink level of s.
func (r inkRule) ink(s inkSample) float32 {
	switch {
	case r.useAlpha:
		return s.alpha
	case r.invert:
		return 1 - digitGrey(s)
	}
	return digitGrey(s)
}

// digitGrey is the grey level of s composited over white: a transparent
// pixel is background paper.
func digitGrey(s inkSample) float32 { return min(max(s.lum+1-s.alpha, 0), 1) }

// digitInk runs steps 1 and 2 of DigitFromImage: the border decides between
// grey levels and opacity, and whether to invert. It returns the ink of
// every pixel of img (row-major, Dx columns a row), the background's ink
// level (the border's median) and the highest ink level.
func digitInk(img image.Image) (ink []float32, bg, peak float32) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	pix := digitPixelFunc(img)
	border := digitBorder(pix, b)
	rule := digitInkRule(border)
	bv := make([]float32, len(border))
	for i, s := range border {
		bv[i] = rule.ink(s)
	}
	bg = digitMedian(bv)

	ink = make([]float32, w*h)
	for y := 0; y < h; y++ {
		row := ink[y*w : (y+1)*w]
		for x := range row {
			l, a := pix(b.Min.X+x, b.Min.Y+y)
			v := rule.ink(inkSample{l, a})
			row[x] = v
			peak = max(peak, v)
		}
	}
	return ink, bg, peak
}

// digitBorder samples the outermost ring of pixels of the image pix reads
// within b: the top and bottom rows, then the left and right columns (every
// pixel of an image 2 pixels or less across).
func digitBorder(pix func(x, y int) (lum, alpha float32), b image.Rectangle) []inkSample {
	w, h := b.Dx(), b.Dy()
	var border []inkSample
	at := func(x, y int) {
		l, a := pix(b.Min.X+x, b.Min.Y+y)
		border = append(border, inkSample{l, a})
	}
	if w <= 2 || h <= 2 {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				at(x, y)
			}
		}
		return border
	}
	border = make([]inkSample, 0, 2*(w+h)-4)
	for x := 0; x < w; x++ {
		at(x, 0)
		at(x, h-1)
	}
	for y := 1; y < h-1; y++ {
		at(0, y)
		at(w-1, y)
	}
	return border
}

// digitInkRule decides from the border how pixels become ink: their opacity
// when the border is mostly transparent (mean opacity below 1/2), else their
// grey level, inverted when the border's median grey is light (above 1/2).
func digitInkRule(border []inkSample) inkRule {
	var alphaSum float64
	for _, s := range border {
		alphaSum += float64(s.alpha)
	}
	if alphaSum < 0.5*float64(len(border)) {
		return inkRule{useAlpha: true}
	}
	v := make([]float32, len(border))
	for i, s := range border {
		v[i] = digitGrey(s)
	}
	return inkRule{invert: digitMedian(v) > 0.5}
}

// digitThreshold subtracts level from every pixel of ink (w columns a row),
// clamping at 0 (step 3), and returns the bounding box of the pixels left
// above 0 (step 4); ok is false when there are none.
func digitThreshold(ink []float32, w int, level float32) (crop image.Rectangle, ok bool) {
	h := len(ink) / w
	x0, y0, x1, y1 := w, h, -1, -1
	for y := 0; y < h; y++ {
		row := ink[y*w : (y+1)*w]
		for x, v := range row {
			v -= level
			if v <= 0 {
				row[x] = 0
				continue
			}
			row[x] = v
			x0, x1 = min(x0, x), max(x1, x)
			y0, y1 = min(y0, y), max(y1, y)
		}
	}
	if x1 < 0 {
		return image.Rectangle{}, false
	}
	return image.Rect(x0, y0, x1+1, y1+1), true
}

// digitScale scales the crop of ink (w columns a row) so that its longer
// side is box pixels, keeping the aspect ratio (step 5): columns first, then
// rows, with digitTaps. It returns nh rows of nw columns.
func digitScale(ink []float32, w int, crop image.Rectangle, box int) (small []float32, nw, nh int) {
	x0, y0, cw, ch := crop.Min.X, crop.Min.Y, crop.Dx(), crop.Dy()
	nw, nh = box, box
	if ch >= cw {
		nw = min(max(int(math.Round(float64(cw)*float64(box)/float64(ch))), 1), box)
	} else {
		nh = min(max(int(math.Round(float64(ch)*float64(box)/float64(cw))), 1), box)
	}
	tmp := make([]float32, ch*nw) // ch rows of nw columns
	xt := digitTaps(cw, nw)
	for y := 0; y < ch; y++ {
		src := ink[(y0+y)*w+x0 : (y0+y)*w+x0+cw]
		dst := tmp[y*nw : (y+1)*nw]
		for o, taps := range xt {
			var s float32
			for _, t := range taps {
				s += src[t.i] * t.w
			}
			dst[o] = s
		}
	}
	small = make([]float32, nh*nw)
	for o, taps := range digitTaps(ch, nh) {
		dst := small[o*nw : (o+1)*nw]
		for _, t := range taps {
			src := tmp[t.i*nw : (t.i+1)*nw]
			for x := range dst {
				dst[x] += src[x] * t.w
			}
		}
	}
	return small, nw, nh
}

// digitPlace pastes small (nh rows of nw columns) into the 28x28 field
// (step 6): its centre of mass (pixel centres at x+0.5) onto (14, 14) as
// near as whole pixels allow, kept inside the field, or with centreOfMass
// false centred by its bounding box. It returns the field and the highest
// value of small; ErrNoDigit when small holds no ink.
func digitPlace(small []float32, nw, nh int, centreOfMass bool) (out []float32, top float32, err error) {
	var sum, sx, sy float64
	for y := 0; y < nh; y++ {
		for x, v := range small[y*nw : (y+1)*nw] {
			sum += float64(v)
			sx += float64(v) * (float64(x) + 0.5)
			sy += float64(v) * (float64(y) + 0.5)
		}
	}
	if !(sum > 0) {
		return nil, 0, ErrNoDigit
	}
	const centre = digitSide / 2
	ox := min(max(int(math.Round(centre-sx/sum)), 0), digitSide-nw)
	oy := min(max(int(math.Round(centre-sy/sum)), 0), digitSide-nh)
	if !centreOfMass {
		ox, oy = (digitSide-nw)/2, (digitSide-nh)/2
	}
	out = make([]float32, digitSide*digitSide)
	for y := 0; y < nh; y++ {
		copy(out[(oy+y)*digitSide+ox:], small[y*nw:(y+1)*nw])
		for _, v := range small[y*nw : (y+1)*nw] {
			top = max(top, v)
		}
	}
	return out, top, nil
}

// digitTap is one source pixel's weight in an output pixel.
type digitTap struct {
	i int
	w float32
}

// digitTaps gives, for each of out output pixels along an axis of in source
// pixels, the source pixels and weights: area averaging (a box filter over
// the exact fractional footprint) when shrinking, bilinear interpolation
// (pixel centres aligned, edges clamped) when enlarging or keeping the size.
func digitTaps(in, out int) [][]digitTap {
	taps := make([][]digitTap, out)
	scale := float64(in) / float64(out)
	for o := range taps {
		if out < in {
			lo, hi := float64(o)*scale, float64(o+1)*scale
			for j := int(lo); j < in && float64(j) < hi; j++ {
				ov := math.Min(hi, float64(j+1)) - math.Max(lo, float64(j))
				if ov > 0 {
					taps[o] = append(taps[o], digitTap{j, float32(ov / scale)})
				}
			}
			continue
		}
		x := (float64(o)+0.5)*scale - 0.5
		x = math.Min(math.Max(x, 0), float64(in-1))
		j0 := int(x)
		f := x - float64(j0)
		j1 := min(j0+1, in-1)
		taps[o] = []digitTap{{j0, float32(1 - f)}, {j1, float32(f)}}
	}
	return taps
}
