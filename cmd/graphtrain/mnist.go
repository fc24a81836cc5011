package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/train"
)

func init() {
	register(&command{
		path:  "eval mnist",
		short: "measure a trained MNIST model on the 10000 test images",
		long: `Prints the test accuracy and the accuracy of each digit; with --confusion, the confusion matrix.
The forward pass runs on --device's backend, 250 images at a time, as the test accuracy at
the end of 'train mnist' is measured, so that both print the same number on the same device.
With --quiet, the accuracy line (and the matrix, with --confusion) only. The test set is that of the data set the model was trained on (the checkpoint says which);
a model is not measured on another data set's test set.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &evalOpts{}
			fs.StringVar(&o.weights, "weights", "", "checkpoint directory of a trained MNIST model (required)")
			fs.StringVar(&o.dataset, "dataset", "", "mnist or fashion: the data set the model was trained on (default: the one the checkpoint names; another is refused)")
			fs.StringVar(&o.dataDir, "data-dir", "", "directory with the data set's files (default: the data cache, fetched when missing)")
			fs.BoolVar(&o.confusion, "confusion", false, "print the confusion matrix (rows: true digit, columns: predicted)")
			return o
		},
		run: runEvalMNIST,
	})
	register(&command{
		path:  "predict mnist",
		short: "read a digit from an image (PNG, JPEG or GIF) or from the test set",
		args:  "(IMAGE | --index N)",
		long: `Prints the digit a trained model sees, its three most likely digits with their
probabilities, and the 28x28 input as text art; for a Fashion-MNIST model, the class names
(T-shirt/top, Trouser, ..., Ankle boot); a picture for such a model is prepared as
Fashion-MNIST's were: cropped to the object, its longer side scaled to 28 pixels, centred,
dark on light inverted, its grey levels kept. An image of any size is prepared as the MNIST
digits were: made grey, inverted when its background is light (dark ink on white paper),
cropped to the ink, scaled to fit 20x20 and centred by its centre of mass in 28x28. The
forward pass runs on --device's backend. With --quiet, the answer and its probabilities only.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &predictOpts{}
			fs.StringVar(&o.weights, "weights", "", "checkpoint directory of a trained MNIST model (required)")
			fs.IntVar(&o.index, "index", -1, "use test image N (0-9999) instead of an image file")
			fs.StringVar(&o.dataset, "dataset", "", "mnist or fashion: the data set the model was trained on (default: the one the checkpoint names; another is refused)")
			fs.StringVar(&o.dataDir, "data-dir", "", "directory with the data set's files, for --index (default: the data cache)")
			return o
		},
		run: runPredictMNIST,
	})
}

// mnistRunAdvice is what to give for a checkpoint of an MNIST model.
const mnistRunAdvice = "give the --out of a 'graphtrain train mnist' run"

// mnistDir resolves --data-dir for the data set ds: the directory given, which must exist,
// or the data set's cache, fetched into when missing (the test files only with testOnly).
func mnistDir(e *env, ds *datasets.Dataset, dir string, testOnly bool) (string, error) {
	if dir == "" {
		dir, err := ds.DefaultDir()
		if err != nil {
			return "", err
		}
		log := io.Writer(e.stderr)
		if e.g.Quiet {
			log = io.Discard
		}
		ensure := ds.Ensure
		if testOnly {
			ensure = ds.EnsureTest
		}
		if err := ensure(dir, log); err != nil {
			return "", fetchAdvice(err, ds, "")
		}
		return dir, nil
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("--data-dir %s: no such directory; run 'graphtrain data fetch%s --dir %s' or leave out --data-dir", dir, datasetArg(ds), dir)
	}
	return dir, nil
}

// fetchAdvice adds what to do to a failed fetch of ds: into the directory given with flag
// (data fetch's --dir), or into the data cache when flag is "".
func fetchAdvice(err error, ds *datasets.Dataset, flag string) error {
	var de *datasets.DirError
	full := errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
	switch {
	case errors.As(err, &de) && flag != "" && full:
		return fmt.Errorf("%s %s: cannot be written (%s); free some space there, or choose another directory", flag, de.Dir, plainError(de.Err))
	case errors.As(err, &de) && flag != "":
		return fmt.Errorf("%s %s: cannot be written (%s); choose a directory you can write", flag, de.Dir, plainError(de.Err))
	case errors.As(err, &de) && full:
		return fmt.Errorf("%v; free some space there, or set %s to another directory", err, ds.EnvVar)
	case errors.As(err, &de):
		return fmt.Errorf("%v; set %s to a directory you can write, or give --data-dir DIR with %s's four files (graphtrain data fetch%s --dir DIR)", err, ds.EnvVar, ds.Title, datasetArg(ds))
	case errors.Is(err, datasets.ErrFetch):
		return fmt.Errorf("%w; check the network, or put the files there by hand", err)
	}
	return err
}

