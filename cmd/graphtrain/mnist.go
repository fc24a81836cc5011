package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
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

// mnistData loads MNIST from dir, or from the data cache (fetching it when missing).
func mnistData(e *env, dir string) (train, test *datasets.Set, err error) {
	if dir == "" {
		if dir, err = datasets.DefaultDir(); err != nil {
			return nil, nil, err
		}
		log := io.Writer(e.stderr)
		if e.g.Quiet {
			log = io.Discard
		}
		if err := datasets.EnsureMNIST(dir, log); err != nil {
			return nil, nil, err
		}
	} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil, fmt.Errorf("--data-dir %s: no such directory; run 'graphtrain data fetch --dir %s' or leave out --data-dir", dir, dir)
	}
	return datasets.LoadMNIST(dir)
}

func runTrainMNIST(e *env, fs *pflag.FlagSet, opts any) error {
	o := opts.(*trainMNISTOpts)
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
	case o.hidden < 1:
		return usagef("--hidden %d: must be at least 1", o.hidden)
	case o.epochs < 0:
		return usagef("--epochs %d: must be at least 1 (or 0 for the model's default)", o.epochs)
	case o.batch < 1:
		return usagef("--batch %d: must be at least 1", o.batch)
	case math.IsNaN(o.lr) || math.IsInf(o.lr, 0) || o.lr < 0:
		return usagef("--lr %v: must be a positive number (or 0 for the solver's default)", o.lr)
	case !(o.valSplit >= 0 && o.valSplit < 1):
		return usagef("--val-split %v: must be in [0, 1)", o.valSplit)
	case o.limit < 0:
		return usagef("--limit %d: must be 0 (all images) or more", o.limit)
	case o.schedule != "constant" && o.schedule != "cosine":
		return usagef("--lr-schedule %q: must be constant or cosine", o.schedule)
	}

	// The model and solver: fresh, or from --resume.
	var (
		m         *graph.Model
		solver    *graph.Solver
		start     int
		bestVal   float64
		resumeDir string
		err       error
	)
	if o.resume != "" {
		resumeDir = o.resume
		if _, err := os.Stat(graph.LastDir(o.resume)); err == nil {
			resumeDir = graph.LastDir(o.resume)
		}
		var ck *graph.Checkpoint
		if m, solver, ck, err = graph.LoadCheckpoint(resumeDir); err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		if m.Spec.Kind != "mlp" && m.Spec.Kind != "cnn" {
			return fmt.Errorf("--resume %s: holds a %s model, not an MNIST model", o.resume, m.Spec.Kind)
		}
		if fs.Changed("model") && o.model != m.Spec.Kind {
			return usagef("--model %s: the checkpoint in --resume %s is a %s", o.model, o.resume, m.Spec.Kind)
		}
		if fs.Changed("hidden") && m.Spec.Kind == "mlp" && o.hidden != m.Spec.Hidden {
			return usagef("--hidden %d: the checkpoint in --resume %s has %d", o.hidden, o.resume, m.Spec.Hidden)
		}
		if solver == nil {
			return fmt.Errorf("--resume %s: the checkpoint holds no solver state; resume from OUT/last of a train mnist run", resumeDir)
		}
		if fs.Changed("solver") && o.solver != solver.Kind {
			return usagef("--solver %s: the checkpoint in --resume %s was trained with %s", o.solver, o.resume, solver.Kind)
		}
		if fs.Changed("lr") && o.lr != solver.LR {
			solver.LR = o.lr
		}
		o.model, start = m.Spec.Kind, ck.Epoch
		if v, ok := ck.Metrics["best_val_accuracy"]; ok {
			bestVal = v
		}
		if h := ck.Hyper; h != nil && h.Model != "" {
			if !fs.Changed("seed") {
				o.seed = h.Seed
			}
			if !fs.Changed("val-split") {
				o.valSplit = h.ValSplit
			}
			if !fs.Changed("batch") {
				o.batch = h.Batch
			}
			if !fs.Changed("limit") {
				o.limit = h.Limit
			}
			if !fs.Changed("lr-schedule") && h.LRSchedule != "" {
				o.schedule = h.LRSchedule
			}
		}
	}
	if o.epochs == 0 {
		o.epochs = defaultEpochs[o.model]
	}
	if start >= o.epochs {
		return usagef("--epochs %d: the checkpoint in --resume %s has done %d epochs already; ask for more", o.epochs, o.resume, start)
	}
	if o.out == "" {
		o.out = filepath.Join("checkpoints", o.model)
		if o.resume != "" {
			o.out = o.resume
			if resumeDir == graph.LastDir(o.resume) {
				o.out = o.resume
			} else if filepath.Base(o.resume) == "last" {
				o.out = filepath.Dir(o.resume)
			}
		}
	}
	if err := checkOutDir(o.out); err != nil {
		return err
	}
	if o.metrics != "" {
		if st, err := os.Stat(o.metrics); err == nil && st.IsDir() {
			return fmt.Errorf("--metrics %s: is a directory; give a file name", o.metrics)
		}
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

	trainSet, testSet, err := mnistData(e, o.dataDir)
	if err != nil {
		return err
	}
	if o.limit > 0 && o.limit < trainSet.N {
		trainSet = trainSet.Head(o.limit)
	}
	trainPart, valPart := trainSet.Split(o.valSplit, o.seed)
	if trainPart.N < o.batch {
		return usagef("--batch %d: larger than the %d training images", o.batch, trainPart.N)
	}
	batches := datasets.NewBatches(trainPart, o.batch, o.seed, true)

	var metricsFile *os.File
	if o.metrics != "" {
		flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if o.resume != "" {
			flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		if metricsFile, err = os.OpenFile(o.metrics, flags, 0o644); err != nil {
			return fmt.Errorf("--metrics: %w", err)
		}
		defer metricsFile.Close()
	}

	what := fmt.Sprintf("%s", o.model)
	if o.model == "mlp" {
		what = fmt.Sprintf("mlp 784-%d-10", m.Spec.Hidden)
	}
	e.printf("training %s on %s: %d training and %d validation images, batch %d, %s lr %g, epochs %d to %d\n",
		what, backend.Name(), trainPart.N, valPart.N, o.batch, solver.Kind, solver.LR, start+1, o.epochs)

	var bar *progressbar.ProgressBar
	var history []graph.EpochStats
	showBar := !e.g.Quiet && isTerminal(e.stdout)
	current := start + 1 // the epoch in progress, for the bar
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
		Progress: func(step, steps int) {
			if !showBar {
				return
			}
			if bar == nil {
				bar = progressbar.NewOptions(steps, progressbar.OptionSetWriter(e.stdout), progressbar.OptionSetWidth(30),
					progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish(),
					progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", current, o.epochs)))
			}
			bar.Set(step)
		},
		OnEpoch: func(st graph.EpochStats) {
			current = st.Epoch + 1
			if bar != nil {
				bar.Finish()
				bar = nil
			}
			best := ""
			if st.Best {
				best = "  (best, saved)"
			}
			e.printf("epoch %3d  loss %.4f  val acc %6.2f%%  %6.1f s  %7.0f samples/s%s\n",
				st.Epoch, st.TrainLoss, 100*st.ValAccuracy, st.Seconds, st.SamplesPerSec, best)
			history = append(history, st) // for --plot
			if metricsFile != nil {
				b, _ := json.Marshal(st)
				metricsFile.Write(append(b, '\n'))
			}
		},
	}
	res, err := graph.Train(m, cfg)
	if err != nil {
		return err
	}
	if res.Interrupted {
		return exitError{130, fmt.Errorf("interrupted: the state is saved in %s; continue with 'graphtrain train mnist --resume %s'", graph.LastDir(o.out), o.out)}
	}

	// The test accuracy of the model saved in OUT, so that 'eval mnist' prints the same.
	best, _, ck, err := graph.LoadCheckpoint(o.out)
	if err != nil {
		return err
	}
	pred, err := graph.Predict(best, testSet.Images, 1000)
	if err != nil {
		return err
	}
	testAcc := graph.Accuracy(pred, testSet.Labels)
	e.printf("test accuracy %.2f%% (the epoch %d model, saved in %s); %.1f s of training, %.0f samples/s\n",
		100*testAcc, ck.Epoch, o.out, res.Seconds, res.SamplesPerSec)
	if o.plot != "" {
		if err := plotTraining(e, o.plot, o.metrics, history); err != nil {
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
		return nil, fmt.Errorf("--weights: %w", err)
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
	_, test, err := mnistData(e, o.dataDir)
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
		_, test, err := mnistData(e, o.dataDir)
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
