package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/inspect"
	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/model"
)

type inspectXOROpts struct{ weights, out string }

type inspectMNISTOpts struct {
	weights, out, dataDir, dataset string
	index                          int
}

func init() {
	register(&command{
		path:  "inspect xor",
		short: "show what each hidden unit of a trained XOR net computes, with pictures",
		long: `Prints, for the four inputs, every hidden unit's activation and the output; names for each
hidden unit the logic function of A and B it comes closest to (its activations thresholded
at 0.5), with how close (the largest distance of an activation from that function's 0 or 1);
and draws heat maps of the output and of each hidden unit over the inputs' square: red near
1, white at 0.5 (the decision boundary, also drawn as a black line), blue near 0, the four
inputs marked. Files in --out: output.png, hidden<i>.png and all.png (all of them side by
side). Reads graphtrain checkpoints (with or without biases) and the original numpy
weights0.npy/weights1.npy directories.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &inspectXOROpts{}
			fs.StringVar(&o.weights, "weights", "", "checkpoint directory of a trained XOR net (required)")
			fs.StringVar(&o.out, "out", "inspect-xor", "directory to write the PNG heat maps in (created if missing)")
			return o
		},
		run: runInspectXOR,
	})
	register(&command{
		path:  "inspect mnist",
		short: "draw what a trained MNIST model's layers look for",
		long: `For the mlp: weights0.png, each first-layer hidden unit's 784 input weights as a 28x28
image (unit 0 top left, row by row); then weights1.png, weights2.png, ... for each deeper
layer (the last is the output layer), its weight matrix as a heat map, one row per unit of
the layer holding that unit's weights from each unit of the layer before. For the cnn: filters.png, the six 5x5 first-layer filters enlarged;
maps0.png, test image --index and its six feature maps after conv0 + bias + ReLU (28x28);
maps1.png, its sixteen maps after conv1 + bias + ReLU (10x10, before pooling). Weights use a
diverging colour map, blue negative, white zero, red positive, on one symmetric scale for
the whole picture (±the 99th percentile of |w|; larger values are clipped); feature maps,
all >= 0, go from black (0) to yellow (the largest value in the picture). Each picture has
a colour bar with its values.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &inspectMNISTOpts{}
			fs.StringVar(&o.weights, "weights", "", "checkpoint directory of a trained MNIST model (required)")
			fs.StringVar(&o.out, "out", "inspect-mnist", "directory to write the PNGs in (created if missing)")
			fs.IntVar(&o.index, "index", 0, "cnn: the test image (0-9999) whose feature maps are drawn")
			fs.StringVar(&o.dataset, "dataset", "", "mnist or fashion: the data set the model was trained on (default: the one the checkpoint names; another is refused)")
			fs.StringVar(&o.dataDir, "data-dir", "", "cnn: directory with the data set's files (default: the data cache, fetched when missing)")
			return o
		},
		run: runInspectMNIST,
	})
}

// ---- XOR ----

// XOR heat map geometry: a square of xorSide pixels shows A and B from -xorPad to 1+xorPad,
// so that the four inputs at the corners of the unit square are marked inside it.
const (
	xorSide  = 200
	xorPad   = 0.1
	xorW     = xorSide + 40
	xorH     = xorSide + 80
	xorLeft  = 24
	xorTop   = 22
	xorCount = 200 * 200
)

func runInspectXOR(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*inspectXOROpts)
	m, err := loadInspectXOR(fs, o)
	if err != nil {
		return err
	}
	hidden, out, err := inspect.XORLayers(m, model.XORInputs)
	if err != nil {
		return err
	}
	printXORActivations(e, o.weights, m, hidden, out)
	units := xorUnits(e, o.out, m, hidden, out)
	files, err := xorPictures(m, o.out, units)
	if err != nil {
		return err
	}
	names, err := writePNGs(o.out, files)
	if err != nil {
		return err
	}
	e.printf("\nwrote %s\n", strings.Join(names, ", "))
	if e.g.JSON {
		return e.emitJSON(map[string]any{"inputs": model.XORInputs, "hidden": hidden, "output": out, "units": units, "files": names})
	}
	return nil
}

