package train

import (
	"errors"
	"fmt"
	"math"
	"time"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/internal/meminfo"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/vm"
)

// Batches yields the minibatches of one pass over a training set. *datasets.Batches does not
// implement it (its batch is in fields X and Y): the CLI adapts it (cmd/graphtrain's
// batchSource).
type Batches interface {
	// Reset starts a new pass, shuffled for the given epoch.
	Reset(epoch int)
	// Next moves to the next full batch; false at the end of the pass.
	Next() bool
	// Batch returns the current batch: images [batch*784] and one-hot targets [batch*10],
	// valid until the next call to Next.
	Batch() (x, y []float32)
	// Count is the number of batches in a pass.
	Count() int
}

// Labelled is a set of examples to measure accuracy on.
type Labelled struct {
	Images []float32 // [n*784], pixels in [0, 1]
	Labels []uint8   // [n], 0-9
}

// N is the number of examples.
func (l Labelled) N() int { return len(l.Labels) }

// TrainConfig says how to train an MNIST model.
type TrainConfig struct {
	Epochs     int             // train up to this epoch (counting those done before a resume)
	Batch      int             // examples per step; the batches must hold this many
	Solver     *model.Solver   // with its state, when resuming
	Backend    backend.Backend // nil: the vm backend (Gorgonia's TapeMachine)
	Fallback   backend.Backend // when Backend cannot make a trainer: this one, with a Warn (nil: an error)
	Train      Batches
	Val        Labelled // may be empty: then no validation accuracy, and the last epoch is the best
	Out        string   // checkpoint directory: the best model there, the latest in Out/last
	StartEpoch int      // epochs already done (resume)
	BestVal    float64  // best validation accuracy so far (resume)
	Seed       int64
	Hyper      *checkpoint.Hyperparameters // recorded in model.json
	Version    string                      // the trainer's version, recorded in model.json ("": dev)
	// TargetAccuracy, when above 0, stops training at the end of the first epoch whose
	// validation accuracy reaches it (TrainResult.TargetEpoch, SecondsToTarget).
	TargetAccuracy float64
	// Schedule, when set, gives the learning rate of every step (see Schedule); nil keeps the
	// solver's rate.
	Schedule *Schedule

	Warn     func(msg string)      // something the user should know, may be nil
	Progress func(step, steps int) // after every step, may be nil
	OnEpoch  func(EpochStats)      // after every epoch, once saved, may be nil
	Stop     func() bool           // polled after every step; true saves and stops
}

// EpochStats are one epoch's figures; they are also the lines of the metrics file.
type EpochStats struct {
	Epoch         int     `json:"epoch"`
	TrainLoss     float64 `json:"train_loss"`
	ValAccuracy   float64 `json:"val_accuracy"`
	Seconds       float64 `json:"seconds"`
	SamplesPerSec float64 `json:"samples_per_second"`
	Best          bool    `json:"best"`
	RSSBytes      int64   `json:"rss_bytes,omitempty"` // resident memory at the epoch's end (Linux)
}

// TrainResult is the outcome of Train.
type TrainResult struct {
	Epochs        int     // epochs completed, resumed ones included
	BestEpoch     int     // the epoch of the model saved in Out
	BestVal       float64 // its validation accuracy
	Seconds       float64 // training time in this run, validation and saving excluded
	SamplesPerSec float64 // training samples per second in this run
	Interrupted   bool    // Stop returned true; the state is saved in Out/last
	Device        string
	// TargetEpoch is the first epoch whose validation accuracy reached TargetAccuracy (0: none
	// did), and SecondsToTarget the training time to its end, in this run.
	TargetEpoch     int
	SecondsToTarget float64
}

// ErrDiverged reports a loss that became NaN or infinite: every *DivergedError is one
// (errors.Is).
var ErrDiverged = errors.New("graph: training diverged")

