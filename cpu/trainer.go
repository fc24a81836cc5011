package cpu

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"

	"gorgonia.org/tensor"

	"graphtrain/backend"
	"graphtrain/internal/gemm"
	"graphtrain/internal/parallel"
	"graphtrain/ir"
	"graphtrain/lower"
	"graphtrain/model"
)

// Backend is the "cpu" backend: it lowers a training graph for the CPU target (products fused
// with their biases) and runs the program's launches as compiled Go kernels, the products on
// a packed SIMD GEMM, on a pool of GOMAXPROCS workers.
type Backend struct{}

func init() { backend.Register(Backend{}) }

// Name returns "cpu".
func (Backend) Name() string { return "cpu" }

// Available is always nil: the CPU is always there.
func (Backend) Available() error { return nil }

// Describe names the GEMM kernel and the workers.
func (Backend) Describe() string {
	return fmt.Sprintf("graphtrain's compiled executor, %s/%s, %s products, %d workers (GOMAXPROCS=%d of %d CPUs)",
		runtime.GOOS, runtime.GOARCH, gemm.Kernel(), parallel.Default().Size(), runtime.GOMAXPROCS(0), runtime.NumCPU())
}

// NewTrainer lowers net and the solver's update to a Program for the CPU and compiles it.
func (Backend) NewTrainer(net *model.Net, s *model.Solver) (backend.Trainer, error) {
	if err := s.Init(net.Model); err != nil {
		return nil, err
	}
	p, err := lower.Lower(net, s, lower.CPU)
	if err != nil {
		return nil, err
	}
	return newTrainer(p, net, s, parallel.Default())
}

// trainer runs a program on the CPU. Its memory holds the parameters and the solver state
// while it trains; Sync copies them out to the Model's and the Solver's tensors.
type trainer struct {
	e       *executor
	p       *ir.Program
	net     *model.Net
	s       *model.Solver
	steps   int // steps run
	since   int // steps since MeanLoss
	fwd     *executor
	data    *executor // the program that gathers its batches from the resident set, or nil
	dn      int
	ordered int          // examples in the current pass
	set     [2][]float32 // the training set the resident program reads, kept alive
	open    bool
}

var (
	_ backend.DatasetTrainer = (*trainer)(nil)
	_ backend.Forwarder      = (*trainer)(nil)
)

