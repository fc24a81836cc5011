package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/spf13/pflag"

	"graphtrain/datasets"
	"graphtrain/graph"
)

type trainMNISTOpts struct {
	model    string
	hidden   layersFlag
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
			o.hidden = layersFlag{256}
			fs.Var(&o.hidden, "hidden", "hidden units of the mlp, a layer's size or a list of them: 512,256 builds 784-512-256-10 (ReLU between layers)")
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