// DivergedError says when the loss became NaN or infinite, and where the last good
// checkpoint is (the directory Train saves to; nothing is there when no epoch finished).
type DivergedError struct {
	Loss        float64
	Epoch, Step int
	Out         string
}

func (e *DivergedError) Error() string {
	return fmt.Sprintf("%v: the loss became %v at epoch %d, by step %d; the last good checkpoint is in %s", ErrDiverged, e.Loss, e.Epoch, e.Step, e.Out)
}

func (e *DivergedError) Is(target error) bool { return target == ErrDiverged }

// Train runs minibatch training of m, checkpointing at every epoch end: the latest epoch,
// with the solver's state, to Out/last, and the best by validation accuracy to Out. A loss
// that becomes NaN or infinite stops it with ErrDiverged, leaving the last good checkpoints.
func Train(m *model.Model, cfg TrainConfig) (*TrainResult, error) {
	b := cfg.Backend
	if b == nil {
		b = vm.VM{}
	}
	if cfg.Epochs < 1 || cfg.Batch < 1 || cfg.Solver == nil || cfg.Train == nil || cfg.Out == "" {
		return nil, fmt.Errorf("graph: Train: epochs %d, batch %d, solver, batches and out dir are all required", cfg.Epochs, cfg.Batch)
	}
	steps := cfg.Train.Count()
	if steps == 0 {
		return nil, fmt.Errorf("graph: the training set holds less than one batch of %d", cfg.Batch)
	}
	if cfg.Schedule != nil {
		if err := cfg.Schedule.Check(); err != nil {
			return nil, err
		}
	}
	r, err := startRun(m, &cfg, b)
	if err != nil {
		return nil, err
	}
	defer r.tr.Close()
	step := r.chooseStep()
	for epoch := cfg.StartEpoch + 1; epoch <= cfg.Epochs; epoch++ {
		if res, err := r.trainEpoch(epoch, steps, step); res != nil || err != nil {
			return res, err
		}
		if r.res.TargetEpoch > 0 {
			break
		}
	}
	if r.res.Seconds > 0 {
		r.res.SamplesPerSec = float64(r.samples) / r.res.Seconds
	}
	return r.res, nil
}

// startRun builds m's training graph for cfg.Batch, makes its trainer on b (or on
// cfg.Fallback, see backend.NewTrainer) and returns the run's state, starting from cfg's
// resumed epochs and best validation accuracy. The caller closes r.tr.
func startRun(m *model.Model, cfg *TrainConfig, b backend.Backend) (*run, error) {
	net, err := m.Build(cfg.Batch, true)
	if err != nil {
		return nil, err
	}
	tr, b, err := backend.NewTrainer(b, cfg.Fallback, net, cfg.Solver, cfg.Warn)
	if err != nil {
		return nil, err
	}
	r := &run{m: m, cfg: cfg, tr: tr, backend: b.Name(), bestVal: cfg.BestVal}
	r.res = &TrainResult{Epochs: cfg.StartEpoch, BestVal: cfg.BestVal, Device: b.Name()}
	if cfg.StartEpoch > 0 {
		r.res.BestEpoch = -1 // the best so far is the one already in Out
	}
	return r, nil
}

