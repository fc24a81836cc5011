package main

// train mnist: flags checked, --resume reconciled, outputs claimed, memory estimated, then
// train.Train with an epoch printer and a metrics log; the test accuracy of the model saved.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"

	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/datasets"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/train"
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
	dataset  string
	arch     string
	target   float64

	weightDecay float64 // adamw's λ
	smoothing   float64 // label smoothing's ε
	warmup      int     // steps of linear warmup
	augment     string  // --augment's list, "" for none
}

// trainKinds are the kinds train mnist trains: every named classifier (mlp, cnn) and
// customKind (--arch). Each has a recipe on each data set (recipe.go).
var trainKinds = func() map[string]bool {
	m := map[string]bool{customKind: true}
	for _, kind := range model.NamedKinds() {
		if s, err := model.SpecFor(kind, 1, true); err == nil && s.Classifier() {
			m[kind] = true
		}
	}
	return m
}()

// mnistKinds are the named kinds train mnist trains: mlp, cnn.
func mnistKinds() []string {
	var kinds []string
	for _, kind := range model.NamedKinds() {
		if trainKinds[kind] {
			kinds = append(kinds, kind)
		}
	}
	return kinds
}

// customKind is the kind of a model given by --arch.
const customKind = "custom"

// defaultLR is each solver's default learning rate.
var defaultLR = model.DefaultLR

func init() {
	register(&command{
		path:  "train mnist",
		short: "train a classifier (an MLP, a LeNet-style convnet or your own network) on MNIST-format data",
		long: `Trains on MNIST's 60000 training images less a validation split, printing per epoch the
training loss, the validation accuracy, the time and the samples per second. At every epoch
end it saves the latest state (solver included) in OUT/last and the best model by validation
accuracy in OUT, then reports the test accuracy of the model in OUT. Ctrl-C finishes the
current step, saves OUT/last and exits with status 130; --resume OUT continues from there.
Without --data-dir, the data set is read from (and if missing fetched into) the data cache,
as 'graphtrain data fetch' does. --dataset fashion trains on Fashion-MNIST instead (ten
kinds of clothing in the same format); the checkpoint remembers which. With --quiet, the
final line only (the test accuracy).

A fresh run takes each of --epochs, --solver, --lr, --weight-decay, --lr-schedule,
--label-smoothing and --augment left out from its model's recipe on its data set:` + recipesHelp(),
		flags: trainMNISTFlags,
		run:   runTrainMNIST,
	})
}