func newTrainer(p *ir.Program, net *model.Net, s *model.Solver, pool *parallel.Pool) (*trainer, error) {
	e, err := newExecutor(p, pool)
	if err != nil {
		return nil, err
	}
	t := &trainer{e: e, p: p, net: net, s: s, open: true}
	for i, b := range p.Buffers {
		switch b.Kind {
		case ir.Param:
			if err := t.load(i, net.Model.Params[b.Index].T); err != nil {
				return nil, err
			}
		case ir.Const:
			for j, v := range b.Value {
				e.setReal(i, j, v)
			}
		case ir.Step:
			e.f64(i)[0] = float64(s.Steps)
		}
	}
	for _, m := range p.State {
		if err := t.load(m.Buffer, s.State[m.Key]); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// load copies a tensor into buffer b, and store copies buffer b into a tensor.
func (t *trainer) load(b int, d *tensor.Dense) error { return t.move(b, d, true) }
func (t *trainer) store(b int, d *tensor.Dense) error {
	return t.move(b, d, false)
}

func (t *trainer) move(b int, d *tensor.Dense, in bool) error {
	buf := t.p.Buffers[b]
	if d == nil || d.Shape().TotalSize() != buf.Elems {
		return fmt.Errorf("%w: cpu: %s does not have the %d elements of the program's buffer", model.ErrShape, buf.Name, buf.Elems)
	}
	switch d.Dtype() {
	case tensor.Float32:
		x := d.Float32s()
		if buf.Elem == 4 {
			if in {
				copy(t.e.f32(b), x)
			} else {
				copy(x, t.e.f32(b))
			}
			return nil
		}
	case tensor.Float64:
		x := d.Float64s()
		if buf.Elem == 8 {
			if in {
				copy(t.e.f64(b), x)
			} else {
				copy(x, t.e.f64(b))
			}
			return nil
		}
	}
	return fmt.Errorf("cpu: %s is %v, the program is %s", buf.Name, d.Dtype(), t.p.Dtype)
}

func (t *trainer) live() error {
	if !t.open {
		return fmt.Errorf("cpu: the trainer is closed")
	}
	return nil
}

// Step copies x and y in (nil: the last step's again) and runs the program.
func (t *trainer) Step(x, y *tensor.Dense) error {
	if err := t.live(); err != nil {
		return err
	}
	for _, in := range []struct {
		d *tensor.Dense
		b int
	}{{x, t.p.X}, {y, t.p.Y}} {
		if in.d == nil {
			continue
		}
		if err := t.load(in.b, in.d); err != nil {
			return err
		}
	}
	t.e.run()
	t.stepped()
	return nil
}

func (t *trainer) stepped() {
	t.steps++
	t.since++
	t.s.Steps++
}

// Loss is the last step's loss.
func (t *trainer) Loss() (float64, error) {
	if err := t.live(); err != nil {
		return 0, err
	}
	if t.steps == 0 {
		return 0, fmt.Errorf("cpu: no loss yet: run a step first")
	}
	return t.e.real(t.p.Loss, 0), nil
}

// MeanLoss is the mean of the losses since the last call, and starts a new sum.
func (t *trainer) MeanLoss() (float64, error) {
	if err := t.live(); err != nil {
		return 0, err
	}
	if t.since == 0 {
		return 0, fmt.Errorf("cpu: no loss yet: run a step first")
	}
	sum := t.e.real(t.p.LossSum, 0)
	t.e.setReal(t.p.LossSum, 0, 0)
	n := t.since
	t.since = 0
	return sum / float64(n), nil
}

// Output is a copy of the last step's output.
func (t *trainer) Output() (*tensor.Dense, error) {
	if err := t.live(); err != nil {
		return nil, err
	}
	if t.steps == 0 {
		return nil, fmt.Errorf("cpu: no output yet: run a step first")
	}
	out := tensor.New(tensor.Of(t.net.Out.Dtype()), tensor.WithShape(t.net.Out.Shape().Clone()...))
	return out, t.store(t.p.Out, out)
}

// SetLR sets the rate of the updates that follow.
func (t *trainer) SetLR(lr float64) error {
	if err := t.live(); err != nil {
		return err
	}
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("cpu: learning rate %v: must be a positive number", lr)
	}
	t.p.SetLR(lr)
	if t.data != nil {
		t.data.p.SetLR(lr)
	}
	t.s.Rate = lr
	return nil
}

// Sync copies the parameters and the solver state out to the Model and the Solver.
func (t *trainer) Sync() error {
	if err := t.live(); err != nil {
		return err
	}
	for i, b := range t.p.Params {
		if err := t.store(b, t.net.Model.Params[i].T); err != nil {
			return err
		}
	}
	for _, m := range t.p.State {
		if err := t.store(m.Buffer, t.s.State[m.Key]); err != nil {
			return err
		}
	}
	return nil
}

// Close lets the memory go.
func (t *trainer) Close() error {
	t.open = false
	t.e, t.fwd, t.data = nil, nil, nil
	return nil
}

// Launching says how a step runs.
func (t *trainer) Launching() string {
	return fmt.Sprintf("%d compiled launches, %s products", len(t.p.Launches), gemm.Kernel())
}

// SetDataset keeps the training set, so that a step gathers its batch from it
// (program.WithDataset) instead of copying tensors in. The trainer reads x and y in place,
// without a copy: they must not change while it holds them.
func (t *trainer) SetDataset(x, y []float32, n int) error {
	if err := t.live(); err != nil {
		return err
	}
	in, out := t.p.Buffers[t.p.X].Elems/t.p.Batch, t.p.Buffers[t.p.Y].Elems/t.p.Batch
	if n < 1 || len(x) != n*in || len(y) != n*out {
		return fmt.Errorf("%w: cpu: SetDataset: %d inputs and %d targets for %d examples of %d inputs and %d outputs", model.ErrShape, len(x), len(y), n, in, out)
	}
	if t.p.Dtype != ir.Float32 {
		return fmt.Errorf("cpu: SetDataset: the %s program is %s, the set float32", t.p.Kind, t.p.Dtype)
	}
	rp, err := t.p.WithDataset(n)
	if err != nil {
		return err
	}
	// The resident program shares the trainer's slots: its own are appended after them, the
	// examples and the targets read where the caller keeps them (no copy of the set).
	lent := map[int]unsafe.Pointer{
		rp.Buffers[rp.Data.Examples].Slot: unsafe.Pointer(&x[0]),
		rp.Buffers[rp.Data.Targets].Slot:  unsafe.Pointer(&y[0]),
	}
	d, err := newExecutorOn(rp, t.e, lent)
	if err != nil {
		return err
	}
	t.data, t.dn, t.set = d, n, [2][]float32{x, y}
	return nil
}

// SetOrder sets the pass's order and rewinds.
func (t *trainer) SetOrder(order []int) error {
	if err := t.live(); err != nil {
		return err
	}
	if t.data == nil {
		return fmt.Errorf("cpu: SetOrder before SetDataset: no training set is held")
	}
	vals, err := t.data.p.OrderValues(order)
	if err != nil {
		return err
	}
	copy(t.data.i64(t.data.p.Data.Order), vals)
	t.data.i64(t.data.p.Data.Cursor)[0] = 0
	t.ordered = len(order)
	return nil
}

// StepNext runs a step on the next batch of the order.
func (t *trainer) StepNext() error {
	if err := t.live(); err != nil {
		return err
	}
	if t.data == nil {
		return fmt.Errorf("cpu: StepNext before SetDataset: no training set is held")
	}
	if c := int(t.data.i64(t.data.p.Data.Cursor)[0]); c+t.p.Batch > t.ordered {
		return fmt.Errorf("cpu: StepNext: the order of %d examples has no batch of %d left at %d", t.ordered, t.p.Batch, c)
	}
	t.data.run()
	t.stepped()
	return nil
}

// Logits runs the forward program over images, a batch at a time.
func (t *trainer) Logits(images []float32, f func(logits []float32)) error {
	if err := t.live(); err != nil {
		return err
	}
	if t.p.Dtype != ir.Float32 {
		return fmt.Errorf("cpu: Logits: the %s program is %s, not float32", t.p.Kind, t.p.Dtype)
	}
	in, out := t.p.Buffers[t.p.X].Elems/t.p.Batch, t.p.Buffers[t.p.Out].Elems/t.p.Batch
	if len(images)%in != 0 {
		return fmt.Errorf("%w: cpu: Logits: %d values are not whole examples of %d", model.ErrShape, len(images), in)
	}
	if t.fwd == nil {
		fw, err := newExecutorOn(t.p.Forward(), t.e, nil)
		if err != nil {
			return err
		}
		t.fwd = fw
	}
	x, o := t.fwd.f32(t.p.X), t.fwd.f32(t.p.Out)
	n := len(images) / in
	for lo := 0; lo < n; lo += t.p.Batch {
		rows := min(t.p.Batch, n-lo)
		copy(x, images[lo*in:(lo+rows)*in])
		clear(x[rows*in:])
		t.fwd.run()
		f(o[:rows*out])
	}
	return nil
}