// datasetArg is the --dataset argument that names ds in a suggested command ("" for mnist).
func datasetArg(ds *datasets.Dataset) string {
	if ds == datasets.MNIST {
		return ""
	}
	return " --dataset " + ds.Name
}

// datasetFlag resolves a --dataset flag's value.
func datasetFlag(name string) (*datasets.Dataset, error) {
	if name == datasets.Own.Name {
		return datasets.Own, nil
	}
	ds, err := datasets.DatasetByName(name)
	if err != nil {
		return nil, usagef("--dataset %q: must be mnist, fashion or own", name)
	}
	return ds, nil
}

// mnistData loads the data set ds from dir, or from its cache (fetching it when missing).
func mnistData(e *env, ds *datasets.Dataset, dir string) (train, test *datasets.Set, err error) {
	return mnistSets(e, ds, dir, 0)
}

// mnistSets loads the training set (its first limit images when limit > 0, reading no
// further) and the test set of ds.
func mnistSets(e *env, ds *datasets.Dataset, dir string, limit int) (train, test *datasets.Set, err error) {
	if dir, err = mnistDir(e, ds, dir, false); err != nil {
		return nil, nil, err
	}
	if err := checkDataFiles(ds, dir, datasets.MNISTTrainImages, datasets.MNISTTrainLabels, datasets.MNISTTestImages, datasets.MNISTTestLabels); err != nil {
		return nil, nil, err
	}
	if train, err = datasets.LoadMNISTTrain(dir, limit); err != nil {
		return nil, nil, dataAdvice(err, ds, dir)
	}
	if test, err = datasets.LoadMNISTTest(dir); err != nil {
		return nil, nil, dataAdvice(err, ds, dir)
	}
	if err := checkTestSet(ds, dir, test); err != nil {
		return nil, nil, err
	}
	if other := datasets.IdentifyTrainSet(dir); other != nil && other != ds {
		return nil, nil, fmt.Errorf("--data-dir %s: its training files are %s's, not %s's; give a directory of %s's four files (graphtrain data fetch --dataset %s --dir DIR)", dir, other.Title, ds.Title, ds.Title, ds.Name)
	}
	return train, test, nil
}

// mnistTest loads only the test set of ds, for eval and predict.
func mnistTest(e *env, ds *datasets.Dataset, dir string) (*datasets.Set, error) {
	if ds == datasets.Own {
		if dir == "" {
			return nil, usagef("--data-dir: the model was trained on its own data set; give that set's directory")
		}
		_, test, err := ownSets(dir, 1)
		return test, err
	}
	dir, err := mnistDir(e, ds, dir, true)
	if err != nil {
		return nil, err
	}
	if err := checkDataFiles(ds, dir, datasets.MNISTTestImages, datasets.MNISTTestLabels); err != nil {
		return nil, err
	}
	test, err := datasets.LoadMNISTTest(dir)
	if err != nil {
		return nil, dataAdvice(err, ds, dir)
	}
	return test, checkTestSet(ds, dir, test)
}

// checkDataFiles refuses a file of dir that is another known file than its name says:
// another data set's (Fashion-MNIST's images beside MNIST's labels), or the training set's
// under a test file's name, or the reverse. It reads 64 KiB of each, before any is loaded.
func checkDataFiles(ds *datasets.Dataset, dir string, names ...string) error {
	type found struct {
		d  *datasets.Dataset
		is string
	}
	files := make([]found, len(names))
	whole := true // every file the same other set's, under its own name
	for i, name := range names {
		files[i].d, files[i].is = datasets.IdentifyFile(dir, name)
		f := files[i]
		whole = whole && f.d != nil && f.d != ds && f.d == files[0].d && f.is == name
	}
	if whole {
		other := files[0].d
		return fmt.Errorf("--data-dir %s: holds %s, not %s; give the directory of %s, or --dataset %s for %s", dir, other.Title, ds.Title, ds.Title, other.Name, other.Title)
	}
	for i, f := range files {
		if f.d != nil && (f.d != ds || f.is != names[i]) {
			return fmt.Errorf("--data-dir %s: its %s is %s's %s; give a directory of %s's four files, each under its own name (graphtrain data fetch%s --dir DIR)", dir, names[i], f.d.Title, f.is, ds.Title, datasetArg(ds))
		}
	}
	return nil
}

