package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"

	"graphtrain/datasets"
	"graphtrain/graph"
)

type trainMNISTOpts struct {
	model    string
	hidden   int
	epochs   int
	batch    int
	solver   string
	lr       float64
	valSplit float64
	seed     int64
	dataDir  string
	out      string
	metrics  string
	resume   string
	limit    int
	schedule string
	plot     string
	force    bool
}

// defaultEpochs are the epochs each model needs to reach its accuracy goal with the other
// defaults (Adam, lr 1e-3, batch 128): see README.md for the figures.
var defaultEpochs = map[string]int{"mlp": 10, "cnn": 10}

// defaultLR is each solver's default learning rate.
var defaultLR = map[string]float64{"adam": 1e-3, "sgd": 0.1, "momentum": 0.01}

func init() {
	register(&command{
		path:  "train mnist",
		short: "train a digit recogniser (MLP or LeNet-style convnet) on MNIST",
		long: `Trains on MNIST's 60000 training images less a validation split, printing per epoch the
training loss, the validation accuracy, the time and the samples per second. At every epoch
end it saves the latest state (solver included) in OUT/last and the best model by validation
accuracy in OUT, then reports the test accuracy of the model in OUT. Ctrl-C finishes the
current step, saves OUT/last and exits with status 130; --resume OUT continues from there.
Without --data-dir, MNIST is read from (and if missing fetched into) the data cache, as
'graphtrain data fetch' does.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &trainMNISTOpts{}
			fs.StringVar(&o.model, "model", "mlp", "mlp (784-H-10, ReLU) or cnn (LeNet-style convnet)")
			fs.IntVar(&o.hidden, "hidden", 256, "hidden units of the mlp")
			fs.IntVar(&o.epochs, "epochs", 0, "epochs to train in all (with --resume, counting those done); 0: the model's default (mlp 10, cnn 10)")
			fs.IntVar(&o.batch, "batch", 128, "examples per training step; the last partial batch of an epoch is dropped")
			fs.StringVar(&o.solver, "solver", "adam", "adam, sgd or momentum (0.9)")
			fs.Float64Var(&o.lr, "lr", 0, "learning rate; 0: the solver's default (adam 1e-3, sgd 0.1, momentum 0.01)")
			fs.StringVar(&o.schedule, "lr-schedule", "constant", "constant, or cosine: the rate falls along half a cosine wave from --lr in the first epoch towards 0 in the last")
			fs.Float64Var(&o.valSplit, "val-split", 0.1, "fraction of the training images held out for validation, in [0, 1)")
			fs.Int64Var(&o.seed, "seed", 1, "seed for the starting weights, the validation split and the shuffling")
			fs.StringVar(&o.dataDir, "data-dir", "", "directory with the four MNIST files (default: $GRAPHTRAIN_DATA or the user cache, fetched when missing)")
			fs.StringVar(&o.out, "out", "", "checkpoint directory (default checkpoints/MODEL): the best model, and the latest state in OUT/last")
			fs.StringVar(&o.metrics, "metrics", "", "write one JSON line per epoch to this file (appended to with --resume)")
			fs.StringVar(&o.resume, "resume", "", "continue training from this checkpoint directory (OUT of an earlier run, or its OUT/last)")
			fs.StringVar(&o.plot, "plot", "", "at the end, draw the loss and validation accuracy per epoch into this PNG (from --metrics when given)")
			fs.BoolVar(&o.force, "force", false, "replace a checkpoint already in --out; with --resume, accept a --batch, --seed, --limit or --val-split other than the checkpoint's")
			fs.IntVar(&o.limit, "limit", 0, "use only the first N training images (before the validation split), for quick experiments; 0: all")
			return o
		},
		run: runTrainMNIST,
	})
	register(&command{
		path:  "eval mnist",
		short: "measure a trained MNIST model on the 10000 test images",
		long: `Prints the test accuracy and the accuracy of each digit; with --confusion, the confusion matrix.
The forward pass runs on the CPU whatever --device says (10000 images take a second or two).`,
		flags: func(fs *pflag.FlagSet) any {
			o := &evalOpts{}
			fs.StringVar(&o.weights, "weights", "", "checkpoint directory of a trained MNIST model (required)")
			fs.StringVar(&o.dataDir, "data-dir", "", "directory with the MNIST files (default: the data cache, fetched when missing)")
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
probabilities, and the 28x28 input as text art. An image of any size is prepared as the MNIST
digits were: made grey, inverted when its background is light (dark ink on white paper),
cropped to the ink, scaled to fit 20x20 and centred by its centre of mass in 28x28. The
forward pass runs on the CPU.`,
		flags: func(fs *pflag.FlagSet) any {
			o := &predictOpts{}
			fs.StringVar(&o.weights, "weights", "", "checkpoint directory of a trained MNIST model (required)")
			fs.IntVar(&o.index, "index", -1, "use test image N (0-9999) instead of an image file")
			fs.StringVar(&o.dataDir, "data-dir", "", "directory with the MNIST files, for --index (default: the data cache)")
			return o
		},
		run: runPredictMNIST,
	})
}