// loadInspectXOR checks inspect xor's flags and loads the XOR net in --weights.
func loadInspectXOR(fs *pflag.FlagSet, o *inspectXOROpts) (*model.Model, error) {
	if fs.NArg() > 0 {
		return nil, usagef("inspect xor takes no arguments, got %q", fs.Args())
	}
	if o.weights == "" {
		return nil, usagef("inspect xor: --weights DIR is required (a directory written by 'graphtrain train xor', or numpy's weights0.npy and weights1.npy)")
	}
	if o.out == "" {
		return nil, usagef("--out: must name a directory")
	}
	if err := checkPictureDir("--out", o.out); err != nil {
		return nil, err
	}
	m, _, _, err := checkpoint.LoadCheckpoint(o.weights)
	if err != nil {
		return nil, checkpointError("--weights", err, "give a directory that graphtrain train wrote")
	}
	if m.Spec.Kind != "xor" {
		return nil, fmt.Errorf("--weights %s: holds a %s model, not an XOR net; use 'graphtrain inspect mnist' for it", o.weights, m.Spec.Kind)
	}
	return m, nil
}

// printXORActivations prints the table of every unit's activation for the four inputs.
func printXORActivations(e *env, weights string, m *model.Model, hidden [][]float64, out []float64) {
	H := m.Spec.Hidden
	e.printf("XOR net 2-%d-1 in %s, bias %v: activations for the four inputs\n\n", H, weights, m.Spec.Bias)
	e.printf("A B ")
	for j := 0; j < H; j++ {
		e.printf(" %8s", fmt.Sprintf("hidden%d", j))
	}
	e.printf("   output\n")
	for i := range out {
		e.printf("%g %g ", model.XORInputs[2*i], model.XORInputs[2*i+1])
		for j := 0; j < H; j++ {
			e.printf(" %8.4f", hidden[i][j])
		}
		e.printf(" %8.4f\n", out[i])
	}
}

// xorUnit is one unit of the XOR net (a hidden unit or the output) as inspect xor reports it.
type xorUnit struct {
	Name        string    `json:"unit"`
	Activations []float64 `json:"activations"`
	Function    string    `json:"function"`
	MaxDistance float64   `json:"max_distance"`
	File        string    `json:"file"`
}

// xorUnits names, for every unit, the logic function of A and B it comes closest to, and
// prints them.
func xorUnits(e *env, dir string, m *model.Model, hidden [][]float64, out []float64) []xorUnit {
	H := m.Spec.Hidden
	var units []xorUnit
	e.printf("\nclosest logic function of A and B (activation >= 0.5 read as 1; distance: the largest |activation − 0 or 1|)\n")
	for j := 0; j <= H; j++ {
		var v [4]float64
		name := fmt.Sprintf("hidden%d", j)
		for i := range v {
			if j == H {
				v[i] = out[i]
			} else {
				v[i] = hidden[i][j]
			}
		}
		if j == H {
			name = "output"
		}
		fn, d := inspect.NearestLogic(v)
		units = append(units, xorUnit{Name: name, Activations: v[:], Function: fn, MaxDistance: d, File: filepath.Join(dir, name+".png")})
		e.printf("  %-8s %-12s distance %.3f %s\n", name, fn, d, closeness(d))
	}
	if !m.Spec.Bias {
		e.printf("(without biases every hidden unit is σ(0) = 0.5 at input 00, undecided there: read as 1)\n")
	}
	return units
}

