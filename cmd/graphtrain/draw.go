package main

// The drawing helpers of inspect's pictures: blank images, rectangles, text in basicfont's
// 7x13 face, colour bars and the two colour maps (diverging for signed weights, sequential
// for activations).

import (
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

func newImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fillRect(img, 0, 0, w, h, color.RGBA{255, 255, 255, 255})
	return img
}

func fillRect(img *image.RGBA, x, y, w, h int, c color.RGBA) {
	for yy := y; yy < y+h; yy++ {
		for xx := x; xx < x+w; xx++ {
			img.SetRGBA(xx, yy, c)
		}
	}
}

func drawImage(dst *image.RGBA, src *image.RGBA, x, y int) {
	b := src.Bounds()
	for yy := b.Min.Y; yy < b.Max.Y; yy++ {
		for xx := b.Min.X; xx < b.Max.X; xx++ {
			dst.SetRGBA(x+xx-b.Min.X, y+yy-b.Min.Y, src.RGBAAt(xx, yy))
		}
	}
}

// drawText writes s with its baseline at y, in basicfont's 7x13 face.
func drawText(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// drawTextBoxed writes s in black on a white box, readable over any colour.
func drawTextBoxed(img *image.RGBA, x, y int, s string) {
	fillRect(img, x-1, y-11, 7*len(s)+2, 14, color.RGBA{255, 255, 255, 255})
	drawText(img, x, y, s, color.Black)
}

// colourBar draws cmap over [0, 1] left to right in a w x h box at (x, y), with labels
// spread evenly beneath it (the first at the left end, the last at the right end).
func colourBar(img *image.RGBA, x, y, w, h int, cmap func(float64) color.RGBA, labels []string) {
	for i := 0; i < w; i++ {
		fillRect(img, x+i, y, 1, h, cmap(float64(i)/float64(w-1)))
	}
	black := color.RGBA{0, 0, 0, 255}
	for i := -1; i <= w; i++ {
		img.SetRGBA(x+i, y-1, black)
		img.SetRGBA(x+i, y+h, black)
	}
	for j := y; j < y+h; j++ {
		img.SetRGBA(x-1, j, black)
		img.SetRGBA(x+w, j, black)
	}
	for k, l := range labels {
		cx := x + k*(w-1)/max(1, len(labels)-1)
		fillRect(img, cx, y+h, 1, 3, black)
		lx := cx - 7*len(l)/2
		lx = min(max(lx, 0), img.Bounds().Dx()-7*len(l))
		drawText(img, lx, y+h+14, l, black)
	}
}

// diverging maps t in [-1, 1] (clipped) to blue (-1), white (0), red (1): ColorBrewer's RdBu ends.
func diverging(t float64) color.RGBA {
	t = math.Max(-1, math.Min(1, t))
	if math.IsNaN(t) {
		t = 0
	}
	end := [3]float64{178, 24, 43}
	if t < 0 {
		end, t = [3]float64{33, 102, 172}, -t
	}
	mix := func(e float64) uint8 { return uint8(math.Round(255 + (e-255)*t)) }
	return color.RGBA{mix(end[0]), mix(end[1]), mix(end[2]), 255}
}

// sequential maps t in [0, 1] (clipped) from black through purple and orange to light
// yellow, like matplotlib's inferno.
func sequential(t float64) color.RGBA {
	stops := [][3]float64{{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}}
	t = math.Max(0, math.Min(1, t))
	if math.IsNaN(t) {
		t = 0
	}
	f := t * float64(len(stops)-1)
	i := min(int(f), len(stops)-2)
	u := f - float64(i)
	mix := func(k int) uint8 { return uint8(math.Round(stops[i][k] + (stops[i+1][k]-stops[i][k])*u)) }
	return color.RGBA{mix(0), mix(1), mix(2), 255}
}