// trainMNISTFlags declares train mnist's flags.
func trainMNISTFlags(fs *pflag.FlagSet) any {
	o := &trainMNISTOpts{}
	fs.StringVar(&o.model, "model", "mlp", modelFlagHelp())
	fs.StringVar(&o.arch, "arch", "", "your own network instead of --model: a model description, or @FILE to read one from FILE ('#' starts a comment): layers separated by spaces, "+archLayersHelp)
	o.hidden = layersFlag{256}
	fs.Var(&o.hidden, "hidden", "hidden units of the mlp, a layer's size or a list of them: 512,256 builds 784-512-256-10 (ReLU between layers)")
	fs.IntVar(&o.epochs, "epochs", 0, "epochs to train in all (with --resume, counting those done); 0: the recipe's (below)")
	fs.IntVar(&o.batch, "batch", 128, "examples per training step; the last partial batch of an epoch is dropped")
	fs.StringVar(&o.solver, "solver", "", "adam, adamw (Adam with decoupled weight decay: --weight-decay), sgd or momentum (0.9); default: the recipe's (below)")
	fs.Float64Var(&o.lr, "lr", 0, "learning rate; 0: the recipe's, or for a --solver other than the recipe's that solver's default ("+defaultsText(defaultLR, model.Solvers...)+")")
	fs.StringVar(&o.schedule, "lr-schedule", "", "default: the recipe's (below); constant; cosine: the rate falls along half a cosine wave from --lr in the first epoch towards 0 in the last; onecycle: step by step from --lr/25 up to --lr over the first 30% of the steps, then down to --lr/25/10000 by the last of --epochs (PyTorch's OneCycleLR)")
	fs.IntVar(&o.warmup, "warmup", 0, "raise the learning rate linearly over the first N training steps, from --lr/N to the schedule's (constant or cosine); 0: no warmup")
	fs.Float64Var(&o.weightDecay, "weight-decay", model.DefaultWeightDecay, "with --solver adamw: each step first shrinks the weight matrices and filters (not the biases) by lr·W of themselves, in [0, 1]; default: the recipe's when its solver is adamw, else this")
	fs.StringVar(&o.augment, "augment", "", augmentHelp)
	fs.Float64Var(&o.smoothing, "label-smoothing", 0, "train on the targets (1−E)·onehot + E/classes instead of one-hot, E in [0, 1); the accuracy measured is unaffected; default: the recipe's (below)")
	fs.Float64Var(&o.valSplit, "val-split", 0.1, "fraction of the training images held out for validation, in [0, 1)")
	fs.Int64Var(&o.seed, "seed", 1, "seed for the starting weights, the validation split and the shuffling")
	fs.StringVar(&o.dataset, "dataset", "mnist", "mnist (handwritten digits), fashion (Fashion-MNIST: ten kinds of clothing, same format) or own (your own set in MNIST's format in --data-dir, any image size and classes; with --arch)")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory with the data set's four files (default: $GRAPHTRAIN_DATA or the user cache for mnist, $GRAPHTRAIN_FASHION_DATA or the user cache for fashion; fetched when missing)")
	fs.StringVar(&o.out, "out", "", "checkpoint directory (default checkpoints/MODEL): the best model, and the latest state in OUT/last")
	fs.StringVar(&o.metrics, "metrics", "", "write one JSON line per epoch to this file (appended to with --resume): "+metricsFields())
	fs.StringVar(&o.resume, "resume", "", "continue training from this checkpoint directory (OUT of an earlier run, or its OUT/last); with another --out, that OUT starts with the earlier run's best model")
	fs.StringVar(&o.plot, "plot", "", "at the end, draw the loss and validation accuracy per epoch into this PNG (from --metrics when given)")
	fs.BoolVar(&o.force, "force", false, "replace a checkpoint already in --out; with --resume, accept a --batch, --seed, --limit, --val-split, --warmup, --label-smoothing or --augment other than the checkpoint's")
	fs.Float64Var(&o.target, "target-accuracy", 0, "stop at the end of the first epoch whose validation accuracy reaches this fraction, in (0, 1]; 0: train every epoch (--json: seconds_to_target)")
	fs.IntVar(&o.limit, "limit", 0, "use only the first N training images (before the validation split), for quick experiments; 0: all")
	return o
}