// xorPictures draws every unit over a grid of inputs, computed in one forward pass, and all
// of them side by side (all.png in dir).
func xorPictures(m *model.Model, dir string, units []xorUnit) (map[string]image.Image, error) {
	grid := make([]float64, 0, 2*xorCount)
	for py := 0; py < xorSide; py++ {
		for px := 0; px < xorSide; px++ {
			a, b := xorCoord(px, py)
			grid = append(grid, a, b)
		}
	}
	gh, gout, err := inspect.XORLayers(m, grid)
	if err != nil {
		return nil, err
	}
	H := m.Spec.Hidden
	files := map[string]image.Image{}
	all := image.NewRGBA(image.Rect(0, 0, xorW*len(units), xorH))
	for j, u := range units {
		vals := make([]float64, xorCount)
		for k := range vals {
			if j == H {
				vals[k] = gout[k]
			} else {
				vals[k] = gh[k][j]
			}
		}
		pic := xorHeatMap(fmt.Sprintf("%s: %s", u.Name, u.Function), vals, u.Activations)
		files[u.File] = pic
		drawImage(all, pic, j*xorW, 0)
	}
	files[filepath.Join(dir, "all.png")] = all
	return files, nil
}

func closeness(d float64) string {
	switch {
	case d < 0.1:
		return "(clearly)"
	case d < 0.3:
		return "(roughly)"
	}
	return "(barely)"
}

// xorCoord is the input (A, B) at the centre of pixel (px, py); B grows upwards.
func xorCoord(px, py int) (a, b float64) {
	span := 1 + 2*xorPad
	a = -xorPad + (float64(px)+0.5)/xorSide*span
	b = -xorPad + (float64(xorSide-1-py)+0.5)/xorSide*span
	return a, b
}

// xorPixel is the pixel of the input (A, B) in the heat map.
func xorPixel(a, b float64) (px, py int) {
	span := 1 + 2*xorPad
	px = int(math.Round((a + xorPad) / span * xorSide))
	py = xorSide - 1 - int(math.Round((b+xorPad)/span*xorSide))
	return px, py
}

// xorHeatMap draws vals [xorSide*xorSide] (in [0, 1]) with a title, the unit square, the
// 0.5 contour, the four inputs marked with their activations, and a colour bar.
func xorHeatMap(title string, vals []float64, corners []float64) *image.RGBA {
	img := newImage(xorW, xorH)
	drawText(img, xorLeft, 15, title, color.Black)
	for py := 0; py < xorSide; py++ {
		for px := 0; px < xorSide; px++ {
			v := vals[py*xorSide+px]
			c := diverging(2*v - 1)
			// The decision boundary: where the value crosses 0.5 to the next pixel.
			if px+1 < xorSide && (v >= 0.5) != (vals[py*xorSide+px+1] >= 0.5) ||
				py+1 < xorSide && (v >= 0.5) != (vals[(py+1)*xorSide+px] >= 0.5) {
				c = color.RGBA{0, 0, 0, 255}
			}
			img.SetRGBA(xorLeft+px, xorTop+py, c)
		}
	}
	// The unit square, in grey.
	x0, y1 := xorPixel(0, 0)
	x1, y0 := xorPixel(1, 1)
	grey := color.RGBA{120, 120, 120, 255}
	for x := x0; x <= x1; x++ {
		img.SetRGBA(xorLeft+x, xorTop+y0, grey)
		img.SetRGBA(xorLeft+x, xorTop+y1, grey)
	}
	for y := y0; y <= y1; y++ {
		img.SetRGBA(xorLeft+x0, xorTop+y, grey)
		img.SetRGBA(xorLeft+x1, xorTop+y, grey)
	}
	markXORInputs(img, corners)
	// Axes: A along the bottom, B up the left side.
	drawText(img, xorLeft+xorSide/2-10, xorTop+xorSide+13, "A ->", color.Black)
	drawText(img, 6, xorTop+xorSide/2-6, "^", color.Black)
	drawText(img, 6, xorTop+xorSide/2+8, "B", color.Black)
	colourBar(img, xorLeft, xorTop+xorSide+22, xorSide, 10, func(t float64) color.RGBA { return diverging(2*t - 1) },
		[]string{"0", "0.5", "1"})
	return img
}

