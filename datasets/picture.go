package datasets

import (
	"errors"
	"fmt"
	"image"

	"github.com/graphtrain/graphtrain/internal/safefile"
)

// A Picture is an image file read as an own data set's images are: C channels (1: grey
// levels; 3: red, green, blue) of H x W values in [0, 1], channel-major, row-major.
type Picture struct {
	Pixels []float32
	// Width and Height are the file's own; Scaled says they were not the wanted ones and the
	// picture was resampled (each output pixel the mean of the source pixels it covers).
	Width, Height int
	Scaled        bool
}

// LoadPicture reads the PNG, JPEG or GIF picture at path for a model of c channels (1 or 3)
// on h x w images: grey levels, or its colours, 0 to 1 as an IDX set's bytes 0 to 255 are,
// scaled to h x w when its size differs. Every error names the file.
func LoadPicture(path string, c, h, w int) (*Picture, error) {
	fail := func(err error) (*Picture, error) {
		return nil, fmt.Errorf("datasets: read image %s: %w", path, err)
	}
	if (c != 1 && c != 3) || h < 1 || w < 1 {
		return fail(fmt.Errorf("a model of %d channels of %dx%d: pictures fit models of 1 or 3 channels", c, h, w))
	}
	f, err := safefile.Open(path, MaxDigitFileBytes)
	if err != nil {
		var se *safefile.Error
		if errors.As(err, &se) {
			err = problem{se.Problem, se.Err}
		}
		return fail(err)
	}
	defer f.Close()
	img, err := decodePicture(f)
	if err != nil {
		return fail(err)
	}
	b := img.Bounds()
	p := &Picture{Width: b.Dx(), Height: b.Dy(), Scaled: b.Dx() != w || b.Dy() != h, Pixels: make([]float32, c*h*w)}
	for y := 0; y < h; y++ {
		y0, y1 := b.Min.Y+y*b.Dy()/h, b.Min.Y+max((y+1)*b.Dy()/h, y*b.Dy()/h+1)
		for x := 0; x < w; x++ {
			x0, x1 := b.Min.X+x*b.Dx()/w, b.Min.X+max((x+1)*b.Dx()/w, x*b.Dx()/w+1)
			mean := areaMean(img, x0, x1, y0, y1)
			if c == 1 {
				p.Pixels[y*w+x] = float32(0.299*mean[0] + 0.587*mean[1] + 0.114*mean[2])
				continue
			}
			for ch := 0; ch < 3; ch++ {
				p.Pixels[(ch*h+y)*w+x] = float32(mean[ch])
			}
		}
	}
	return p, nil
}

// areaMean is the mean red, green and blue, each 0 to 1, of img's pixels in [x0,x1) x [y0,y1).
func areaMean(img image.Image, x0, x1, y0, y1 int) [3]float64 {
	var sum [3]float64
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			sum[0] += float64(r) / 0xffff
			sum[1] += float64(g) / 0xffff
			sum[2] += float64(b) / 0xffff
		}
	}
	n := float64((x1 - x0) * (y1 - y0))
	return [3]float64{sum[0] / n, sum[1] / n, sum[2] / n}
}