// mnistDir resolves --data-dir: the directory given, which must exist, or the data cache,
// fetched into when missing.
func mnistDir(e *env, dir string) (string, error) {
	if dir == "" {
		dir, err := datasets.DefaultDir()
		if err != nil {
			return "", err
		}
		log := io.Writer(e.stderr)
		if e.g.Quiet {
			log = io.Discard
		}
		if err := datasets.EnsureMNIST(dir, log); err != nil {
			return "", err
		}
		return dir, nil
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("--data-dir %s: no such directory; run 'graphtrain data fetch --dir %s' or leave out --data-dir", dir, dir)
	}
	return dir, nil
}

// mnistData loads MNIST from dir, or from the data cache (fetching it when missing).
func mnistData(e *env, dir string) (train, test *datasets.Set, err error) {
	return mnistSets(e, dir, 0)
}

// mnistSets loads the training set (its first limit images when limit > 0, reading no
// further) and the test set.
func mnistSets(e *env, dir string, limit int) (train, test *datasets.Set, err error) {
	if dir, err = mnistDir(e, dir); err != nil {
		return nil, nil, err
	}
	if train, err = datasets.LoadMNISTTrain(dir, limit); err != nil {
		return nil, nil, err
	}
	if test, err = datasets.LoadMNISTTest(dir); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// mnistTest loads only the test set, for eval and predict.
func mnistTest(e *env, dir string) (*datasets.Set, error) {
	dir, err := mnistDir(e, dir)
	if err != nil {
		return nil, err
	}
	return datasets.LoadMNISTTest(dir)
}

func runTrainMNIST(e *env, fs *pflag.FlagSet, opts any) (err error) {
	o := opts.(*trainMNISTOpts)
	if err := checkTrainMNISTFlags(fs, o); err != nil {
		return err
	}
	r, err := resumeMNIST(fs, o)
	if err != nil {
		return err
	}
	if o.epochs == 0 {
		o.epochs = defaultEpochs[o.model]
	}
	if r != nil && r.start >= o.epochs {
		return usagef("--epochs %d: the checkpoint in --resume %s has done %d epochs already; ask for more", o.epochs, o.resume, r.start)
	}
	if o.out == "" {
		o.out = filepath.Join("checkpoints", o.model)
		if r != nil {
			o.out = r.outDir
		}
	}

	// Everything that will be written is claimed or checked before the first step.
	replace := o.force || (r != nil && sameDir(r.outDir, o.out))
	out, err := claimOut("--out", o.out, replace,
		"add --force to replace it, --resume "+o.out+" to continue it, or choose another --out")
	if err != nil {
		return err
	}
	saved := false
	defer func() { out.release(saved) }()
	metrics := &metricsLog{path: o.metrics, appendTo: r != nil}
	if o.metrics != "" {
		if err := checkWritable("--metrics", o.metrics); err != nil {
			return err
		}
		defer metrics.close()
	}
	if o.plot != "" {
		if err := checkWritable("--plot", o.plot); err != nil {
			return err
		}
	}

	// The model and solver: fresh, or from --resume; a fresh one only once the job is known
	// to fit in memory.
	m, solver, start, bestVal := (*graph.Model)(nil), (*graph.Solver)(nil), 0, 0.0
	if r != nil {
		m, solver, start, bestVal = r.model, r.solver, r.start, r.bestVal
	}
	spec, err := graph.SpecFor(o.model, o.hidden, false)
	if m != nil {
		spec = m.Spec
	} else if err != nil {
		return usagef("--hidden %d: %v", o.hidden, err)
	}
	if err := checkTrainMemory(spec, o); err != nil {
		return err
	}
	if m == nil {
		if m, err = newModel(o.model, o.hidden, false, o.seed); err != nil {
			return err
		}
		if o.lr == 0 {
			o.lr = defaultLR[o.solver]
		}
		if solver, err = graph.NewSolver(o.solver, o.lr); err != nil {
			return err
		}
	}
	backend, note, err := graph.SelectBackend(e.g.Device)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(e.stderr, "graphtrain: %s\n", note)
	}

	trainSet, testSet, err := mnistSets(e, o.dataDir, o.limit)
	if err != nil {
		return err
	}
	trainPart, valPart := trainSet.Split(o.valSplit, o.seed)
	if trainPart.N < o.batch {
		if o.valSplit > 0 && trainSet.N >= o.batch {
			return usagef("--val-split %v: leaves %d training images, fewer than one batch of %d; lower --val-split", o.valSplit, trainPart.N, o.batch)
		}
		return usagef("--batch %d: larger than the %d training images", o.batch, trainPart.N)
	}
	batches := datasets.NewBatches(trainPart, o.batch, o.seed, true)

	what := o.model
	if o.model == "mlp" {
		what = fmt.Sprintf("mlp 784-%d-10", m.Spec.Hidden)
	}
	e.printf("training %s on %s: %d training and %d validation images, batch %d, %s lr %g, epochs %d to %d\n",
		what, backend.Name(), trainPart.N, valPart.N, o.batch, solver.Kind, solver.LR, start+1, o.epochs)

	show := newEpochPrinter(e, start, o.epochs)
	var metricsErr error
	cfg := graph.TrainConfig{
		Epochs: o.epochs, Batch: o.batch, Solver: solver, Backend: backend, Fallback: autoFallback(e),
		Train:      batchSource{batches},
		Val:        graph.Labelled{Images: valPart.Images, Labels: valPart.Labels},
		Out:        o.out,
		StartEpoch: start,
		BestVal:    bestVal,
		Seed:       o.seed,
		Hyper: &graph.Hyperparameters{Model: o.model, Batch: o.batch, Solver: solver.Kind, LR: solver.LR,
			ValSplit: o.valSplit, Seed: o.seed, Epochs: o.epochs, Limit: o.limit, LRSchedule: o.schedule},
		Stop: e.stopRequested,
		Warn: func(msg string) { fmt.Fprintf(e.stderr, "graphtrain: %s\n", msg) },
		Schedule: map[string]func(int) float64{
			"constant": nil,
			"cosine":   graph.Cosine(solver.LR, o.epochs),
		}[o.schedule],
		Progress: show.progress,
		OnEpoch: func(st graph.EpochStats) {
			saved = true
			show.epoch(st)
			if err := metrics.write(st); err != nil && metricsErr == nil {
				metricsErr = err
			}
		},
	}
	res, err := graph.Train(m, cfg)
	if res != nil && res.Interrupted {
		saved = true
	}
	if err != nil {
		return trainError(err, o.out)
	}
	if metricsErr != nil {
		return metricsErr
	}
	if res.Interrupted {
		return exitError{e.interruptCode(), fmt.Errorf("interrupted: the state is saved in %s; continue with 'graphtrain train mnist --resume %s'", graph.LastDir(o.out), o.out)}
	}

	// The test accuracy of the model saved in OUT, so that 'eval mnist' prints the same.
	best, _, ck, err := graph.LoadCheckpoint(o.out)
	if err != nil {
		return fmt.Errorf("--out %s: the model just saved does not load: %v", o.out, err)
	}
	pred, err := graph.Predict(best, testSet.Images, 1000)
	if err != nil {
		return err
	}
	testAcc := graph.Accuracy(pred, testSet.Labels)
	e.printf("test accuracy %.2f%% (the epoch %d model, saved in %s); %.1f s of training, %.0f samples/s\n",
		100*testAcc, ck.Epoch, o.out, res.Seconds, res.SamplesPerSec)
	if o.plot != "" {
		if err := plotTraining(e, o.plot, o.metrics, show.history); err != nil {
			return err
		}
	}
	if e.g.JSON {
		return e.emitJSON(map[string]any{
			"test_accuracy": testAcc, "val_accuracy": ck.Metrics["val_accuracy"], "epochs": res.Epochs,
			"best_epoch": ck.Epoch, "seconds": res.Seconds, "samples_per_second": res.SamplesPerSec,
			"device": res.Device, "model": o.model, "out": o.out,
		})
	}
	return nil
}