// markXORInputs rings the four inputs on a heat map in the colour of their activations
// (corners), each value written beside it.
func markXORInputs(img *image.RGBA, corners []float64) {
	for i := 0; i < 4; i++ {
		a, b := model.XORInputs[2*i], model.XORInputs[2*i+1]
		px, py := xorPixel(a, b)
		cx, cy := xorLeft+px, xorTop+py
		fill := diverging(2*corners[i] - 1)
		for dy := -7; dy <= 7; dy++ {
			for dx := -7; dx <= 7; dx++ {
				r := math.Hypot(float64(dx), float64(dy))
				switch {
				case r <= 5:
					img.SetRGBA(cx+dx, cy+dy, fill)
				case r <= 7:
					img.SetRGBA(cx+dx, cy+dy, color.RGBA{0, 0, 0, 255})
				}
			}
		}
		label := fmt.Sprintf("%g%g %.2f", a, b, corners[i])
		lx := cx + 8
		if a == 1 {
			lx = cx - 8 - 7*len(label)
		}
		ly := cy + 16
		if b == 1 {
			ly = cy - 8
		}
		drawTextBoxed(img, lx, ly, label)
	}
}

// ---- MNIST ----

func runInspectMNIST(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*inspectMNISTOpts)
	if fs.NArg() > 0 {
		return usagef("inspect mnist takes no arguments, got %q", fs.Args())
	}
	if o.index < 0 || o.index > 9999 {
		return usagef("--index %d: must be between 0 and 9999", o.index)
	}
	if o.out == "" {
		return usagef("--out: must name a directory")
	}
	if err := checkPictureDir("--out", o.out); err != nil {
		return err
	}
	m, ds, err := loadMNISTModel(o.weights, o.dataset)
	if err != nil {
		if msg, ok := strings.CutSuffix(err.Error(), "; "+mnistRunAdvice); ok && strings.Contains(msg, "not an MNIST model") {
			return fmt.Errorf("%s; use 'graphtrain inspect xor' for an XOR net", msg)
		}
		return err
	}
	var files map[string]image.Image
	if m.Spec.Convolutional() {
		files, err = cnnPictures(e, o, m, ds)
	} else {
		if fs.Changed("index") || fs.Changed("data-dir") {
			return usagef("--index and --data-dir are for a cnn (a convnet); %s holds an %s, whose first-layer weights need no image", o.weights, m.Spec.Kind)
		}
		files, err = mlpPictures(e, o, m, ds)
	}
	if err != nil {
		return err
	}
	names, err := writePNGs(o.out, files)
	if err != nil {
		return err
	}
	e.printf("wrote %s\n", strings.Join(names, ", "))
	if e.g.JSON {
		return e.emitJSON(map[string]any{"model": m.Spec.Kind, "files": names})
	}
	return nil
}

// mlpPictures draws the mlp's layers: each first-layer unit's input weights as a 28x28 tile
// (weights0.png), then each deeper layer's weight matrix (weights1.png, ...).
func mlpPictures(e *env, o *inspectMNISTOpts, m *model.Model, ds *datasets.Dataset) (map[string]image.Image, error) {
	w, err := paramFloats(m, "weights0")
	if err != nil {
		return nil, err
	}
	H := m.Spec.Hidden
	tiles := make([][]float64, H)
	for j := range tiles {
		t := make([]float64, model.ImageSize)
		for p := range t {
			t[p] = w[p*H+j] // weights0 is [784, H]: column j is unit j
		}
		tiles[j] = t
	}
	files := map[string]image.Image{}
	files[filepath.Join(o.out, "weights0.png")] = weightGrid(
		fmt.Sprintf("mlp first layer: the 784 input weights of each of the %d hidden units", H), tiles, model.ImageSide, tileScale(H))
	e.printf("mlp %s in %s: drawing the input weights of the %d units of its first hidden layer", m.Spec.LayerSizes(), o.weights, H)
	// Deeper layers, the output layer included: each one's weight matrix.
	layers := append(m.Spec.HiddenLayers(), model.Classes)
	for i := 1; i < len(layers); i++ {
		name := fmt.Sprintf("weights%d", i)
		w, err := paramFloats(m, name)
		if err != nil {
			return nil, err
		}
		what := fmt.Sprintf("hidden layer %d", i+1)
		var rowNames []string
		if i == len(layers)-1 {
			what, rowNames = "output layer", ds.Classes
		}
		files[filepath.Join(o.out, name+".png")] = weightMatrix(
			fmt.Sprintf("mlp %s (%s): the %d input weights of each of its %d units", what, name, layers[i-1], layers[i]),
			w, layers[i-1], layers[i], rowNames)
	}
	e.printf(" and the weight matrices of its %d deeper layers\n", len(layers)-1)
	return files, nil
}

