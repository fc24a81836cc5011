package graphtrain

import (
	"errors"
	"fmt"
	"math/rand"

	G "gorgonia.org/gorgonia"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/checkpoint"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/model"
	"github.com/graphtrain/graphtrain/train"
)

// GraphNodes are the nodes of your own Gorgonia graph that FromGraph needs, all float32: X,
// the inputs (an input node [batch, inputs]); Y, the targets (an input node of batch rows
// with as many values as Out); Cost, the scalar training minimises; Out, the predictions
// [batch, ...]; Params, the input nodes training updates, each with a value and a unique
// name that is also its file name in a checkpoint (letters, digits, '_', '-', '.').
type GraphNodes = model.GraphNodes

// UnsupportedError says that the cpu and cuda backends cannot compile an op of a graph,
// naming the op and its node (Node: its Gorgonia id). Train's and Predict's errors wrap it
// (errors.As); the vm backend runs any Gorgonia graph, and on "auto" training falls back to
// it, saying why.
type UnsupportedError = lower.UnsupportedError

// ErrGraph is wrapped by FromGraph's errors about nodes it cannot train.
var ErrGraph = model.ErrGraph

// Graph is a Gorgonia graph of your own made trainable (FromGraph): trained on "auto",
// "cpu", "cuda" or "vm", its parameters saved to a checkpoint directory and loaded back into
// the same graph (or one built the same way), and used to predict.
type Graph struct {
	m     *model.Model
	batch int
}

// FromGraph makes g trainable: it adds the gradients of nodes.Cost with respect to every
// parameter to g (gorgonia.Grad) and takes the parameters' values as the tensors training
// updates in place. Call it once per graph. Nodes that do not fit are refused with an error
// that wraps ErrGraph and says what to change.
func FromGraph(g *G.ExprGraph, nodes GraphNodes) (gr *Graph, err error) {
	defer recoverPanic(&err, "FromGraph")
	m, err := model.NewGraphModel(g, nodes)
	if err != nil {
		return nil, fmt.Errorf("graphtrain: FromGraph: %w", err)
	}
	return &Graph{m: m, batch: nodes.X.Shape()[0]}, nil
}

// Batch is the number of examples of one step: the rows of the graph's X.
func (g *Graph) Batch() int { return g.batch }

// Model is the graph's model: its sizes (Spec.Inputs, Spec.Outputs) and its parameters,
// named by their nodes, whose tensors are the nodes' values.
func (g *Graph) Model() *Model { return g.m }

// Train trains the graph, from its parameters' current values, on examples x [n*inputs]
// with targets y [n*outputs] (n at least one batch; a last partial batch is left out of each
// epoch), shuffled every epoch from o.Seed,
// as o says, saving the parameters to o.Out every epoch (Load reads them back). o.Batch is 0
// or the graph's batch; o.ValSplit must be 0 (the graph's output has no accuracy that
// graphtrain knows of): the last epoch is saved in o.Out. On "auto", a graph that the chosen
// backend cannot compile (an *UnsupportedError) trains on vm instead, through o.Warn.
func (g *Graph) Train(x, y []float32, o Options) (res *Result, err error) {
	defer recoverPanic(&err, "Train")
	cfg, err := g.config(x, y, o)
	if err != nil {
		return nil, err
	}
	if res, err = train.Train(g.m, *cfg); err != nil {
		return res, fmt.Errorf("graphtrain: train your graph: %w", err)
	}
	return res, nil
}

// config is the train.TrainConfig of o for the graph on x and y, the defaults filled in and
// the backend chosen.
func (g *Graph) config(x, y []float32, o Options) (*train.TrainConfig, error) {
	if err := g.checkOptions(o); err != nil {
		return nil, err
	}
	batches, err := g.batches(x, y, o.Seed)
	if err != nil {
		return nil, err
	}
	o.Epochs, o.Solver = or(o.Epochs, 10), orString(o.Solver, "adam")
	if o.LR == 0 {
		o.LR = model.DefaultLR[o.Solver]
	}
	s, err := model.NewSolver(o.Solver, o.LR)
	if err != nil {
		return nil, fmt.Errorf("graphtrain: Options.Solver: %w", err)
	}
	b, fallback, err := graphBackends(o.Device, o.Warn)
	if err != nil {
		return nil, err
	}
	return &train.TrainConfig{
		Epochs: o.Epochs, Batch: g.batch, Solver: s, Seed: o.Seed, Out: o.Out, Train: batches,
		Backend: b, Fallback: fallback,
		Hyper:   &checkpoint.Hyperparameters{Model: model.GraphKind, Solver: o.Solver, LR: o.LR, Epochs: o.Epochs, Batch: g.batch, Seed: o.Seed},
		OnEpoch: o.OnEpoch, Progress: o.Progress, Warn: o.Warn,
	}, nil
}

// checkOptions refuses the options that do not apply to a graph of one's own.
func (g *Graph) checkOptions(o Options) error {
	switch {
	case o.Out == "":
		return errors.New("graphtrain: Options.Out: a checkpoint directory is required")
	case o.Batch != 0 && o.Batch != g.batch:
		return fmt.Errorf("graphtrain: Options.Batch %d: your graph's X takes batches of %d; leave Batch 0 or build X with %d rows", o.Batch, g.batch, o.Batch)
	case o.ValSplit > 0:
		return fmt.Errorf("graphtrain: Options.ValSplit %v: a graph of your own trains on all its data (graphtrain knows no accuracy of its output); leave it 0", o.ValSplit)
	}
	return nil
}