// defaultsText lists a map's defaults in the order of keys: "mlp 10, cnn 10".
func defaultsText[V any](m map[string]V, keys ...string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %v", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// metricsFields lists the fields of a --metrics line, the JSON names of train.EpochStats.
func metricsFields() string {
	t := reflect.TypeFor[train.EpochStats]()
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

func runTrainMNIST(e *env, fs *pflag.FlagSet, opts any) (err error) {
	o := opts.(*trainMNISTOpts)
	if err := checkTrainMNISTFlags(fs, o); err != nil {
		return err
	}
	resumeOut, err := resolveTrainOut(o)
	if err != nil {
		return err
	}
	// Everything that will be written is claimed or checked before the first step; --out is
	// claimed (locked) before --resume is read, so that resuming the OUT another run is
	// writing fails on its lock, not on a checkpoint caught between two saves.
	out, metrics, err := claimTrainOutputs(o, resumeOut)
	if err != nil {
		return err
	}
	saved := false
	defer func() { out.release(saved); metrics.close() }()

	job, err := newTrainJob(fs, o)
	if err != nil {
		return err
	}
	backend, err := trainingBackend(e)
	if err != nil {
		return err
	}
	data, err := loadTrainData(e, o, job.model.Spec.Outputs)
	if err != nil {
		return err
	}
	e.printf("training %s on %s: %d training and %d validation images, batch %d, %s, epochs %d to %d\n",
		job.title(data.ds), backend.Name(), data.train.N, data.val.N, o.batch, recipeText(job.solver, o), job.start+1, o.epochs)

	show := newEpochPrinter(e, job.start, o.epochs)
	ends := &epochEnds{o: o, job: job, show: show, metrics: metrics, carry: resumedElsewhere(o, job)}
	cfg := trainConfig(e, o, job, data)
	cfg.Backend, cfg.Progress, cfg.OnEpoch = backend, show.progress, ends.end
	res, err := trainGracefully(e, job.model, cfg)
	saved = ends.saved || res != nil && res.Interrupted
	if err != nil {
		return trainError(err, o.out)
	}
	if ends.err != nil {
		return ends.err
	}
	if err := interruptedTraining(e, o, res); err != nil {
		return err
	}
	return reportTrainMNIST(e, o, res, data.test, show.history)
}

// interruptedTraining is the exit of a training run a signal stopped: in the loop (its state
// saved), or as the last epoch was saved, after the loop's last look (stopped before the
// test pass); nil when no signal came.
func interruptedTraining(e *env, o *trainMNISTOpts, res *train.TrainResult) error {
	switch {
	case res.Interrupted:
		return exitError{e.interruptCode(), fmt.Errorf("interrupted: the state is saved in %s; continue with 'graphtrain train mnist --resume %s'", checkpoint.LastDir(o.out), o.out)}
	case e.stopRequested():
		return exitError{e.interruptCode(), fmt.Errorf("interrupted: training had ended, its model is saved in %s; measure it with 'graphtrain eval mnist --weights %s'", o.out, o.out)}
	}
	return nil
}

// trainGracefully trains m: a signal meanwhile stops it after saving its state.
func trainGracefully(e *env, m *model.Model, cfg train.TrainConfig) (res *train.TrainResult, err error) {
	e.gracefully(func() { res, err = train.Train(m, cfg) })
	return res, err
}

// resolveTrainOut checks --resume and fills in --out's default: the OUT --resume belongs
// to, else checkpoints/MODEL. It returns that OUT of --resume ("" without --resume).
func resolveTrainOut(o *trainMNISTOpts) (resumeOut string, err error) {
	if o.resume != "" {
		if st, err := os.Stat(o.resume); err != nil || !st.IsDir() {
			return "", fmt.Errorf("--resume %s: no such directory; give the --out of a 'graphtrain train mnist' run", o.resume)
		}
		_, resumeOut = train.ResumeDirs(o.resume)
	}
	if o.out == "" {
		o.out = filepath.Join("checkpoints", o.model)
		if resumeOut != "" {
			o.out = resumeOut
		}
	}
	return resumeOut, nil
}

// trainJob is what a train mnist run starts from: a fresh model and solver, or those of
// --resume with the epochs done and the best validation accuracy so far.
type trainJob struct {
	model   *model.Model
	solver  *model.Solver
	start   int
	bestVal float64
	from    string // the OUT of the run resumed ("" for a fresh model)
}

// resumedElsewhere reports whether the job resumes a run into an --out other than that run's
// OUT. Such an OUT holds no model yet: the resumed OUT's best model is the one to beat, and
// carryBest copies it in when the first epoch does not beat it. When the resumed OUT holds no
// model that loads (a bare checkpoint directory, or an OUT whose run was stopped before its
// first epoch ended), there is nothing to beat or copy: the first epoch is saved as the best
// (bestVal -1).
func resumedElsewhere(o *trainMNISTOpts, job *trainJob) bool {
	if job.from == "" {
		return false
	}
	if _, _, _, err := checkpoint.LoadCheckpoint(job.from); err != nil {
		job.bestVal = -1
		return false
	}
	return !sameDir(o.out, job.from)
}

// epochEnds is what a train mnist run does at the end of each epoch (train.TrainConfig's
// OnEpoch): it notes that OUT holds a model, copies the resumed run's best into another --out
// when the first epoch does not beat it (carry), prints the epoch and writes its metrics line.
// err is its first failure.
type epochEnds struct {
	o       *trainMNISTOpts
	job     *trainJob
	show    *epochPrinter
	metrics *metricsLog
	carry   bool
	saved   bool
	err     error
}

func (x *epochEnds) end(st train.EpochStats) {
	x.saved = true
	if x.carry && !st.Best && x.err == nil {
		x.err = carryBest(x.o, x.job)
	}
	x.carry = false
	x.show.epoch(st)
	if err := x.metrics.write(st); err != nil && x.err == nil {
		x.err = err
	}
}

// carryBest copies the resumed run's best model into --out (see resumedElsewhere): called at
// the end of the first epoch, when that epoch did not do better, so that a run refused or
// stopped before then writes nothing of it.
func carryBest(o *trainMNISTOpts, job *trainJob) error {
	m, s, ck, err := checkpoint.LoadCheckpoint(job.from)
	if err == nil {
		err = checkpoint.SaveCheckpoint(o.out, m, s, *ck)
	}
	if err != nil {
		return fmt.Errorf("--out %s: cannot copy the resumed run's best model from %s: %v", o.out, job.from, err)
	}
	return nil
}

// title names the model in train's first line: "mlp 784-256-10", "cnn (Fashion-MNIST)".
func (j *trainJob) title(ds *datasets.Dataset) string {
	what := j.model.Spec.Kind
	switch what {
	case "mlp":
		what = "mlp " + j.model.Spec.LayerSizes()
	case customKind:
		what = customKind + " " + j.model.Spec.Description
	}
	if ds != datasets.MNIST {
		what += " (" + ds.Title + ")"
	}
	if a := j.model.Spec.Augment; a != nil {
		what += ", augmented (" + a.String() + ")"
	}
	return what
}

// newTrainJob reads --resume (reconciling the flags with it) or makes a fresh model and
// solver, once the epochs, the split and the job's memory are known to be right.
func newTrainJob(fs *pflag.FlagSet, o *trainMNISTOpts) (*trainJob, error) {
	r, err := resumeMNIST(fs, o)
	if err != nil {
		return nil, err
	}
	if o.epochs == 0 {
		o.epochs = recipeFor(o.dataset, o.model).epochs
	}
	if r != nil && r.start >= o.epochs {
		return nil, usagef("--epochs %d: the checkpoint in --resume %s has done %d epochs already; ask for more", o.epochs, o.resume, r.start)
	}
	// MNIST's 60000 training images (fewer with --limit) must leave a batch after the split.
	n, err := trainImages(o)
	if err != nil {
		return nil, err
	}
	if o.limit > 0 {
		n = min(n, o.limit)
	}
	if err := checkSplit(o, n, n-int(math.Round(o.valSplit*float64(n)))); err != nil {
		return nil, err
	}
	if r != nil {
		if err := checkTrainMemory(r.model.Spec, o); err != nil {
			return nil, err
		}
		return &trainJob{model: r.model, solver: r.solver, start: r.start, bestVal: r.bestVal, from: r.outDir}, nil
	}
	// A fresh model only once the job is known to fit in memory.
	spec, err := freshSpec(o)
	if err != nil {
		return nil, err
	}
	if err := augmentSpec(o, &spec); err != nil {
		return nil, err
	}
	if err := checkTrainMemory(spec, o); err != nil {
		return nil, err
	}
	return newTrainModel(o, spec)
}

// newTrainModel makes a fresh model and solver from the flags.
func newTrainModel(o *trainMNISTOpts, spec model.Spec) (*trainJob, error) {
	m, err := newModel(o.model, o.hidden, false, o.seed)
	if o.model == customKind {
		m, err = model.NewModel(spec, o.seed)
	}
	if err != nil {
		return nil, err
	}
	m.Spec.Augment = spec.Augment // checked with the spec (augmentSpec)
	if o.lr == 0 {
		o.lr = defaultLR[o.solver]
	}
	solver, err := model.NewSolver(o.solver, o.lr)
	if err != nil {
		return nil, err
	}
	if solver.Kind == "adamw" {
		solver.WeightDecay = o.weightDecay
	}
	return &trainJob{model: m, solver: solver}, nil
}

// trainData is what train mnist reads: the training part of the split as shuffled batches,
// the validation part and the test set.
type trainData struct {
	ds         *datasets.Dataset
	train, val *datasets.Set
	batches    *datasets.Batches
	test       *datasets.Set
}

// loadTrainData loads the data set (its first --limit training images), splits it and
// checks that the split leaves a batch.
func loadTrainData(e *env, o *trainMNISTOpts, classes int) (*trainData, error) {
	ds, err := datasetFlag(o.dataset)
	if err != nil {
		return nil, err
	}
	trainSet, testSet, err := mnistSets(e, ds, o.dataDir, o.limit)
	if ds == datasets.Own {
		trainSet, testSet, err = ownSets(o.dataDir, o.limit)
	}
	if err != nil {
		return nil, err
	}
	if trainSet.NumClasses() > classes {
		return nil, fmt.Errorf("--data-dir %s: its labels go up to %d, the model has %d classes; end the description in dense(%d)", o.dataDir, trainSet.NumClasses()-1, classes, trainSet.NumClasses())
	}
	trainSet.Classes, testSet.Classes = classes, classes
	all := trainSet.N
	trainPart, valPart := trainSet.SplitInPlace(o.valSplit, o.seed) // trainSet is used up
	if err := checkSplit(o, all, trainPart.N); err != nil {
		return nil, err
	}
	batches := datasets.NewBatches(trainPart, o.batch, o.seed, true)
	batches.Smoothing = o.smoothing // the targets only: the accuracy reads the labels
	return &trainData{ds: ds, train: trainPart, val: valPart, test: testSet, batches: batches}, nil
}

// trainConfig is train.Train's configuration from the flags, the job and the data; the
// caller adds the backend and what to do at each step and epoch.
func trainConfig(e *env, o *trainMNISTOpts, job *trainJob, data *trainData) train.TrainConfig {
	solver := job.solver
	return train.TrainConfig{
		Epochs: o.epochs, Batch: o.batch, Solver: solver, Fallback: autoFallback(e),
		Train:          data.batches,
		Val:            train.Labelled{Images: data.val.Images, Labels: data.val.Labels},
		Out:            o.out,
		StartEpoch:     job.start,
		BestVal:        job.bestVal,
		Seed:           o.seed,
		Version:        version,
		TargetAccuracy: o.target,
		Hyper: &checkpoint.Hyperparameters{Model: o.model, Dataset: data.ds.Name, Batch: o.batch, Solver: solver.Kind, LR: solver.LR,
			ValSplit: o.valSplit, Seed: o.seed, Epochs: o.epochs, Limit: o.limit, LRSchedule: o.schedule,
			Warmup: o.warmup, LabelSmoothing: o.smoothing},
		Stop:     e.stopRequested,
		Warn:     func(msg string) { fmt.Fprintf(e.stderr, "graphtrain: %s\n", msg) },
		Schedule: &train.Schedule{Kind: o.schedule, Base: solver.LR, Epochs: o.epochs, Warmup: o.warmup},
	}
}

// reportTrainMNIST prints the test accuracy of the model saved in OUT, so that 'eval mnist'
// prints the same, draws --plot and ends --json.
func reportTrainMNIST(e *env, o *trainMNISTOpts, res *train.TrainResult, testSet *datasets.Set, history []train.EpochStats) error {
	best, _, ck, err := checkpoint.LoadCheckpoint(o.out)
	if err != nil {
		return fmt.Errorf("--out %s: the model just saved does not load: %v; please report it with the command line", o.out, err)
	}
	pred, err := predictTest(e, best, testSet.Images)
	if err != nil {
		return err
	}
	testAcc := train.Accuracy(pred, testSet.Labels)
	if res.TargetEpoch > 0 {
		e.printf("validation accuracy reached --target-accuracy %g at epoch %d, after %.1f s of training\n", o.target, res.TargetEpoch, res.SecondsToTarget)
	} else if o.target > 0 {
		e.printf("validation accuracy did not reach --target-accuracy %g in %d epochs\n", o.target, res.Epochs)
	}
	e.resultf("test accuracy %.2f%% (the epoch %d model, saved in %s); %.1f s of training, %.0f samples/s\n",
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
			"device": res.Device, "model": o.model, "out": o.out, "dataset": o.dataset,
			"seconds_to_target": targetSeconds(res),
		})
	}
	return nil
}