// cnnPictures draws a convnet's first-layer filters (filters.png) and the feature maps of
// test image --index after each convolution (maps0.png, maps1.png, ...).
func cnnPictures(e *env, o *inspectMNISTOpts, m *model.Model, ds *datasets.Dataset) (map[string]image.Image, error) {
	files, err := filterPictures(o, m)
	if err != nil {
		return nil, err
	}
	test, err := mnistTest(e, ds, o.dataDir)
	if err != nil {
		return nil, err
	}
	if o.index >= test.N {
		return nil, usagef("--index %d: the test set has %d images", o.index, test.N)
	}
	px := test.Image(o.index)
	maps, err := inspect.CNNFeatureMaps(m, px)
	if err != nil {
		return nil, err
	}
	label := int(test.Labels[o.index])
	what := fmt.Sprint(label)
	if ds != datasets.MNIST {
		what = ds.ClassName(label)
	}
	for i, mp := range maps.All {
		sh := maps.Shapes[i]
		if sh.H != sh.W {
			continue // featureMaps draws square maps
		}
		title := fmt.Sprintf("test image %d: its %d maps after conv%d+bias+ReLU, %dx%d", o.index, sh.C, i, sh.H, sh.W)
		var img []float32
		scale, cols := tileScale(sh.C), int(math.Ceil(math.Sqrt(float64(sh.C))))
		if in, err := m.Spec.InputShape(); i == 0 && err == nil && in.H == sh.H && in.W == sh.W && in.C == 1 {
			title, img = fmt.Sprintf("test image %d (a %s) and its %d maps after conv0+bias+ReLU", o.index, what, sh.C), px
		}
		if m.Spec.Kind == model.CNNKind { // the layouts README's pictures have
			scale, cols = []int{4, 8}[min(i, 1)], []int{7, 8}[min(i, 1)]
		}
		files[filepath.Join(o.out, fmt.Sprintf("maps%d.png", i))] = featureMaps(title, img, mp, sh.H, scale, cols)
	}
	filters := "first-layer filters"
	if m.Spec.Kind == model.CNNKind {
		filters = "six first-layer filters"
	}
	e.printf("%s in %s: drawing its %s and the feature maps of test image %d (a %s)\n", m.Spec.Kind, o.weights, filters, o.index, what)
	return files, nil
}

// filterPictures draws the first convolution's filters (for the first input channel) into
// filters.png.
func filterPictures(o *inspectMNISTOpts, m *model.Model) (map[string]image.Image, error) {
	w, err := paramFloats(m, "conv0")
	if err != nil {
		return nil, err
	}
	p := m.Param("conv0")
	sh := p.T.Shape() // [filters, channels, k, k]
	f, c, k := sh[0], sh[1], sh[2]
	filters := make([][]float64, f)
	for i := range filters {
		filters[i] = w[i*c*k*k : i*c*k*k+k*k]
	}
	title := fmt.Sprintf("%s first layer: the %d %dx%d filters of conv0", m.Spec.Kind, f, k, k)
	if m.Spec.Kind == model.CNNKind {
		title = "cnn first layer: the six 5x5 filters of conv0"
	}
	return map[string]image.Image{filepath.Join(o.out, "filters.png"): weightGrid(title, filters, k, max(4, 80/k))}, nil
}

// tileScale is the enlargement of 28x28 tiles for h of them: the grid stays under ~1000 px.
func tileScale(h int) int {
	cols := int(math.Ceil(math.Sqrt(float64(h))))
	return max(1, min(4, 1000/(cols*30)))
}

