package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/graphtrain/graphtrain/internal/atomicfile"
	"github.com/graphtrain/graphtrain/internal/safefile"
	"github.com/graphtrain/graphtrain/train"
)

type plotOpts struct{ metrics, out string }

func init() {
	register(&command{
		path:  "plot",
		short: "draw the learning curves of a 'train mnist --metrics' file",
		long: `Reads the JSON lines that 'graphtrain train mnist --metrics FILE' writes, one per epoch, and
draws two panels in one PNG: the training loss per epoch (above) and the validation accuracy
per epoch (below), the epoch of the best model marked. 'train mnist --plot FILE.png' draws
the same at the end of training.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &plotOpts{}
			fs.StringVar(&o.metrics, "metrics", "", "the metrics file (JSON lines) of a train mnist run (required)")
			fs.StringVar(&o.out, "out", "", "the PNG to write (default: the metrics file's name with .png)")
			return o
		},
		run: runPlot,
	})
}

func runPlot(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*plotOpts)
	if fs.NArg() > 0 {
		return usagef("plot takes no arguments, got %q", fs.Args())
	}
	if o.metrics == "" {
		return usagef("plot: --metrics FILE is required (the file of 'graphtrain train mnist --metrics FILE')")
	}
	if o.out == "" {
		o.out = trimExt(o.metrics) + ".png"
	}
	if samePath(o.out, o.metrics) {
		return usagef("--out %s: is the metrics file itself; give the picture a name of its own, such as %s", o.out, trimExt(o.metrics)+".png")
	}
	if err := checkOutputFile("--out", o.out); err != nil {
		return err
	}
	stats, err := readMetrics(o.metrics)
	if err != nil {
		return err
	}
	if err := writeCurves(o.out, stats, filepath.Base(o.metrics)); err != nil {
		return writeFailed("--out", o.out, err)
	}
	e.printf("%d epochs from %s: wrote %s\n", len(stats), o.metrics, o.out)
	if e.g.JSON {
		return e.emitJSON(map[string]any{"epochs": len(stats), "out": o.out})
	}
	return nil
}

func trimExt(p string) string { return p[:len(p)-len(filepath.Ext(p))] }

// Bounds on a metrics file: far above any real run, low enough that a hostile file cannot
// take the plot's memory or time.
const (
	maxMetricsBytes = 64 << 20
	maxMetricsLines = 100000
	maxMetricsEpoch = 1000000
	maxMetricsLine  = 1 << 16
)

// readMetrics reads a metrics file: one JSON object per line with at least epoch,
// train_loss and val_accuracy. Blank lines are skipped.
func readMetrics(path string) ([]train.EpochStats, error) {
	data, err := safefile.ReadFile(path, maxMetricsBytes)
	if err != nil {
		return nil, fmt.Errorf("--metrics %v; give the file of 'graphtrain train mnist --metrics FILE'", err)
	}
	stats, err := parseMetrics(data)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %v", path, err)
	}
	return stats, nil
}

// parseMetrics parses the lines of a metrics file, checking every number.
func parseMetrics(data []byte) ([]train.EpochStats, error) {
	var stats []train.EpochStats
	line := 0
	for rest := data; len(rest) > 0; {
		var b []byte
		b, rest, _ = bytes.Cut(rest, []byte("\n"))
		line++
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		if len(b) > maxMetricsLine {
			return nil, fmt.Errorf("line %d is %d bytes long; a metrics line is under 200", line, len(b))
		}
		if len(stats) >= maxMetricsLines {
			return nil, fmt.Errorf("more than %d epochs; not a metrics file of 'train mnist --metrics'", maxMetricsLines)
		}
		var fields map[string]json.RawMessage
		var st train.EpochStats
		var problem string
		if json.Unmarshal(b, &fields) != nil {
			problem = "not a JSON object"
		}
		for _, k := range []string{"epoch", "train_loss", "val_accuracy"} {
			if _, ok := fields[k]; !ok && problem == "" {
				problem = fmt.Sprintf("no %q field", k)
			}
		}
		if problem == "" && json.Unmarshal(b, &st) != nil {
			problem = "a field holds the wrong kind of value"
		}
		switch {
		case problem != "":
		case st.Epoch < 0 || st.Epoch > maxMetricsEpoch:
			problem = fmt.Sprintf("epoch %d is not between 0 and %d", st.Epoch, maxMetricsEpoch)
		case !finite(st.TrainLoss, st.ValAccuracy, st.Seconds, st.SamplesPerSec):
			problem = "a number is NaN or infinite"
		case st.ValAccuracy < 0 || st.ValAccuracy > 1:
			problem = fmt.Sprintf("val_accuracy %v is not between 0 and 1", st.ValAccuracy)
		}
		if problem != "" {
			// The line itself is not shown: the file may be any file at all.
			return nil, fmt.Errorf("line %d: not a metrics line (%s); give the file 'graphtrain train mnist --metrics FILE' writes", line, problem)
		}
		stats = append(stats, st)
	}
	if len(stats) == 0 {
		return nil, fmt.Errorf("no epochs in it; it is written by 'graphtrain train mnist --metrics FILE'")
	}
	return stats, nil
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// writeCurves draws the loss and the validation accuracy per epoch, one panel each, into
// the PNG out (800x600 points: 1067x800 px), atomically.
func writeCurves(out string, stats []train.EpochStats, title string) error {
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return fmt.Errorf("%s: is a directory; give a .png file name", out)
	}
	top, bottom, err := curvePanels(stats, title)
	if err != nil {
		return err
	}
	img := vgimg.New(800, 600)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: 4, PadBottom: 4, PadLeft: 4, PadRight: 12, PadY: 10}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	return atomicfile.WriteFile(out, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// curvePanels are the two panels of the learning curves: the loss per epoch above, the
// validation accuracy below with the best models ringed, over the same epochs.
func curvePanels(stats []train.EpochStats, title string) (top, bottom *plot.Plot, err error) {
	loss, acc, best := make(plotter.XYs, len(stats)), make(plotter.XYs, len(stats)), plotter.XYs{}
	for i, s := range stats {
		loss[i] = plotter.XY{X: float64(s.Epoch), Y: s.TrainLoss}
		acc[i] = plotter.XY{X: float64(s.Epoch), Y: 100 * s.ValAccuracy}
		if s.Best {
			best = append(best, acc[i])
		}
	}
	top = plot.New()
	top.Title.Text = "training loss per epoch: " + title
	top.Y.Label.Text = "loss (mean cross-entropy)"
	bottom = plot.New()
	bottom.Title.Text = "validation accuracy per epoch (rings: a new best model, saved)"
	bottom.X.Label.Text = "epoch"
	bottom.Y.Label.Text = "accuracy (%)"
	for _, p := range []*plot.Plot{top, bottom} {
		p.Add(plotter.NewGrid())
		p.X.Tick.Marker = plot.TickerFunc(integerTicks)
	}
	blue, red := color.RGBA{33, 102, 172, 255}, color.RGBA{178, 24, 43, 255}
	if err := addCurve(top, loss, blue); err != nil {
		return nil, nil, err
	}
	if err := addCurve(bottom, acc, red); err != nil {
		return nil, nil, err
	}
	if len(best) > 0 {
		sc, err := plotter.NewScatter(best)
		if err != nil {
			return nil, nil, fmt.Errorf("plot: %v", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(5), Shape: draw.RingGlyph{}}
		bottom.Add(sc)
	}
	// Same epoch range on both panels.
	lo, hi := loss[0].X, loss[0].X
	for _, p := range loss {
		lo, hi = min(lo, p.X), max(hi, p.X)
	}
	if lo == hi {
		lo, hi = lo-1, hi+1
	}
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = lo, hi
	}
	return top, bottom, nil
}

func addCurve(p *plot.Plot, xys plotter.XYs, c color.Color) error {
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("plot: %v", err)
	}
	l.Color, l.Width = c, vg.Points(2)
	pts.Color, pts.Radius, pts.Shape = c, vg.Points(2.5), draw.CircleGlyph{}
	p.Add(l, pts)
	return nil
}

// integerTicks puts ticks on whole epochs, at most about ten labelled.
func integerTicks(lo, hi float64) []plot.Tick {
	step := 1
	for (hi-lo)/float64(step) > 10 {
		step *= 2
	}
	// Unlabelled ticks at every epoch while there are few; beyond that only the labelled.
	minor := 1
	if (hi-lo)/float64(step) > 10 || hi-lo > 200 {
		minor = step
	}
	var ticks []plot.Tick
	for v := int(math.Ceil(lo)) / minor * minor; float64(v) <= hi; v += minor {
		if float64(v) < lo {
			continue
		}
		label := ""
		if v%step == 0 {
			label = fmt.Sprint(v)
		}
		ticks = append(ticks, plot.Tick{Value: float64(v), Label: label})
	}
	return ticks
}

// plotTraining draws train mnist's learning curves into out: from the metrics file when there
// is one (it holds the epochs of earlier, resumed runs too), else from this run's epochs.
func plotTraining(e *env, out, metrics string, history []train.EpochStats) error {
	title := "this run"
	if metrics != "" {
		stats, err := readMetrics(metrics)
		if err != nil {
			return err
		}
		history, title = stats, filepath.Base(metrics)
	}
	if err := writeCurves(out, history, title); err != nil {
		return writeFailed("--plot", out, err)
	}
	e.printf("learning curves drawn in %s\n", out)
	return nil
}