// checkSplit refuses a split that leaves fewer than one batch of n images for training.
func checkSplit(o *trainMNISTOpts, n, train int) error {
	if train >= o.batch {
		return nil
	}
	if o.valSplit > 0 && n >= o.batch {
		return usagef("--val-split %v: leaves %d training images, fewer than one batch of %d; lower --val-split", o.valSplit, train, o.batch)
	}
	return usagef("--batch %d: larger than the %d training images", o.batch, train)
}

// claimTrainOutputs claims --out (locked, cleaned, not replaced without --force or
// --resume) and checks --metrics and --plot (checkOutputs).
func claimTrainOutputs(o *trainMNISTOpts, resumeOut string) (*outDir, *metricsLog, error) {
	replace := o.force || (resumeOut != "" && sameDir(resumeOut, o.out))
	out, err := claimOut("--out", o.out, replace,
		"add --force to replace it, --resume "+o.out+" to continue it, or choose another --out")
	if err != nil {
		return nil, nil, err
	}
	outs := []output{{"--metrics", o.metrics}, {"--plot", o.plot}}
	if err := checkOutputs(outs, []output{{"--out", o.out}, {"--resume", o.resume}}); err != nil {
		out.release(false)
		return nil, nil, err
	}
	return out, &metricsLog{path: o.metrics, appendTo: resumeOut != ""}, nil
}