// checkTrainMNISTFlags checks train mnist's flags on their own.
func checkTrainMNISTFlags(fs *pflag.FlagSet, o *trainMNISTOpts) error {
	if fs.NArg() > 0 {
		return usagef("train mnist takes no arguments, got %q", fs.Args())
	}
	if _, ok := defaultEpochs[o.model]; !ok {
		return usagef("--model %q: must be mlp or cnn", o.model)
	}
	if _, ok := defaultLR[o.solver]; !ok {
		return usagef("--solver %q: must be adam, sgd or momentum", o.solver)
	}
	switch {
	case o.hidden < 1 || o.hidden > graph.MaxHidden:
		return usagef("--hidden %d: must be between 1 and %d", o.hidden, graph.MaxHidden)
	case o.epochs < 0 || o.epochs > maxEpochs:
		return usagef("--epochs %d: must be between 1 and %d (or 0 for the model's default)", o.epochs, maxEpochs)
	case o.batch < 1 || o.batch > datasets.MNISTTrainN:
		return usagef("--batch %d: must be between 1 and %d", o.batch, datasets.MNISTTrainN)
	case math.IsNaN(o.lr) || math.IsInf(o.lr, 0) || o.lr < 0:
		return usagef("--lr %v: must be a positive number (or 0 for the solver's default)", o.lr)
	case !(o.valSplit >= 0 && o.valSplit < 1):
		return usagef("--val-split %v: must be in [0, 1)", o.valSplit)
	case o.limit < 0:
		return usagef("--limit %d: must be 0 (all images) or more", o.limit)
	case o.schedule != "constant" && o.schedule != "cosine":
		return usagef("--lr-schedule %q: must be constant or cosine", o.schedule)
	}
	if o.dataDir != "" {
		if st, err := os.Stat(o.dataDir); err != nil || !st.IsDir() {
			return fmt.Errorf("--data-dir %s: no such directory; run 'graphtrain data fetch --dir %s' or leave out --data-dir", o.dataDir, o.dataDir)
		}
	}
	return nil
}

