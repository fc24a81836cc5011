package datasets

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/tiff"
)

// digitTestGray returns a w x h grey canvas filled with bg.
func digitTestGray(w, h int, bg uint8) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	digitTestFill(m, m.Bounds(), color.Gray{bg})
	return m
}

// digitTestFill paints r in c.
func digitTestFill(m draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(m, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// digitTestBar is a "1": a 40x220 bar of ink on a 300x300 background.
func digitTestBar(bg, ink uint8) *image.Gray {
	m := digitTestGray(300, 300, bg)
	digitTestFill(m, image.Rect(130, 40, 170, 260), color.Gray{ink})
	return m
}

// digitTestSeven is a lopsided "7" (a top bar and a stepped diagonal), whose
// centre of mass is not the centre of its bounding box.
func digitTestSeven() *image.Gray {
	m := digitTestGray(200, 240, 255)
	digitTestFill(m, image.Rect(40, 30, 160, 55), color.Gray{0})
	for y := 55; y < 210; y++ {
		x := 160 - (y-55)*80/155
		digitTestFill(m, image.Rect(x-24, y, x, y+1), color.Gray{0})
	}
	return m
}

func digitTestPNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func digitTestJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func digitTestGIF(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// digitTestPNGHeader is the start of a PNG claiming w x h pixels: the
// signature and a valid IHDR chunk, and nothing else.
func digitTestPNGHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit greyscale
	b = binary.BigEndian.AppendUint32(b, uint32(len(ihdr)-4))
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

// digitStats describes a prepared digit.
type digitStats struct {
	rows, cols int     // extent of the ink (values > 0)
	cx, cy     float64 // centre of mass, pixel x spanning [x, x+1)
	greys      int     // values strictly between 0 and 1
}

// digitTestCheck asserts the output format (784 values in [0, 1], maximum
// exactly 1) and returns the digit's figures.
func digitTestCheck(t testing.TB, px []float32) digitStats {
	t.Helper()
	if len(px) != 784 {
		t.Fatalf("len = %d, want 784", len(px))
	}
	var top float32
	var s digitStats
	var sum float64
	x0, y0, x1, y1 := 28, 28, -1, -1
	for i, v := range px {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("px[%d] = %v, outside [0,1]", i, v)
		}
		top = max(top, v)
		if v > 0 && v < 1 {
			s.greys++
		}
		if v > 0 {
			x, y := i%28, i/28
			x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
			sum += float64(v)
			s.cx += float64(v) * (float64(x) + 0.5)
			s.cy += float64(v) * (float64(y) + 0.5)
		}
	}
	if top != 1 {
		t.Fatalf("max = %v, want 1", top)
	}
	s.rows, s.cols = y1-y0+1, x1-x0+1
	s.cx /= sum
	s.cy /= sum
	return s
}

func TestDigitFromImage(t *testing.T) {
	// A 3-wide, 5-tall picture: a one-pixel black column on white.
	tiny := digitTestGray(3, 5, 255)
	digitTestFill(tiny, image.Rect(1, 0, 2, 5), color.Gray{0})

	corner := digitTestGray(300, 300, 255) // ink touching the top-left border
	digitTestFill(corner, image.Rect(0, 0, 30, 150), color.Gray{0})

	horizontal := digitTestGray(300, 300, 255)
	digitTestFill(horizontal, image.Rect(40, 140, 260, 160), color.Gray{0})

	canvas := image.NewNRGBA(image.Rect(0, 0, 200, 200)) // transparent
	digitTestFill(canvas, image.Rect(90, 20, 110, 180), color.NRGBA{0, 0, 0, 255})

	rng := rand.New(rand.NewPCG(1, 2))
	paper := digitTestGray(240, 320, 0) // grey paper, sensor noise, pencil
	for i := range paper.Pix {
		paper.Pix[i] = uint8(200 + rng.IntN(25) - 12)
	}
	digitTestFill(paper, image.Rect(100, 50, 130, 280), color.Gray{60})

	colour := image.NewRGBA(image.Rect(0, 0, 120, 90)) // blue ink on yellow
	digitTestFill(colour, colour.Bounds(), color.RGBA{255, 230, 0, 255})
	digitTestFill(colour, image.Rect(50, 10, 62, 80), color.RGBA{0, 0, 200, 255})

	deep := image.NewGray16(image.Rect(0, 0, 64, 64))
	digitTestFill(deep, deep.Bounds(), color.Gray16{0xffff})
	digitTestFill(deep, image.Rect(28, 8, 36, 56), color.Gray16{0x0800})

	tests := []struct {
		name       string
		data       []byte
		rows, cols int // 0: not checked
	}{
		{"black bar on white (inverted)", digitTestPNG(t, digitTestBar(255, 0)), 20, 4},
		{"white bar on black", digitTestPNG(t, digitTestBar(0, 255)), 20, 4},
		{"jpeg", digitTestJPEG(t, digitTestBar(255, 0)), 20, 0},
		{"gif", digitTestGIF(t, digitTestBar(255, 0)), 20, 4},
		{"tiny 3x5 upscaled", digitTestPNG(t, tiny), 20, 4},
		{"ink touching the border", digitTestPNG(t, corner), 20, 4},
		{"wide digit", digitTestPNG(t, horizontal), 2, 20},
		{"lopsided seven", digitTestPNG(t, digitTestSeven()), 20, 0},
		{"transparent canvas", digitTestPNG(t, canvas), 20, 3},
		{"noisy grey paper", digitTestPNG(t, paper), 20, 3},
		{"colour", digitTestPNG(t, colour), 20, 3},
		{"16-bit grey", digitTestPNG(t, deep), 20, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			px, err := DigitFromImage(bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			s := digitTestCheck(t, px)
			if s.rows > 20 || s.cols > 20 {
				t.Errorf("ink spans %dx%d, want within 20x20", s.cols, s.rows)
			}
			if tt.rows != 0 && s.rows != tt.rows {
				t.Errorf("rows = %d, want %d", s.rows, tt.rows)
			}
			if tt.cols != 0 && s.cols != tt.cols {
				t.Errorf("cols = %d, want %d", s.cols, tt.cols)
			}
			if math.Abs(s.cx-14) > 0.5+1e-9 || math.Abs(s.cy-14) > 0.5+1e-9 {
				t.Errorf("centre of mass (%.3f, %.3f), want within 0.5 of (14, 14)", s.cx, s.cy)
			}
			if t.Failed() {
				t.Logf("\n%s", DigitArt(px))
			}
		})
	}
}

// A light digit on dark and a dark digit on light give the same result.
func TestDigitFromImageInversion(t *testing.T) {
	dark, err := DigitFromImage(bytes.NewReader(digitTestPNG(t, digitTestBar(255, 0))))
	if err != nil {
		t.Fatal(err)
	}
	light, err := DigitFromImage(bytes.NewReader(digitTestPNG(t, digitTestBar(0, 255))))
	if err != nil {
		t.Fatal(err)
	}
	for i := range dark {
		if math.Abs(float64(dark[i]-light[i])) > 1e-6 {
			t.Fatalf("px[%d]: black-on-white %v, white-on-black %v", i, dark[i], light[i])
		}
	}
	// The bar is 20 rows, rows 4..23, in the middle columns.
	for y := 0; y < 28; y++ {
		want := y >= 4 && y < 24
		if got := dark[y*28+14] > 0; got != want {
			t.Errorf("row %d at column 14: ink %v, want %v", y, got, want)
		}
	}
}

// A diagonal stroke shrunk by area averaging has anti-aliased grey levels.
func TestDigitFromImageAntiAliased(t *testing.T) {
	px, err := DigitFromImage(bytes.NewReader(digitTestPNG(t, digitTestSeven())))
	if err != nil {
		t.Fatal(err)
	}
	if s := digitTestCheck(t, px); s.greys < 10 {
		t.Errorf("%d grey levels between 0 and 1, want anti-aliasing\n%s", s.greys, DigitArt(px))
	}
}

type digitFailingReader struct{}

func (digitFailingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestDigitFromImageErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	faint := digitTestGray(100, 100, 0) // noise well under the contrast limit
	for i := range faint.Pix {
		faint.Pix[i] = uint8(128 + rng.IntN(11) - 5)
	}
	bar := digitTestPNG(t, digitTestBar(255, 0))
	barJPEG := digitTestJPEG(t, digitTestBar(255, 0))
	// A GIF whose logical screen is 0x0.
	zeroGIF := []byte("GIF89a\x00\x00\x00\x00\x00\x00\x00\x3b")

	tests := []struct {
		name string
		r    io.Reader
		is   error
		want string
	}{
		{"blank white", bytes.NewReader(digitTestPNG(t, digitTestGray(100, 100, 255))), ErrNoDigit,
			"datasets: digit image: no digit found (blank image)"},
		{"blank black", bytes.NewReader(digitTestPNG(t, digitTestGray(100, 100, 0))), ErrNoDigit, "no digit found"},
		{"faint noise", bytes.NewReader(digitTestPNG(t, faint)), ErrNoDigit, "no digit found"},
		{"transparent", bytes.NewReader(digitTestPNG(t, image.NewNRGBA(image.Rect(0, 0, 9, 9)))), ErrNoDigit, "no digit found"},
		{"1x1", bytes.NewReader(digitTestPNG(t, digitTestGray(1, 1, 0))), ErrNoDigit, "no digit found"},
		{"not an image", strings.NewReader("hello, world\n"), image.ErrFormat,
			"datasets: digit image: not a PNG, JPEG or GIF image"},
		{"empty", strings.NewReader(""), image.ErrFormat, "not a PNG, JPEG or GIF image"},
		{"truncated png", bytes.NewReader(bar[:len(bar)/2]), nil, "datasets: digit image: the PNG picture ends early (cut short?); save it again"},
		{"truncated png header", bytes.NewReader(bar[:20]), nil, "the PNG picture ends early"},
		{"truncated jpeg", bytes.NewReader(barJPEG[:len(barJPEG)/2]), nil, "the JPEG picture ends early"},
		{"zero-size gif", bytes.NewReader(zeroGIF), nil, "zero-size image (0x0)"},
		{"too wide", bytes.NewReader(digitTestPNGHeader(20000, 10)), nil, "image too large (20000x10;"},
		{"too many pixels", bytes.NewReader(digitTestPNGHeader(9000, 9000)), nil, "image too large (9000x9000;"},
		{"read error", digitFailingReader{}, nil, "datasets: digit image: cannot be read (disk on fire)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			px, err := DigitFromImage(tt.r)
			if err == nil {
				t.Fatalf("no error; got\n%s", DigitArt(px))
			}
			if px != nil {
				t.Errorf("got %d pixels with the error", len(px))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

func TestLoadDigit(t *testing.T) {
	for _, name := range []string{"seven.png", "four_dark.png"} {
		t.Run(name, func(t *testing.T) {
			px, err := LoadDigit(filepath.Join("testdata", "images", name))
			if err != nil {
				t.Fatal(err)
			}
			s := digitTestCheck(t, px)
			if max(s.rows, s.cols) != 20 {
				t.Errorf("ink spans %dx%d, want the longer side 20", s.cols, s.rows)
			}
			if math.Abs(s.cx-14) > 0.5+1e-9 || math.Abs(s.cy-14) > 0.5+1e-9 {
				t.Errorf("centre of mass (%.3f, %.3f), want within 0.5 of (14, 14)", s.cx, s.cy)
			}
			t.Logf("%s:\n%s", name, DigitArt(px))
		})
	}
}

func TestLoadDigitErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := write("notes.txt", []byte("not a picture"))
	blank := write("blank.png", digitTestPNG(t, digitTestGray(50, 50, 255)))
	bar := digitTestPNG(t, digitTestBar(255, 0))
	truncated := write("truncated.png", bar[:len(bar)/3])
	missing := filepath.Join(dir, "missing.png")

	tests := []struct {
		name, path string
		is         error
		want       string
	}{
		{"not an image", text, image.ErrFormat, "datasets: read digit image " + text + ": not a PNG, JPEG or GIF image"},
		{"blank", blank, ErrNoDigit, "datasets: read digit image " + blank + ": no digit found (blank image)"},
		{"truncated", truncated, nil, "datasets: read digit image " + truncated + ": the PNG picture ends early"},
		{"missing", missing, fs.ErrNotExist, "datasets: read digit image " + missing + ": does not exist"},
		{"directory", dir, nil, "datasets: read digit image " + dir + ": is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			px, err := LoadDigit(tt.path)
			if err == nil {
				t.Fatalf("no error; got %d pixels", len(px))
			}
			if px != nil {
				t.Errorf("got %d pixels with the error", len(px))
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

func TestDigitArt(t *testing.T) {
	full := make([]float32, 784)
	for i := range full {
		full[i] = 1
	}
	ramp := make([]float32, 784)
	for i := range ramp {
		ramp[i] = float32(i%28) / 27
	}
	odd := make([]float32, 784)
	odd[0], odd[1], odd[2] = float32(math.NaN()), -3, 7
	digit, err := DigitFromImage(bytes.NewReader(digitTestPNG(t, digitTestSeven())))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		px        []float32
		firstLine string // "": not checked
	}{
		{"blank", make([]float32, 784), strings.Repeat(" ", 28)},
		{"full", full, strings.Repeat("@", 28)},
		{"ramp", ramp, ""},
		{"nil", nil, strings.Repeat(" ", 28)},
		{"short", full[:10], strings.Repeat("@", 10) + strings.Repeat(" ", 18)},
		{"long", append(append([]float32{}, full...), 0, 0), strings.Repeat("@", 28)},
		{"NaN, negative, over 1", odd, "  @" + strings.Repeat(" ", 25)},
		{"digit", digit, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			art := DigitArt(tt.px)
			if !strings.HasSuffix(art, "\n") {
				t.Fatalf("art does not end in a newline: %q", art)
			}
			lines := strings.Split(strings.TrimSuffix(art, "\n"), "\n")
			if len(lines) != 28 {
				t.Fatalf("%d lines, want 28", len(lines))
			}
			for i, l := range lines {
				if len(l) != 28 {
					t.Errorf("line %d has %d characters, want 28: %q", i, len(l), l)
				}
				if strings.Trim(l, digitRamp) != "" {
					t.Errorf("line %d has characters outside the ramp: %q", i, l)
				}
			}
			if tt.firstLine != "" && lines[0] != tt.firstLine {
				t.Errorf("first line %q, want %q", lines[0], tt.firstLine)
			}
		})
	}
	if got := DigitArt(ramp)[:28]; got[0] != ' ' || got[27] != '@' || !strings.Contains(got, "+") {
		t.Errorf("ramp renders as %q, want ' ' rising to '@'", got)
	}
}

// The resampling weights of each output pixel sum to 1, and area averaging
// gives every source pixel the same total weight.
func TestDigitTaps(t *testing.T) {
	for _, c := range [][2]int{{300, 20}, {220, 20}, {21, 20}, {7, 3}, {1, 1}, {5, 20}, {3, 4}, {1, 20}, {20, 20}, {9999, 1}} {
		in, out := c[0], c[1]
		taps := digitTaps(in, out)
		if len(taps) != out {
			t.Fatalf("digitTaps(%d, %d): %d outputs", in, out, len(taps))
		}
		perSource := make([]float64, in)
		for o, ts := range taps {
			var sum float64
			for _, tp := range ts {
				if tp.i < 0 || tp.i >= in || tp.w < 0 {
					t.Fatalf("digitTaps(%d, %d)[%d]: bad tap %+v", in, out, o, tp)
				}
				sum += float64(tp.w)
				perSource[tp.i] += float64(tp.w)
			}
			if math.Abs(sum-1) > 1e-5 {
				t.Errorf("digitTaps(%d, %d)[%d]: weights sum to %v", in, out, o, sum)
			}
		}
		if out < in {
			for j, w := range perSource {
				if want := float64(out) / float64(in); math.Abs(w-want) > 1e-5 {
					t.Errorf("digitTaps(%d, %d): source %d weighs %v in all, want %v", in, out, j, w, want)
				}
			}
		}
	}
}

func FuzzDigitFromImage(f *testing.F) {
	small := digitTestGray(12, 16, 255)
	digitTestFill(small, image.Rect(5, 2, 8, 14), color.Gray{0})
	f.Add(digitTestPNG(f, small))
	f.Add(digitTestJPEG(f, small))
	f.Add(digitTestGIF(f, small))
	canvas := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	digitTestFill(canvas, image.Rect(3, 1, 5, 7), color.NRGBA{200, 0, 0, 255})
	f.Add(digitTestPNG(f, canvas))
	for _, name := range []string{"seven.png", "four_dark.png"} {
		b, err := os.ReadFile(filepath.Join("testdata", "images", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("GIF89a\x00\x00\x00\x00\x00\x00\x00\x3b"))
	f.Add([]byte("not an image"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Images up to the product's limits (50 million pixels) are legal but take seconds
		// each, twice over with the Fashion recipe: the fuzzer keeps to smaller ones, and
		// TestDigitFromImageErrors covers the limits.
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil && int64(cfg.Width)*int64(cfg.Height) > 1<<22 {
			t.Skip("over 4 million pixels")
		}
		px, err := DigitFromImage(bytes.NewReader(data))
		if err != nil {
			if px != nil {
				t.Fatalf("error %v with %d pixels", err, len(px))
			}
			if !strings.HasPrefix(err.Error(), "datasets: digit image: ") {
				t.Fatalf("error %q lacks the prefix", err)
			}
			return
		}
		digitTestCheck(t, px)
		// The Fashion-MNIST recipe reads the same images: 784 values in [0, 1], no panic.
		fx, err := FashionFromImage(bytes.NewReader(data))
		if err != nil || len(fx) != 784 {
			t.Fatalf("FashionFromImage of an image DigitFromImage reads: %d pixels, %v", len(fx), err)
		}
		for i, v := range fx {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("fashion px[%d] = %v, outside [0,1]", i, v)
			}
		}
	})
}

// pngHeaderOf is the start of a PNG (signature and IHDR) of the given geometry.
func pngHeaderOf(w, h uint32, depth, colorType, interlace byte) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, depth, colorType, 0, 0, interlace)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ihdr)-4))
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

// TestPictureMemoryFromHeader checks that a picture's memory is estimated from its header,
// before decoding: by its colour model, a progressive JPEG's coefficients and an interlaced
// PNG's passes; one over MaxDigitDecodeBytes is refused with ErrImageTooLarge, and a TIFF
// (whose decoder a dependency registers) is refused as README names PNG, JPEG and GIF only.
func TestPictureMemoryFromHeader(t *testing.T) {
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 4000, 4000)), nil); err != nil {
		t.Fatal(err)
	}
	progressive := bytes.Replace(jpg.Bytes(), []byte{0xff, 0xc0}, []byte{0xff, 0xc2}, 1)
	var tif bytes.Buffer
	if err := tiff.Encode(&tif, digitTestBar(255, 0), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      []byte
		refused bool
	}{
		{"16-bit RGBA PNG 3000x3000", pngHeaderOf(3000, 3000, 16, 6, 0), true},
		{"8-bit RGBA PNG 3000x3000", pngHeaderOf(3000, 3000, 8, 6, 0), false},
		{"8-bit RGBA PNG 3000x3000, interlaced", pngHeaderOf(3000, 3000, 8, 6, 1), true},
		{"8-bit grey PNG 4000x4000", pngHeaderOf(4000, 4000, 8, 0, 0), false},
		{"16-bit grey PNG 7000x7000", pngHeaderOf(7000, 7000, 16, 0, 0), true},
		{"baseline grey JPEG 4000x4000", jpg.Bytes(), false},
		{"progressive grey JPEG 4000x4000", progressive, true},
	}
	for _, tt := range tests {
		_, err := DigitFromImage(bytes.NewReader(tt.in))
		if got := errors.Is(err, ErrImageTooLarge); got != tt.refused {
			t.Errorf("%s: %v; want refused for its size: %v", tt.name, err, tt.refused)
		}
		if tt.refused && !strings.Contains(err.Error(), "scale it down") {
			t.Errorf("%s: %v; want advice", tt.name, err)
		}
	}
	_, err := DigitFromImage(&tif)
	if !errors.Is(err, image.ErrFormat) || !strings.Contains(err.Error(), "a TIFF picture: graphtrain reads PNG, JPEG and GIF only") {
		t.Errorf("TIFF: %v", err)
	}
}