// trainEpoch runs epoch: its learning rate set, a new pass started, up to steps steps (each
// run by step), then endEpoch. It returns (nil, nil) when training goes on to the next
// epoch, else what Train returns: the result of an interrupted run (Stop), or an error
// (with r.res when the loss diverged or the epoch could not be ended).
func (r *run) trainEpoch(epoch, steps int, step func() (bool, error)) (*TrainResult, error) {
	cfg := r.cfg
	start := time.Now()
	cfg.Train.Reset(epoch)
	if r.resident {
		if err := r.dtr.SetOrder(r.data.Order()); err != nil {
			return nil, err
		}
	}
	n := 0
	for k := 1; k <= steps; k++ {
		if err := r.setRate(epoch, k, steps); err != nil {
			return nil, err
		}
		ok, err := step()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		// The loss is checked for NaN every checkEvery steps, not every step: on a GPU
		// each check waits for the device.
		if k%checkEvery == 0 {
			if res, err := r.checkLoss(epoch, k); err != nil {
				return res, err
			}
		}
		n++
		r.samples += cfg.Batch
		if cfg.Progress != nil {
			cfg.Progress(k, steps)
		}
		if cfg.Stop != nil && cfg.Stop() {
			return r.interrupt(epoch, k, time.Since(start).Seconds())
		}
	}
	if err := r.endEpoch(epoch, n, time.Since(start).Seconds()); err != nil {
		return r.res, err
	}
	return nil, nil
}

// setRate sets the schedule's rate for step k of epoch, when it is not the rate already set
// (a cosine schedule changes it once an epoch; a warmup and one-cycle every step).
func (r *run) setRate(epoch, k, steps int) error {
	if r.cfg.Schedule == nil {
		return nil
	}
	lr := r.cfg.Schedule.Rate(epoch, k, steps)
	if lr == r.rate {
		return nil
	}
	r.rate = lr
	return r.tr.SetLR(lr)
}

// checkLoss reads the loss of the last step, at step of epoch: an error when it cannot
// (with no result) or when it is NaN or infinite (a DivergedError, with r.res).
func (r *run) checkLoss(epoch, step int) (*TrainResult, error) {
	loss, err := r.tr.Loss()
	if err != nil {
		return nil, err
	}
	if err := r.diverged(loss, epoch, step); err != nil {
		return r.res, err
	}
	return nil, nil
}

// checkEvery is how many steps go between two checks of the loss for NaN.
const checkEvery = 50

// run is the state of one Train call.
type run struct {
	m       *model.Model
	cfg     *TrainConfig
	tr      backend.Trainer
	backend string
	res     *TrainResult
	bestVal float64
	samples int
	rate    float64 // the learning rate last set by the schedule (0: none yet)

	// resident: the trainer holds the training set (DatasetTrainer) and gathers each
	// batch itself, following the pass's order set once an epoch.
	resident bool
	dtr      backend.DatasetTrainer
	data     backend.Dataset
}

// chooseStep returns the function that runs one training step and says whether there was a
// batch for it. On a device that can hold the training set, the set is handed over once;
// then a step only gathers its batch there. Else each batch is copied into the inputs.
func (r *run) chooseStep() func() (bool, error) {
	cfg := r.cfg
	r.dtr, r.resident = r.tr.(backend.DatasetTrainer)
	var ordered bool
	r.data, ordered = cfg.Train.(backend.Dataset)
	if r.resident = r.resident && ordered; r.resident {
		ex, ey, n := r.data.Examples()
		if err := r.dtr.SetDataset(ex, ey, n); err != nil {
			// Not enough device memory for the set: hand over each batch instead.
			r.resident = false
			if cfg.Warn != nil {
				cfg.Warn(fmt.Sprintf("the training set stays on the host, each batch uploaded: %v", err))
			}
		}
	}
	if r.resident {
		return func() (bool, error) { return true, r.dtr.StepNext() }
	}
	xs := make([]float32, cfg.Batch*r.m.Spec.Inputs)
	ys := make([]float32, cfg.Batch*r.m.Spec.Outputs)
	x := tensor.New(tensor.WithShape(cfg.Batch, r.m.Spec.Inputs), tensor.WithBacking(xs))
	y := tensor.New(tensor.WithShape(cfg.Batch, r.m.Spec.Outputs), tensor.WithBacking(ys))
	return func() (bool, error) {
		if !cfg.Train.Next() {
			return false, nil
		}
		bx, by := cfg.Train.Batch()
		copy(xs, bx)
		copy(ys, by)
		return true, r.tr.Step(x, y)
	}
}