// dataAdvice adds what to do to an error about a broken data file.
func dataAdvice(err error, ds *datasets.Dataset, dir string) error {
	var me *datasets.MissingError
	if errors.As(err, &me) {
		return fmt.Errorf("%s is not in %s: %w; fetch it with 'graphtrain data fetch%s --dir %s'", ds.Title, dir, err, datasetArg(ds), dir)
	}
	var fe *datasets.FileError
	if errors.As(err, &fe) || errors.Is(err, datasets.ErrNotMNIST) {
		flag := ""
		if ds != datasets.MNIST {
			flag = " --dataset " + ds.Name
		}
		return fmt.Errorf("%w; remove it and run 'graphtrain data fetch%s --dir %s' for a good copy", err, flag, dir)
	}
	return err
}

// checkTestSet refuses a test set that is another known data set's than ds (Fashion-MNIST's
// files in a --data-dir given for MNIST, or the reverse).
func checkTestSet(ds *datasets.Dataset, dir string, test *datasets.Set) error {
	if other := datasets.IdentifyTestSet(test.Labels); other != nil && other != ds {
		return fmt.Errorf("--data-dir %s: holds %s, not %s; give the directory of %s, or --dataset %s for %s", dir, other.Title, ds.Title, ds.Title, other.Name, other.Title)
	}
	return nil
}

type evalOpts struct {
	weights, dataDir, dataset string
	confusion                 bool
}

// loadMNISTModel loads --weights, checks that it holds an MNIST model, and returns it with
// the data set it was trained on. dataset is the --dataset flag ("" when not given): when
// given it must be the checkpoint's.
func loadMNISTModel(weights, dataset string) (*model.Model, *datasets.Dataset, error) {
	if weights == "" {
		return nil, nil, usagef("--weights DIR is required (a directory written by 'graphtrain train mnist')")
	}
	var want *datasets.Dataset
	if dataset != "" {
		var err error
		if want, err = datasetFlag(dataset); err != nil {
			return nil, nil, err
		}
	}
	m, _, ck, err := checkpoint.LoadCheckpoint(weights)
	if err != nil {
		return nil, nil, checkpointError("--weights", err, "give the --out of a 'graphtrain train mnist' run")
	}
	if !m.Spec.Classifier() {
		return nil, nil, fmt.Errorf("--weights %s: holds a %s model, not an MNIST model (%s); %s", weights, m.Spec.Kind, orList(mnistKinds()), mnistRunAdvice)
	}
	ds, err := datasetFlag(ck.Dataset())
	if err != nil {
		return nil, nil, fmt.Errorf("--weights %s: %v; its model.json names a data set graphtrain does not know: give --dataset", weights, err)
	}
	if want != nil && want != ds {
		return nil, nil, usagef("--dataset %s: the %s model in --weights %s was trained on %s, and measures nothing on %s; leave out --dataset, or give --dataset %s",
			want.Name, m.Spec.Kind, weights, ds.Title, want.Title, ds.Name)
	}
	return m, ds, nil
}