// graphBackends are the backend device picks and the one training falls back to: vm, which
// runs any graph, for "auto".
func graphBackends(device string, warn func(string)) (b, fallback backend.Backend, err error) {
	b, note, err := backend.Select(device)
	if err != nil {
		return nil, nil, fmt.Errorf("graphtrain: device: %w", err)
	}
	if note != "" && warn != nil {
		warn(note)
	}
	if device == "auto" || device == "" {
		fallback = backend.Lookup("vm")
	}
	return b, fallback, nil
}

// batches are the shuffled batches of examples x with targets y, checked against the graph's
// sizes.
func (g *Graph) batches(x, y []float32, seed int64) (*arrayBatches, error) {
	in, out := g.m.Spec.Inputs, g.m.Spec.Outputs
	n := len(x) / in
	switch {
	case len(x)%in != 0:
		return nil, fmt.Errorf("graphtrain: x holds %d values, not whole examples of %d (your X's columns)", len(x), in)
	case len(y) != n*out:
		return nil, fmt.Errorf("graphtrain: y holds %d values; the %d examples of x need %d (%d each, as many as Out has)", len(y), n, n*out, out)
	case n < g.batch:
		return nil, fmt.Errorf("graphtrain: %d examples are less than one batch of %d (your X's rows)", n, g.batch)
	}
	return &arrayBatches{x: x, y: y, in: in, out: out, batch: g.batch, seed: seed,
		order: make([]int, n), bx: make([]float32, g.batch*in), by: make([]float32, g.batch*out)}, nil
}

// Predict runs the graph's forward pass on device over inputs [n*inputs], a batch at a time
// (the last one padded with zeros), and returns Out's values for each example,
// [n*outputs]. On "auto", a graph the chosen backend cannot compile runs on vm.
func (g *Graph) Predict(device string, inputs []float32) (out []float32, err error) {
	defer recoverPanic(&err, "Predict")
	p, err := g.predictor(device)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	err = backend.Logits(p, g.m.Spec, inputs, func(o []float32) { out = append(out, o...) })
	if err != nil {
		return nil, fmt.Errorf("graphtrain: predict with your graph: %w", err)
	}
	return out, nil
}

// predictor compiles the graph's forward pass on the backend device picks, or on vm when
// the device is "auto" and that backend cannot compile it.
func (g *Graph) predictor(device string) (backend.Predictor, error) {
	b, fallback, err := graphBackends(device, nil)
	if err != nil {
		return nil, err
	}
	p, err := backend.NewPredictor(b, g.m, g.batch)
	if err != nil && fallback != nil && fallback.Name() != b.Name() {
		b = fallback
		p, err = backend.NewPredictor(b, g.m, g.batch)
	}
	if err != nil {
		return nil, fmt.Errorf("graphtrain: compile your graph's forward pass on %s: %w", b.Name(), err)
	}
	return p, nil
}

// Save writes the graph's parameters, as they are now, to the checkpoint directory dir (one
// .npy file each, named by the parameter, and a model.json listing them with their shapes
// and SHA-256), replacing it atomically. A graph cannot be rebuilt from its files: Load
// reads them back into a graph built the same way.
func (g *Graph) Save(dir string) error {
	if err := checkpoint.SaveCheckpoint(dir, g.m, nil, checkpoint.Checkpoint{}); err != nil {
		return fmt.Errorf("graphtrain: save your graph's parameters: %w", err)
	}
	return nil
}

// Load reads the parameters of the checkpoint in dir (Save's, or Train's Out) into the
// graph's parameter values, by name. The checkpoint must hold exactly the graph's
// parameters with the same shapes; every file is checked before any value changes, and an
// error names the file and what is wrong (it wraps checkpoint.ErrCheckpoint).
func (g *Graph) Load(dir string) error {
	if err := checkpoint.LoadParamsInto(dir, g.m); err != nil {
		return fmt.Errorf("graphtrain: load into your graph: %w", err)
	}
	return nil
}

// recoverPanic turns a panic (inside Gorgonia) into an error, so that none reaches the user.
func recoverPanic(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("graphtrain: %s: your graph made Gorgonia panic: %v", what, r)
	}
}

// arrayBatches are the batches of a pass over examples x [n*in] with targets y [n*out], in
// an order shuffled for each epoch (train.Batches).
type arrayBatches struct {
	x, y    []float32
	in, out int
	batch   int
	seed    int64
	order   []int
	next    int // the index in order of the next batch's first example
	bx, by  []float32
}

// Reset starts a pass in the order drawn from the seed and the epoch.
func (b *arrayBatches) Reset(epoch int) {
	r := rand.New(rand.NewSource(b.seed*1000003 + int64(epoch)))
	copy(b.order, r.Perm(len(b.order)))
	b.next = 0
}

// Next gathers the next full batch; false at the end of the pass.
func (b *arrayBatches) Next() bool {
	if b.next+b.batch > len(b.order) {
		return false
	}
	for i, k := range b.order[b.next : b.next+b.batch] {
		copy(b.bx[i*b.in:(i+1)*b.in], b.x[k*b.in:(k+1)*b.in])
		copy(b.by[i*b.out:(i+1)*b.out], b.y[k*b.out:(k+1)*b.out])
	}
	b.next += b.batch
	return true
}

// Batch is the current batch's examples and targets.
func (b *arrayBatches) Batch() (x, y []float32) { return b.bx, b.by }

// Count is the number of full batches in a pass.
func (b *arrayBatches) Count() int { return len(b.order) / b.batch }