// checkTrainMNISTFlags checks train mnist's flags on their own.
func checkTrainMNISTFlags(fs *pflag.FlagSet, o *trainMNISTOpts) error {
	if fs.NArg() > 0 {
		return usagef("train mnist takes no arguments, got %q", fs.Args())
	}
	if err := checkArch(fs, o); err != nil {
		return err
	}
	if !trainKinds[o.model] {
		return usagef("--model %q: must be %s", o.model, orList(mnistKinds()))
	}
	applyRecipe(fs, o)
	if _, ok := defaultLR[o.solver]; !ok && (o.resume == "" || fs.Changed("solver")) {
		return usagef("--solver %q: must be %s", o.solver, orList(model.Solvers))
	}
	if err := checkRecipeFlags(fs, o); err != nil {
		return err
	}
	ds, err := datasetFlag(o.dataset)
	if err != nil {
		return err
	}
	switch {
	case checkLayers(o.hidden) != nil:
		return checkLayers(o.hidden)
	case len(o.hidden) > 1 && o.model != "mlp":
		return usagef("--hidden %s: only the mlp takes more than one hidden layer", o.hidden.String())
	case fs.Changed("hidden") && o.model != "mlp" && o.resume == "":
		return usagef("--hidden %s: the %s has no hidden-units setting; --hidden is the mlp's", o.hidden.String(), o.model)
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
	case !(o.target >= 0 && o.target <= 1):
		return usagef("--target-accuracy %v: must be in (0, 1], or 0 for none", o.target)
	case o.target > 0 && o.valSplit == 0:
		return usagef("--target-accuracy needs a validation set: leave --val-split above 0")
	}
	if o.dataDir != "" {
		if st, err := os.Stat(o.dataDir); err != nil || !st.IsDir() {
			return fmt.Errorf("--data-dir %s: no such directory; run 'graphtrain data fetch%s --dir %s' or leave out --data-dir", o.dataDir, datasetArg(ds), o.dataDir)
		}
	}
	return nil
}