// maxEpochs bounds --epochs: far beyond any useful run.
const maxEpochs = 100000

// checkTrainMemory estimates the job (model, solver, activations of a batch, the images) and
// refuses one the machine cannot hold.
func checkTrainMemory(spec graph.Spec, o *trainMNISTOpts) error {
	slots := map[string]int{"sgd": 0, "momentum": 1, "adam": 2}[o.solver]
	need, err := spec.TrainBytes(o.batch, slots)
	if err != nil {
		return err
	}
	images := int64(datasets.MNISTTrainN)
	if o.limit > 0 && int64(o.limit) < images {
		images = int64(o.limit)
	}
	// float32 pixels of the training and test images, the batches' shuffled copy.
	need += (2*images + datasets.MNISTTestN) * datasets.MNISTPixels * 4
	advice := "lower --batch"
	if spec.Kind == "mlp" {
		advice = "lower --hidden or --batch"
	}
	return checkMemory(need, advice)
}

// resumed is what --resume brings: the model, its solver and where training stopped.
type resumed struct {
	model   *graph.Model
	solver  *graph.Solver
	start   int     // epochs done
	bestVal float64 // best validation accuracy so far
	dir     string  // the checkpoint read: OUT/last, or the directory given
	outDir  string  // the OUT it belongs to
}