func runEvalMNIST(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*evalOpts)
	if fs.NArg() > 0 {
		return usagef("eval mnist takes no arguments, got %q", fs.Args())
	}
	m, ds, err := loadMNISTModel(o.weights, o.dataset)
	if err != nil {
		return err
	}
	test, err := mnistTest(e, ds, o.dataDir)
	if err != nil {
		return err
	}
	pred, err := predictTest(e, m, test.Images)
	if err != nil {
		return err
	}
	acc := train.Accuracy(pred, test.Labels)
	conf := train.Confusion(pred, test.Labels)
	on := ""
	if ds != datasets.MNIST {
		on = " on " + ds.Title
	}
	e.resultf("%s model in %s: test accuracy%s %.2f%% (%d of %d)\n", m.Spec.Kind, o.weights, on, 100*acc, int(math.Round(acc*float64(test.N))), test.N)
	classes := min(m.Spec.Outputs, model.Classes) // the confusion matrix holds ten
	perClass := make([]float64, classes)
	for d := 0; d < classes; d++ {
		total := 0
		for p := 0; p < model.Classes; p++ {
			total += conf[d][p]
		}
		if total > 0 {
			perClass[d] = float64(conf[d][d]) / float64(total)
		}
		if ds == datasets.MNIST {
			e.printf("  digit %d: %6.2f%% of %d\n", d, 100*perClass[d], total)
		} else {
			e.printf("  %d %-12s %6.2f%% of %d\n", d, ds.ClassName(d)+":", 100*perClass[d], total)
		}
	}
	if o.confusion {
		e.resultf("\nconfusion matrix (rows: true %s, columns: predicted)\n      ", ds.Noun)
		for p := 0; p < model.Classes; p++ {
			e.resultf("%6d", p)
		}
		e.resultf("\n")
		for d := 0; d < model.Classes; d++ {
			e.resultf("%6d", d)
			for p := 0; p < model.Classes; p++ {
				e.resultf("%6d", conf[d][p])
			}
			e.resultf("\n")
		}
	}
	if e.g.JSON {
		return e.emitJSON(map[string]any{"test_accuracy": acc, "per_class_accuracy": perClass, "confusion": conf, "model": m.Spec.Kind, "weights": o.weights,
			"dataset": ds.Name, "classes": ds.Classes})
	}
	return nil
}

type predictOpts struct {
	weights, dataDir, dataset string
	index                     int
}

func runPredictMNIST(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*predictOpts)
	if err := checkPredictArgs(fs, o); err != nil {
		return err
	}
	m, ds, err := loadMNISTModel(o.weights, o.dataset)
	if err != nil {
		return err
	}
	in, err := predictInput(e, fs, o, ds, m)
	if err != nil {
		return err
	}
	b, err := forwardBackend(e)
	if err != nil {
		return err
	}
	var probs []float64
	if err := train.Logits(b, m, in.pixels, 1, func(l []float32) { probs = train.Softmax(l) }); err != nil {
		return err
	}
	order := make([]int, len(probs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return probs[order[i]] > probs[order[j]] })
	printPrediction(e, ds, in, probs, order)
	if e.g.JSON {
		return e.emitJSON(predictionJSON(ds, in, probs, order[0]))
	}
	return nil
}

// checkPredictArgs checks that predict mnist was given one IMAGE or --index N.
func checkPredictArgs(fs *pflag.FlagSet, o *predictOpts) error {
	switch {
	case fs.NArg() > 1:
		return usagef("predict mnist takes one IMAGE, got %q", fs.Args())
	case fs.NArg() == 1 && fs.Changed("index"):
		return usagef("predict mnist: give an IMAGE or --index N, not both")
	case fs.NArg() == 0 && !fs.Changed("index"):
		return usagef("predict mnist: give an IMAGE file or --index N (a test image)")
	case fs.Changed("index") && o.index < 0:
		return usagef("--index %d: must be at least 0 (a test image)", o.index)
	}
	return nil
}

// predictIn is the picture predict mnist reads: its 28x28 pixels, where it came from and,
// for a test image, its label (-1 for a file).
type predictIn struct {
	pixels []float32
	source string
	label  int
}

// predictInput reads the IMAGE file, prepared as the data set's pictures were, or test image
// --index.
func predictInput(e *env, fs *pflag.FlagSet, o *predictOpts, ds *datasets.Dataset, m *model.Model) (predictIn, error) {
	if fs.NArg() == 1 {
		if ds == datasets.Own {
			return ownPicture(e, fs.Arg(0), m)
		}
		load := datasets.LoadDigit
		if ds == datasets.Fashion {
			load = datasets.LoadFashion
		}
		px, err := load(fs.Arg(0))
		return predictIn{pixels: px, source: fs.Arg(0), label: -1}, pictureAdvice(err, ds)
	}
	if ds != datasets.Own && o.index > 9999 {
		return predictIn{}, usagef("--index %d: must be between 0 and 9999", o.index)
	}
	test, err := mnistTest(e, ds, o.dataDir)
	if err != nil {
		return predictIn{}, err
	}
	if o.index >= test.N {
		return predictIn{}, usagef("--index %d: the test set has %d images", o.index, test.N)
	}
	n := m.Spec.Inputs
	return predictIn{
		pixels: test.Images[o.index*n : (o.index+1)*n],
		source: fmt.Sprintf("test image %d", o.index),
		label:  int(test.Labels[o.index]),
	}, nil
}