// checkRecipeFlags checks the flags of the training recipe: the augmentation (on its own:
// the model's images are known later), the schedule, the warmup, the weight decay and the
// label smoothing.
func checkRecipeFlags(fs *pflag.FlagSet, o *trainMNISTOpts) error {
	if _, err := parseAugment(o.augment); err != nil {
		return err
	}
	switch {
	case !slices.Contains(train.Schedules, o.schedule):
		return usagef("--lr-schedule %q: must be %s", o.schedule, orList(train.Schedules))
	case o.warmup < 0:
		return usagef("--warmup %d: must be 0 (none) or more steps", o.warmup)
	case o.warmup > 0 && o.schedule == "onecycle":
		return usagef("--warmup %d: onecycle rises from --lr/25 on its own; leave out --warmup", o.warmup)
	case !(o.weightDecay >= 0 && o.weightDecay <= checkpoint.MaxWeightDecay):
		return usagef("--weight-decay %v: must be in [0, %d]", o.weightDecay, checkpoint.MaxWeightDecay)
	case fs.Changed("weight-decay") && o.solver != "adamw" && o.resume == "":
		return usagef("--weight-decay %v: only --solver adamw decays the weights; add --solver adamw", o.weightDecay)
	case !(o.smoothing >= 0 && o.smoothing < 1):
		return usagef("--label-smoothing %v: must be in [0, 1)", o.smoothing)
	}
	return nil
}