// resumeMNIST loads --resume, when given, and reconciles the flags with it: what the
// checkpoint was trained with is taken unless the flag is given; a flag that would break
// "continues exactly as an uninterrupted run would" is refused unless --force.
func resumeMNIST(fs *pflag.FlagSet, o *trainMNISTOpts) (*resumed, error) {
	if o.resume == "" {
		return nil, nil
	}
	r := &resumed{dir: o.resume, outDir: o.resume}
	if st, err := os.Stat(graph.LastDir(o.resume)); err == nil && st.IsDir() {
		r.dir = graph.LastDir(o.resume)
	} else if filepath.Base(filepath.Clean(o.resume)) == "last" {
		r.outDir = filepath.Dir(filepath.Clean(o.resume))
	}
	m, solver, ck, err := graph.LoadCheckpoint(r.dir)
	if err != nil {
		return nil, checkpointError("--resume", err, "give the --out of a 'graphtrain train mnist' run")
	}
	if m.Spec.Kind != "mlp" && m.Spec.Kind != "cnn" {
		return nil, fmt.Errorf("--resume %s: holds a %s model, not an MNIST model", o.resume, m.Spec.Kind)
	}
	if fs.Changed("model") && o.model != m.Spec.Kind {
		return nil, usagef("--model %s: the checkpoint in --resume %s is a %s", o.model, o.resume, m.Spec.Kind)
	}
	if fs.Changed("hidden") && m.Spec.Kind == "mlp" && o.hidden != m.Spec.Hidden {
		return nil, usagef("--hidden %d: the checkpoint in --resume %s has %d", o.hidden, o.resume, m.Spec.Hidden)
	}
	if solver == nil {
		return nil, fmt.Errorf("--resume %s: the checkpoint holds no solver state; resume from OUT/last of a train mnist run", r.dir)
	}
	if fs.Changed("solver") && o.solver != solver.Kind {
		return nil, usagef("--solver %s: the checkpoint in --resume %s was trained with %s", o.solver, o.resume, solver.Kind)
	}
	if fs.Changed("lr") && o.lr != solver.LR {
		solver.LR = o.lr
	}
	o.model, o.hidden, o.solver = m.Spec.Kind, max(m.Spec.Hidden, 1), solver.Kind
	r.model, r.solver, r.start = m, solver, ck.Epoch
	if v, ok := ck.Metrics["best_val_accuracy"]; ok {
		r.bestVal = v
	}
	if h := ck.Hyper; h != nil && h.Model != "" {
		for _, c := range []struct {
			flag     string
			set, was any
			take     func()
		}{
			{"batch", o.batch, h.Batch, func() { o.batch = h.Batch }},
			{"seed", o.seed, h.Seed, func() { o.seed = h.Seed }},
			{"limit", o.limit, h.Limit, func() { o.limit = h.Limit }},
			{"val-split", o.valSplit, h.ValSplit, func() { o.valSplit = h.ValSplit }},
		} {
			if !fs.Changed(c.flag) {
				c.take()
				continue
			}
			if c.set != c.was && !o.force {
				return nil, usagef("--%s %v: the checkpoint in --resume %s was trained with --%s %v, and a resumed run continues exactly as an uninterrupted one only with the same; leave --%s out, or add --force", c.flag, c.set, o.resume, c.flag, c.was, c.flag)
			}
		}
		if !fs.Changed("lr-schedule") && h.LRSchedule != "" {
			o.schedule = h.LRSchedule
		}
	}
	return r, nil
}

// sameDir reports whether two paths name the same directory.
func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// trainError turns an error of graph.Train into the CLI's message.
func trainError(err error, out string) error {
	if errors.Is(err, graph.ErrDiverged) {
		msg := strings.TrimPrefix(err.Error(), graph.ErrDiverged.Error()+": ")
		if _, statErr := os.Stat(filepath.Join(out, "model.json")); statErr != nil {
			msg = strings.Replace(msg, "the last good checkpoint is in "+out, "no epoch finished, so nothing was saved", 1)
		}
		return fmt.Errorf("training diverged: %s", msg)
	}
	return err
}