// pictureAdvice adds what to do to a picture's error that does not say it (a blank or empty
// picture, one over the size limits).
func pictureAdvice(err error, ds *datasets.Dataset) error {
	if err == nil || strings.Contains(err.Error(), "; ") {
		return err
	}
	what := "one digit, dark on light or light on dark"
	switch ds {
	case datasets.Fashion:
		what = "one piece of clothing on a plain background"
	case datasets.Own:
		what = "what the model was trained on"
	}
	if errors.Is(err, datasets.ErrImageTooLarge) {
		return fmt.Errorf("%w; scale it down (a few hundred pixels a side is plenty)", err)
	}
	return fmt.Errorf("%w; give a PNG, JPEG or GIF picture of %s", err, what)
}

// ownPicture reads a picture for a model trained on its own data set: its grey levels (or
// colours, for 3 channels) scaled to the model's image size, with a warning when they were.
func ownPicture(e *env, path string, m *model.Model) (predictIn, error) {
	img, err := m.Spec.InputShape()
	if err != nil {
		return predictIn{}, err
	}
	if img.H == 0 {
		return predictIn{}, fmt.Errorf("%s: the model reads vectors of %d values, not images; give --index N (a test image)", path, img.C)
	}
	p, err := datasets.LoadPicture(path, img.C, img.H, img.W)
	if err != nil {
		return predictIn{}, pictureAdvice(err, datasets.Own)
	}
	if p.Scaled {
		fmt.Fprintf(e.stderr, "graphtrain: warning: %s is %dx%d pixels; scaled to the model's %dx%d\n", path, p.Width, p.Height, img.W, img.H)
	}
	return predictIn{pixels: p.Pixels, source: path, label: -1}, nil
}

// printPrediction prints the input as text art (not with --quiet), then the answer, the three
// likeliest classes and, for a test image, whether the answer is right.
func printPrediction(e *env, ds *datasets.Dataset, in predictIn, probs []float64, order []int) {
	e.printf("%s, as the model sees it (28x28):\n%s\n", in.source, datasets.DigitArt(in.pixels))
	named := func(c int) string {
		if ds == datasets.MNIST {
			return fmt.Sprint(c)
		}
		return fmt.Sprintf("%d %s", c, ds.ClassName(c))
	}
	e.resultf("%s: %s\n", ds.Noun, named(order[0]))
	for _, d := range order[:3] {
		if ds == datasets.MNIST {
			e.resultf("  %d  %6.2f%%\n", d, 100*probs[d])
		} else {
			e.resultf("  %-14s %6.2f%%\n", named(d), 100*probs[d])
		}
	}
	if in.label >= 0 {
		verdict := "right"
		if in.label != order[0] {
			verdict = "wrong"
		}
		e.resultf("label: %s (%s)\n", named(in.label), verdict)
	}
}

// predictionJSON is predict mnist's --json object.
func predictionJSON(ds *datasets.Dataset, in predictIn, probs []float64, answer int) map[string]any {
	out := map[string]any{"digit": answer, "probabilities": probs, "source": in.source}
	if ds != datasets.MNIST {
		out = map[string]any{"class": answer, "name": ds.ClassName(answer), "probabilities": probs, "source": in.source, "dataset": ds.Name, "classes": ds.Classes}
	}
	if in.label >= 0 {
		out["label"] = in.label
	}
	return out
}

// predictTest predicts every test image with the model on --device's backend (the compiled
// CPU executor unless another is named), as training measures its test accuracy, so that both
// print the same number.
func predictTest(e *env, m *model.Model, images []float32) ([]int, error) {
	b, _, err := selectBackend(e.g.Device)
	if err != nil {
		return nil, err
	}
	return train.PredictOn(b, m, images, predictBatch)
}

// predictBatch is how many test images a forward pass takes at a time.
const predictBatch = 250