// diverged is ErrDiverged when loss is NaN or infinite.
func (r *run) diverged(loss float64, epoch, step int) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return &DivergedError{Loss: loss, Epoch: epoch, Step: step, Out: r.cfg.Out}
	}
	return nil
}

// save writes a checkpoint of the model and the solver to dir.
func (r *run) save(dir string, epoch int, metrics map[string]float64) error {
	return checkpoint.SaveCheckpoint(dir, r.m, r.cfg.Solver, checkpoint.Checkpoint{Version: r.cfg.Version, Epoch: epoch, Seed: r.cfg.Seed, Backend: r.backend, Hyper: r.cfg.Hyper, Metrics: metrics})
}

// interrupt saves the state reached in the middle of epoch, at step, to Out/last and ends
// the run. The epoch is not complete: the checkpoint says the last complete one, so a resume
// runs this epoch again from the parameters reached so far.
func (r *run) interrupt(epoch, step int, secs float64) (*TrainResult, error) {
	r.res.Seconds += secs
	r.res.Interrupted = true
	mean, err := r.tr.MeanLoss()
	if err != nil {
		return nil, err
	}
	if err := r.diverged(mean, epoch, step); err != nil {
		return r.res, err
	}
	if err := r.tr.Sync(); err != nil {
		return nil, err
	}
	if err := r.save(checkpoint.LastDir(r.cfg.Out), epoch-1, map[string]float64{"train_loss": mean, "interrupted_at_step": float64(step), BestValKey: r.bestVal}); err != nil {
		return nil, err
	}
	r.res.SamplesPerSec = float64(r.samples) / r.res.Seconds
	return r.res, nil
}

// endEpoch ends an epoch of n steps: the mean loss checked, the parameters synced, the
// validation accuracy measured, the latest state saved in Out/last and, when it is the best
// so far, the model in Out.
func (r *run) endEpoch(epoch, n int, secs float64) error {
	cfg := r.cfg
	mean, err := r.tr.MeanLoss()
	if err != nil {
		return err
	}
	r.res.Seconds += secs
	if err := r.diverged(mean, epoch, n); err != nil {
		return err
	}
	if err := r.tr.Sync(); err != nil {
		return err
	}
	st := EpochStats{Epoch: epoch, TrainLoss: mean, Seconds: secs, SamplesPerSec: float64(n*cfg.Batch) / secs, RSSBytes: residentBytes()}
	if cfg.Val.N() > 0 {
		pred, err := predictOn(r.tr, r.m, cfg.Val.Images)
		if err != nil {
			return err
		}
		st.ValAccuracy = Accuracy(pred, cfg.Val.Labels)
	}
	st.Best = r.res.BestEpoch == 0 || st.ValAccuracy > r.bestVal || cfg.Val.N() == 0
	if st.Best {
		r.bestVal = st.ValAccuracy
	}
	metrics := map[string]float64{"train_loss": st.TrainLoss, "val_accuracy": st.ValAccuracy, "seconds": secs, BestValKey: r.bestVal}
	if err := r.save(checkpoint.LastDir(cfg.Out), epoch, metrics); err != nil {
		return err
	}
	if st.Best {
		if err := r.save(cfg.Out, epoch, metrics); err != nil {
			return err
		}
		r.res.BestEpoch, r.res.BestVal = epoch, st.ValAccuracy
	}
	r.res.Epochs = epoch
	if cfg.TargetAccuracy > 0 && cfg.Val.N() > 0 && st.ValAccuracy >= cfg.TargetAccuracy {
		r.res.TargetEpoch, r.res.SecondsToTarget = epoch, r.res.Seconds
	}
	if cfg.OnEpoch != nil {
		cfg.OnEpoch(st)
	}
	return nil
}

// residentBytes is the process's resident set size now (0 where it cannot be read).
func residentBytes() int64 {
	n, _ := meminfo.Resident()
	return n
}