// maxEpochs bounds --epochs: far beyond any useful run.
const maxEpochs = 100000

// checkTrainMemory refuses a job (model, solver, activations of a batch, the images) that
// the machine cannot hold.
func checkTrainMemory(spec model.Spec, o *trainMNISTOpts) error {
	images := datasets.MNISTTrainN
	if o.limit > 0 {
		images = min(images, o.limit)
	}
	need, err := train.TrainMemory(spec, o.batch, o.solver, images, datasets.MNISTTestN)
	if err != nil {
		return err
	}
	advice := "lower --batch"
	if spec.Kind == "mlp" {
		advice = "lower --hidden or --batch"
	}
	return checkMemory(need, advice)
}

// resumed is what --resume brings: the model, its solver and where training stopped.
type resumed struct {
	model   *model.Model
	solver  *model.Solver
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
	res, err := train.Resume(o.resume)
	if err != nil {
		return nil, checkpointError("--resume", err, "give the --out of a 'graphtrain train mnist' run")
	}
	r := &resumed{dir: res.Dir, outDir: res.Out, bestVal: res.BestVal}
	m, solver, ck := res.Model, res.Solver, res.Checkpoint
	if !m.Spec.Classifier() {
		return nil, fmt.Errorf("--resume %s: holds a %s model, not an MNIST model; give the --out of a 'graphtrain train mnist' run", o.resume, m.Spec.Kind)
	}
	if fs.Changed("model") && o.model != m.Spec.Kind {
		return nil, usagef("--model %s: the checkpoint in --resume %s is a %s", o.model, o.resume, m.Spec.Kind)
	}
	if fs.Changed("hidden") && m.Spec.Kind == "mlp" && !slices.Equal(o.hidden, m.Spec.HiddenLayers()) {
		return nil, usagef("--hidden %s: the checkpoint in --resume %s has %s", o.hidden.String(), o.resume, layersString(m.Spec.HiddenLayers()))
	}
	if solver == nil {
		return nil, fmt.Errorf("--resume %s: the checkpoint holds no solver state; resume from OUT/last of a train mnist run", r.dir)
	}
	if fs.Changed("dataset") && o.dataset != ck.Dataset() {
		return nil, usagef("--dataset %s: the checkpoint in --resume %s was trained on %s; leave out --dataset", o.dataset, o.resume, ck.Dataset())
	}
	o.dataset = ck.Dataset()
	if fs.Changed("solver") && o.solver != solver.Kind {
		return nil, usagef("--solver %s: the checkpoint in --resume %s was trained with %s", o.solver, o.resume, solver.Kind)
	}
	if fs.Changed("lr") && o.lr > 0 && o.lr != solver.LR { // --lr 0: the checkpoint's rate
		solver.LR = o.lr
	}
	if err := resumeWeightDecay(fs, o, solver); err != nil {
		return nil, err
	}
	o.model, o.solver = m.Spec.Kind, solver.Kind
	if m.Spec.Kind == "mlp" {
		o.hidden = m.Spec.HiddenLayers()
	}
	r.model, r.solver, r.start = m, solver, ck.Epoch
	if err := takeResumedHyper(fs, o, ck.Hyper); err != nil {
		return nil, err
	}
	if err := resumeAugment(fs, o, m); err != nil {
		return nil, err
	}
	return r, nil
}