// paramFloats returns m's parameter name as float64s.
func paramFloats(m *model.Model, name string) ([]float64, error) {
	p := m.Param(name)
	if p == nil {
		return nil, fmt.Errorf("%s model has no parameter %s", m.Spec.Kind, name)
	}
	switch d := p.T.Data().(type) {
	case []float32:
		v := make([]float64, len(d))
		for i, x := range d {
			v[i] = float64(x)
		}
		return v, nil
	case []float64:
		return d, nil
	}
	return nil, fmt.Errorf("parameter %s holds %T", name, p.T.Data())
}

// weightGrid draws tiles (each side x side, row-major) enlarged scale times on one symmetric
// diverging scale, ±the 99th percentile of |w| over all tiles.
func weightGrid(title string, tiles [][]float64, side, scale int) *image.RGBA {
	var abs []float64
	for _, t := range tiles {
		for _, v := range t {
			abs = append(abs, math.Abs(v))
		}
	}
	slices.Sort(abs)
	lim := abs[int(0.99*float64(len(abs)-1))]
	if lim == 0 {
		lim = 1
	}
	cols := int(math.Ceil(math.Sqrt(float64(len(tiles)))))
	if len(tiles) <= 8 {
		cols = len(tiles)
	}
	rows := (len(tiles) + cols - 1) / cols
	ts, gap := side*scale, max(4, scale/2)
	w := max(cols*(ts+gap)+gap+16, 7*len(title)+16, 300)
	h := 24 + rows*(ts+gap) + 62
	img := newImage(w, h)
	drawText(img, 8, 15, title, color.Black)
	for i, t := range tiles {
		x0 := 8 + gap + (i%cols)*(ts+gap)
		y0 := 24 + (i/cols)*(ts+gap)
		for p, v := range t {
			c := diverging(v / lim)
			fillRect(img, x0+(p%side)*scale, y0+(p/side)*scale, scale, scale, c)
		}
	}
	colourBar(img, 8+gap, h-50, min(w-32, 300), 10, func(t float64) color.RGBA { return diverging(2*t - 1) },
		[]string{fmt.Sprintf("%.3g", -lim), "0", fmt.Sprintf("+%.3g", lim)})
	drawText(img, 8+gap, h-6, "one scale for all; beyond +/-"+fmt.Sprintf("%.3g", lim)+" (99th pct of |w|) clipped", color.Black)
	return img
}

// weightMatrix draws the weights w [in, out] (row-major, as a dense layer holds them) as a
// heat map with one row per unit of the layer (out rows) and one column per input (in
// columns): row j is unit j's input weights. Colours as in weightGrid. A matrix wider or
// taller than maxMatrixSide is shown in blocks, each the mean of the weights it covers.
// rowNames, when given, label the rows (the output layer's classes).
func weightMatrix(title string, w []float64, in, out int, rowNames []string) *image.RGBA {
	classes := len(rowNames) == out
	bc, br := (in+maxMatrixSide-1)/maxMatrixSide, (out+maxMatrixSide-1)/maxMatrixSide
	cols, rows := (in+bc-1)/bc, (out+br-1)/br
	cell := make([]float64, rows*cols)
	count := make([]int, rows*cols)
	for i := 0; i < in; i++ {
		for j := 0; j < out; j++ {
			k := (j/br)*cols + i/bc
			cell[k] += w[i*out+j]
			count[k]++
		}
	}
	abs := make([]float64, len(cell))
	for k := range cell {
		cell[k] /= float64(count[k])
		abs[k] = math.Abs(cell[k])
	}
	slices.Sort(abs)
	lim := abs[int(0.99*float64(len(abs)-1))]
	if lim == 0 {
		lim = 1
	}
	// Each side about 512 pixels when it can be, a cell at most 24 pixels.
	sx, sy := max(1, min(24, 512/cols)), max(1, min(24, 512/rows))
	left, top := 40, 40
	if classes {
		for _, n := range rowNames {
			left = max(left, 7*len(n)+16)
		}
	}
	wpx := max(left+cols*sx+16, 7*len(title)+16, 330)
	hpx := top + rows*sy + 84
	img := newImage(wpx, hpx)
	drawText(img, 8, 15, title, color.Black)
	xs, ys := "inputs ->", "units"
	if classes {
		ys = ""
	}
	if bc > 1 || br > 1 {
		xs += fmt.Sprintf(" (blocks of %dx%d averaged)", br, bc)
	}
	drawText(img, left, top-6, xs, color.Black)
	drawText(img, 4, top+10, ys, color.Black)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			fillRect(img, left+c*sx, top+r*sy, sx, sy, diverging(cell[r*cols+c]/lim))
		}
		if classes && sy >= 10 {
			drawText(img, left-4-7*len(rowNames[r]), top+r*sy+sy/2+5, rowNames[r], color.Black)
		}
	}
	y := top + rows*sy + 24
	colourBar(img, left, y, min(wpx-left-16, 300), 10, func(t float64) color.RGBA { return diverging(2*t - 1) },
		[]string{fmt.Sprintf("%.3g", -lim), "0", fmt.Sprintf("+%.3g", lim)})
	drawText(img, left, hpx-6, "one scale for all; beyond +/-"+fmt.Sprintf("%.3g", lim)+" (99th pct of |w|) clipped", color.Black)
	return img
}