// metricsLog writes the metrics file, one JSON line per epoch. The file is opened at the
// first epoch's end (truncated, or appended to after --resume), so that a run that fails
// before it changes nothing.
type metricsLog struct {
	path     string
	appendTo bool
	f        *os.File
}

func (l *metricsLog) write(st graph.EpochStats) error {
	if l.path == "" {
		return nil
	}
	if l.f == nil {
		flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if l.appendTo {
			flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		f, err := os.OpenFile(l.path, flags, 0o644)
		if err != nil {
			return fmt.Errorf("--metrics %s: cannot be written (%s)", l.path, plainError(err))
		}
		l.f = f
	}
	b, _ := json.Marshal(st)
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("--metrics %s: cannot be written (%s)", l.path, plainError(err))
	}
	return nil
}

func (l *metricsLog) close() {
	if l.f != nil {
		l.f.Close()
	}
}

// epochPrinter shows training's progress: a bar on a terminal while an epoch runs, and a
// line at each epoch's end. It keeps the epochs' figures for --plot.
type epochPrinter struct {
	e       *env
	total   int
	current int // the epoch in progress, for the bar
	bar     *progressbar.ProgressBar
	show    bool
	history []graph.EpochStats
}

func newEpochPrinter(e *env, start, total int) *epochPrinter {
	return &epochPrinter{e: e, total: total, current: start + 1, show: !e.g.Quiet && isTerminal(e.stdout)}
}

func (p *epochPrinter) progress(step, steps int) {
	if !p.show {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions(steps, progressbar.OptionSetWriter(p.e.stdout), progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", p.current, p.total)))
	}
	p.bar.Set(step)
}

func (p *epochPrinter) epoch(st graph.EpochStats) {
	p.current = st.Epoch + 1
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
	best := ""
	if st.Best {
		best = "  (best, saved)"
	}
	p.e.printf("epoch %3d  loss %.4f  val acc %6.2f%%  %6.1f s  %7.0f samples/s%s\n",
		st.Epoch, st.TrainLoss, 100*st.ValAccuracy, st.Seconds, st.SamplesPerSec, best)
	p.history = append(p.history, st)
}

// batchSource adapts datasets.Batches to graph.Batches.
type batchSource struct{ b *datasets.Batches }

func (s batchSource) Reset(epoch int)         { s.b.Reset(epoch) }
func (s batchSource) Next() bool              { return s.b.Next() }
func (s batchSource) Batch() (x, y []float32) { return s.b.X, s.b.Y }
func (s batchSource) Count() int              { return s.b.Count() }

// Examples and Order let a GPU trainer hold the training set (graph.Dataset).
func (s batchSource) Examples() (x, y []float32, n int) { return s.b.Examples() }
func (s batchSource) Order() []int                      { return s.b.Order() }

type evalOpts struct {
	weights, dataDir string
	confusion        bool
}

// loadMNISTModel loads --weights and checks that it holds an MNIST model.
func loadMNISTModel(weights string) (*graph.Model, error) {
	if weights == "" {
		return nil, usagef("--weights DIR is required (a directory written by 'graphtrain train mnist')")
	}
	m, _, _, err := graph.LoadCheckpoint(weights)
	if err != nil {
		return nil, checkpointError("--weights", err, "give the --out of a 'graphtrain train mnist' run")
	}
	if m.Spec.Kind != "mlp" && m.Spec.Kind != "cnn" {
		return nil, fmt.Errorf("--weights %s: holds a %s model, not an MNIST model (mlp or cnn)", weights, m.Spec.Kind)
	}
	return m, nil
}

func runEvalMNIST(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*evalOpts)
	if fs.NArg() > 0 {
		return usagef("eval mnist takes no arguments, got %q", fs.Args())
	}
	m, err := loadMNISTModel(o.weights)
	if err != nil {
		return err
	}
	test, err := mnistTest(e, o.dataDir)
	if err != nil {
		return err
	}
	pred, err := graph.Predict(m, test.Images, 1000)
	if err != nil {
		return err
	}
	acc := graph.Accuracy(pred, test.Labels)
	conf := graph.Confusion(pred, test.Labels)
	e.printf("%s model in %s: test accuracy %.2f%% (%d of %d)\n", m.Spec.Kind, o.weights, 100*acc, int(math.Round(acc*float64(test.N))), test.N)
	perClass := make([]float64, graph.Classes)
	for d := 0; d < graph.Classes; d++ {
		total := 0
		for p := 0; p < graph.Classes; p++ {
			total += conf[d][p]
		}
		if total > 0 {
			perClass[d] = float64(conf[d][d]) / float64(total)
		}
		e.printf("  digit %d: %6.2f%% of %d\n", d, 100*perClass[d], total)
	}
	if o.confusion {
		e.printf("\nconfusion matrix (rows: true digit, columns: predicted)\n      ")
		for p := 0; p < graph.Classes; p++ {
			e.printf("%6d", p)
		}
		e.printf("\n")
		for d := 0; d < graph.Classes; d++ {
			e.printf("%6d", d)
			for p := 0; p < graph.Classes; p++ {
				e.printf("%6d", conf[d][p])
			}
			e.printf("\n")
		}
	}
	if e.g.JSON {
		return e.emitJSON(map[string]any{"test_accuracy": acc, "per_class_accuracy": perClass, "confusion": conf, "model": m.Spec.Kind, "weights": o.weights})
	}
	return nil
}