// takeResumedHyper takes the --batch, --seed, --limit, --val-split, --warmup,
// --label-smoothing and --lr-schedule the checkpoint was trained with (h, nil for older
// checkpoints) where the flag is not given, and refuses one given otherwise unless --force.
func takeResumedHyper(fs *pflag.FlagSet, o *trainMNISTOpts, h *checkpoint.Hyperparameters) error {
	if h == nil || h.Model == "" {
		return nil
	}
	for _, c := range []struct {
		flag     string
		set, was any
		take     func()
	}{
		{"batch", o.batch, h.Batch, func() { o.batch = h.Batch }},
		{"seed", o.seed, h.Seed, func() { o.seed = h.Seed }},
		{"limit", o.limit, h.Limit, func() { o.limit = h.Limit }},
		{"val-split", o.valSplit, h.ValSplit, func() { o.valSplit = h.ValSplit }},
		{"warmup", o.warmup, h.Warmup, func() { o.warmup = h.Warmup }},
		{"label-smoothing", o.smoothing, h.LabelSmoothing, func() { o.smoothing = h.LabelSmoothing }},
	} {
		if !fs.Changed(c.flag) {
			c.take()
			continue
		}
		if c.set != c.was && !o.force {
			return usagef("--%s %v: the checkpoint in --resume %s was trained with --%s %v, and a resumed run continues exactly as an uninterrupted one only with the same; leave --%s out, or add --force", c.flag, c.set, o.resume, c.flag, c.was, c.flag)
		}
	}
	if !fs.Changed("lr-schedule") && h.LRSchedule != "" {
		o.schedule = h.LRSchedule
	}
	return nil
}

// resumeWeightDecay takes the checkpoint's weight decay unless --weight-decay is given: then
// it replaces it, as --lr replaces the rate, for an adamw solver only.
func resumeWeightDecay(fs *pflag.FlagSet, o *trainMNISTOpts, s *model.Solver) error {
	if !fs.Changed("weight-decay") {
		o.weightDecay = s.WeightDecay
		return nil
	}
	if s.Kind != "adamw" {
		return usagef("--weight-decay %v: the checkpoint in --resume %s was trained with %s, which does not decay the weights; leave out --weight-decay", o.weightDecay, o.resume, s.Kind)
	}
	s.WeightDecay = o.weightDecay
	return nil
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

// trainError turns an error of train.Train into the CLI's message.
func trainError(err error, out string) error {
	var d *train.DivergedError
	if errors.As(err, &d) {
		saved := "the last good checkpoint is in " + d.Out
		if _, statErr := os.Stat(filepath.Join(d.Out, "model.json")); statErr != nil {
			saved = "no epoch finished, so nothing was saved"
		}
		return fmt.Errorf("training diverged: the loss became %v at epoch %d, by step %d; %s; try a lower --lr", d.Loss, d.Epoch, d.Step, saved)
	}
	if isWriteError(err) { // a save failed: a full disk, say
		return writeFailed("--out", out, err)
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

func (l *metricsLog) write(st train.EpochStats) error {
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
			return writeFailed("--metrics", l.path, err)
		}
		l.f = f
	}
	b, _ := json.Marshal(st)
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return writeFailed("--metrics", l.path, err)
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
	history []train.EpochStats
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

func (p *epochPrinter) epoch(st train.EpochStats) {
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

// modelFlagHelp is --model's help: each named kind train mnist trains, with its layers.
func modelFlagHelp() string {
	var parts []string
	for _, kind := range mnistKinds() {
		text, err := model.BuiltinDescription(kind)
		if err != nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", kind, text))
	}
	return "the model: " + strings.Join(parts, ", or ") + "; --hidden sets the mlp's dense(256); " + customKind + " is the network --arch gives"
}

// targetSeconds is the training time to --target-accuracy for --json, nil when not reached.
func targetSeconds(res *train.TrainResult) any {
	if res.TargetEpoch == 0 {
		return nil
	}
	return res.SecondsToTarget
}