// maxMatrixSide bounds the rows and columns weightMatrix draws.
const maxMatrixSide = 1024

// featureMaps draws the input image (when not nil) in grey and the maps (each side x side)
// enlarged scale times, cols to a row, on one scale from 0 to the largest value.
func featureMaps(title string, input []float32, maps [][]float32, side, scale, cols int) *image.RGBA {
	hi := float32(0)
	for _, m := range maps {
		for _, v := range m {
			hi = max(hi, v)
		}
	}
	if hi == 0 {
		hi = 1
	}
	n := len(maps)
	if input != nil {
		n++
	}
	rows := (n + cols - 1) / cols
	ts, gap := side*scale, 6
	w := max(cols*(ts+gap)+gap+16, 7*len(title)+16)
	h := 24 + rows*(ts+gap+14) + 46
	img := newImage(w, h)
	drawText(img, 8, 15, title, color.Black)
	i := 0
	if input != nil {
		x0, y0 := 8+gap, 24+14
		drawText(img, x0, y0-3, "input", color.Black)
		for p, v := range input {
			g := uint8(255 - 255*min(max(v, 0), 1)) // ink dark on white
			fillRect(img, x0+(p%side)*(ts/side), y0+(p/side)*(ts/side), ts/side, ts/side, color.RGBA{g, g, g, 255})
		}
		i++
	}
	for k, m := range maps {
		x0 := 8 + gap + (i%cols)*(ts+gap)
		y0 := 24 + 14 + (i/cols)*(ts+gap+14)
		drawText(img, x0, y0-3, fmt.Sprintf("map %d", k), color.Black)
		for p, v := range m {
			fillRect(img, x0+(p%side)*scale, y0+(p/side)*scale, scale, scale, sequential(float64(v/hi)))
		}
		i++
	}
	colourBar(img, 8+gap, h-36, min(w-32, 300), 10, sequential, []string{"0", fmt.Sprintf("%.3g", hi/2), fmt.Sprintf("%.3g", hi)})
	return img
}

// writePNGs creates dir and writes every image (path → image) atomically, in path order.
// It returns the paths written.
func writePNGs(dir string, files map[string]image.Image) ([]string, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("--out %s: is a file, not a directory; give a directory (it is created if missing)", dir)
	}
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, writeFailed("--out", dir, err)
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := writePNG(name, files[name]); err != nil {
			if statErr != nil {
				os.Remove(dir) // made by this run, and empty unless a picture was written
			}
			return nil, writeFailed("--out", dir, err)
		}
	}
	return names, nil
}

// writePNG writes img to path atomically (a temporary file, then rename).
func writePNG(path string, img image.Image) error {
	return atomicfile.WriteFile(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// unwrapPathError drops the path from an *os.PathError, which the message names already.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