type predictOpts struct {
	weights, dataDir string
	index            int
}

func runPredictMNIST(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*predictOpts)
	switch {
	case fs.NArg() > 1:
		return usagef("predict mnist takes one IMAGE, got %q", fs.Args())
	case fs.NArg() == 1 && fs.Changed("index"):
		return usagef("predict mnist: give an IMAGE or --index N, not both")
	case fs.NArg() == 0 && !fs.Changed("index"):
		return usagef("predict mnist: give an IMAGE file or --index N (a test image)")
	case fs.Changed("index") && (o.index < 0 || o.index > 9999):
		return usagef("--index %d: must be between 0 and 9999", o.index)
	}
	m, err := loadMNISTModel(o.weights)
	if err != nil {
		return err
	}
	var px []float32
	label := -1
	source := ""
	if fs.NArg() == 1 {
		source = fs.Arg(0)
		if px, err = datasets.LoadDigit(source); err != nil {
			return err
		}
	} else {
		test, err := mnistTest(e, o.dataDir)
		if err != nil {
			return err
		}
		if o.index >= test.N {
			return usagef("--index %d: the test set has %d images", o.index, test.N)
		}
		px = test.Images[o.index*graph.ImageSize : (o.index+1)*graph.ImageSize]
		label = int(test.Labels[o.index])
		source = fmt.Sprintf("test image %d", o.index)
	}
	var probs []float64
	if err := graph.Logits(m, px, 1, func(l []float32) { probs = graph.Softmax(l) }); err != nil {
		return err
	}
	order := make([]int, len(probs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return probs[order[i]] > probs[order[j]] })
	digit := order[0]
	if !e.g.Quiet {
		w := bufio.NewWriter(e.stdout)
		fmt.Fprintf(w, "%s, as the model sees it (28x28):\n%s\n", source, datasets.DigitArt(px))
		fmt.Fprintf(w, "digit: %d\n", digit)
		for _, d := range order[:3] {
			fmt.Fprintf(w, "  %d  %6.2f%%\n", d, 100*probs[d])
		}
		if label >= 0 {
			verdict := "right"
			if label != digit {
				verdict = "wrong"
			}
			fmt.Fprintf(w, "label: %d (%s)\n", label, verdict)
		}
		w.Flush()
	}
	if e.g.JSON {
		out := map[string]any{"digit": digit, "probabilities": probs, "source": source}
		if label >= 0 {
			out["label"] = label
		}
		return e.emitJSON(out)
	}
	return nil
}
