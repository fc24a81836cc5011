//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"gorgonia.org/cu"
	"gorgonia.org/tensor"

	"graphtrain/graph"
	"graphtrain/graph/program"
)

func init() { graph.Register(Backend{}) }

// Backend is the "cuda" backend: it lowers a training graph to a Program and runs it on
// GPU 0.
type Backend struct{}

// Name returns "cuda".
func (Backend) Name() string { return "cuda" }

// Available sets up the GPU (once per process) and says why it cannot be used, if it
// cannot: no driver, no device, no memory.
func (Backend) Available() error {
	_, err := openGPU()
	return err
}

// Describe names the GPU and the driver's CUDA version, or says why there is none.
func (Backend) Describe() string {
	g, err := openGPU()
	if err != nil {
		return err.Error()
	}
	graphs := "a step launched as one CUDA graph"
	switch {
	case g.noGraphs != nil:
		graphs = fmt.Sprintf("a step launched kernel by kernel (no CUDA graphs: %v)", g.noGraphs)
	case !graphsOn():
		graphs = "a step launched kernel by kernel (GRAPHTRAIN_CUDA_GRAPH=0)"
	}
	return fmt.Sprintf("%s, compute capability %s, %.1f GiB, driver CUDA %s; %s", g.dev.Name, g.dev.ComputeCapability, float64(g.dev.MemoryBytes)/(1<<30), g.driver, graphs)
}

// NewTrainer lowers net and the solver's update to a Program, allocates every buffer it
// plans, and uploads the parameters, the solver state and the constants.
func (Backend) NewTrainer(net *graph.Net, s *graph.Solver) (graph.Trainer, error) {
	g, err := openGPU()
	if err != nil {
		return nil, err
	}
	p, err := Lower(net, s)
	if err != nil {
		return nil, err
	}
	if err := s.Init(net.Model); err != nil {
		return nil, err
	}
	t := &trainer{g: g, p: p, net: net, s: s}
	if err := g.th.do(t.setup); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// The cuda trainer keeps the training set on the device when Train lets it, and says how it
// launches a step.
var (
	_ graph.DatasetTrainer = (*trainer)(nil)
	_ graph.StepLauncher   = (*trainer)(nil)
	_ graph.Forwarder      = (*trainer)(nil)
)

type trainer struct {
	g      *gpu
	p      *Program
	net    *graph.Net
	s      *graph.Solver
	slots  []cu.DevicePtr
	bufs   []cu.DevicePtr // device address of each buffer
	ls     *launches
	steps  int       // steps run by this trainer
	since  int       // steps since the loss sum was last read
	data   *resident // the training set on the device (SetDataset), or nil
	fwd    *forward  // the forward program (Logits), made at its first use
	closed bool      // Close was called: the device memory is gone
}

// live is an error once the trainer is closed, so that a use after Close says so instead
// of touching freed device memory.
func (t *trainer) live() error {
	if t.closed {
		return fmt.Errorf("cuda: the %s trainer is closed", t.p.Kind)
	}
	return nil
}

// forward is the trainer's program cut down to the output (Program.Forward), on the
// trainer's buffers, with host memory for a batch of inputs and of outputs.
type forward struct {
	p       *Program
	ls      *launches
	in, out []float32
}

// resident is the training set held on the device: the program that gathers its batches
// there (p.WithDataset), sharing every buffer of the trainer's program and adding its own.
type resident struct {
	p     *Program
	slots []cu.DevicePtr // the data slots, those after the trainer's program's
	bufs  []cu.DevicePtr // device address of each of p's buffers
	ls    *launches
	order int // examples in the pass's order (0 before SetOrder)
	next  int // where the next batch starts in the order, as the device's cursor has it
}

// setup runs on the driver thread.
func (t *trainer) setup() error {
	for i, b := range t.p.Slots {
		d, err := cu.MemAlloc(max(b, 8))
		if err != nil {
			return fmt.Errorf("cuda: allocate slot %d (%d bytes) of the %s program: %w", i, b, t.p.Kind, err)
		}
		t.slots = append(t.slots, d)
	}
	for _, b := range t.p.Buffers {
		t.bufs = append(t.bufs, t.slots[b.Slot])
	}
	for i, b := range t.p.Buffers {
		switch b.Kind {
		case program.Param:
			if err := t.upload(i, t.net.Model.Params[b.Index].T); err != nil {
				return err
			}
		case program.Const:
			if err := t.uploadValues(i, b.Value); err != nil {
				return err
			}
		case program.Step:
			if err := t.uploadValues(i, []float64{float64(t.s.Steps)}); err != nil {
				return err
			}
		case program.Accum:
			if err := t.uploadValues(i, []float64{0}); err != nil {
				return err
			}
		}
	}
	for _, m := range t.p.State {
		if err := t.upload(m.Buffer, t.s.State[m.Key]); err != nil {
			return err
		}
	}
	var err error
	t.ls, err = t.g.prepare(t.p, t.bufs)
	return err
}

// hostBytes is the backing memory of a dense tensor of the program's dtype.
func (t *trainer) hostBytes(b int, d *tensor.Dense) (unsafe.Pointer, error) {
	buf := t.p.Buffers[b]
	if d.Shape().TotalSize() != buf.Elems {
		return nil, fmt.Errorf("%w: %s has %d elements, the device buffer %d", graph.ErrShape, buf.Name, d.Shape().TotalSize(), buf.Elems)
	}
	switch x := d.Data().(type) {
	case []float32:
		if buf.Elem == 4 && len(x) > 0 {
			return unsafe.Pointer(&x[0]), nil
		}
	case []float64:
		if buf.Elem == 8 && len(x) > 0 {
			return unsafe.Pointer(&x[0]), nil
		}
	}
	return nil, fmt.Errorf("cuda: %s is %v, the program is %s", buf.Name, d.Dtype(), t.p.Dtype)
}

func (t *trainer) upload(b int, d *tensor.Dense) error {
	ptr, err := t.hostBytes(b, d)
	if err != nil {
		return err
	}
	return cu.MemcpyHtoD(t.bufs[b], ptr, t.p.Buffers[b].Bytes())
}

func (t *trainer) download(b int, d *tensor.Dense) error {
	ptr, err := t.hostBytes(b, d)
	if err != nil {
		return err
	}
	return cu.MemcpyDtoH(ptr, t.bufs[b], t.p.Buffers[b].Bytes())
}

// uploadValues writes float64 values into a buffer of the buffer's element size.
func (t *trainer) uploadValues(b int, vals []float64) error {
	buf := t.p.Buffers[b]
	if buf.Elem == 4 {
		f := make([]float32, len(vals))
		for i, v := range vals {
			f[i] = float32(v)
		}
		return cu.MemcpyHtoD(t.bufs[b], unsafe.Pointer(&f[0]), buf.Bytes())
	}
	return cu.MemcpyHtoD(t.bufs[b], unsafe.Pointer(&vals[0]), buf.Bytes())
}

// SetDataset keeps the training set on the device: it allocates the examples [n*inputs], the
// one-hot targets [n*outputs], the order [n] and a batch cursor, uploads the examples and
// targets once (converted for a float64 program), and prepares the program that gathers each
// batch there (Program.WithDataset). A second call replaces the set. When the device cannot
// hold the set the error says so, with the memory it needed and had, and the trainer goes on
// as before (with the set it had, if any): Step still takes uploaded batches.
func (t *trainer) SetDataset(x, y []float32, n int) error {
	if err := t.live(); err != nil {
		return err
	}
	in, out := t.p.Buffers[t.p.X].Elems/t.p.Batch, t.p.Buffers[t.p.Y].Elems/t.p.Batch
	if n < 1 || len(x) != n*in || len(y) != n*out {
		return fmt.Errorf("%w: cuda: SetDataset: %d inputs and %d targets for %d examples of %d inputs and %d outputs", graph.ErrShape, len(x), len(y), n, in, out)
	}
	rp, err := t.p.WithDataset(n)
	if err != nil {
		return err
	}
	return t.g.th.do(func() error {
		d := &resident{p: rp, bufs: append([]cu.DevicePtr(nil), t.bufs...)}
		free, total, _ := cu.MemInfo()
		for _, b := range rp.Buffers[len(t.p.Buffers):] { // each in a slot of its own, in order
			ptr, err := cu.MemAlloc(max(b.Bytes(), 8))
			if err != nil {
				freeResident(d)
				return fmt.Errorf("cuda: SetDataset: the training set of %d examples does not fit on %s: allocating its %s (%.1f MB of the %.1f MB the set needs) failed: %w; %.1f MB of %.1f MB were free, the %s program itself holds %.1f MB",
					n, t.g.dev.Name, b.Name, mb(b.Bytes()), mb(rp.Bytes()-t.p.Bytes()), err, mb(free), mb(total), t.p.Kind, mb(t.p.Bytes()))
			}
			d.slots = append(d.slots, ptr)
			d.bufs = append(d.bufs, ptr)
		}
		for _, set := range []struct {
			b    int
			vals []float32
		}{{rp.Data.Examples, x}, {rp.Data.Targets, y}} {
			if err := uploadData(d, set.b, set.vals); err != nil {
				freeResident(d)
				return fmt.Errorf("cuda: SetDataset: upload the %s: %w", rp.Buffers[set.b].Name, err)
			}
		}
		var zero int64
		if err := cu.MemcpyHtoD(d.bufs[rp.Data.Cursor], unsafe.Pointer(&zero), 8); err != nil {
			freeResident(d)
			return fmt.Errorf("cuda: SetDataset: zero the batch cursor: %w", err)
		}
		if d.ls, err = t.g.prepare(rp, d.bufs); err != nil {
			freeResident(d)
			return err
		}
		old := t.data
		t.data = d
		return freeResident(old)
	})
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// uploadData writes float32 values into a data buffer of the resident program, converting
// them for a float64 program. Call it on the driver thread.
func uploadData(d *resident, b int, vals []float32) error {
	buf := d.p.Buffers[b]
	if len(vals) == 0 {
		return nil
	}
	if buf.Elem == 4 {
		return cu.MemcpyHtoD(d.bufs[b], unsafe.Pointer(&vals[0]), buf.Bytes())
	}
	f := make([]float64, len(vals))
	for i, v := range vals {
		f[i] = float64(v)
	}
	return cu.MemcpyHtoD(d.bufs[b], unsafe.Pointer(&f[0]), buf.Bytes())
}

// freeResident frees a resident training set's device memory and launches, nil included,
// once the work queued before has finished (a step may still be reading the set). Call it on
// the driver thread.
func freeResident(d *resident) error {
	if d == nil {
		return nil
	}
	first := cu.Synchronize()
	for _, p := range d.slots {
		if err := cu.MemFree(p); err != nil && first == nil {
			first = err
		}
	}
	if d.ls != nil {
		d.ls.free()
	}
	d.slots, d.ls = nil, nil
	return first
}

// SetOrder uploads the order of the examples for the next pass and rewinds the device's batch
// cursor to its start. The copies are synchronous on the default stream, so the steps already
// queued finish reading the last pass's order first.
func (t *trainer) SetOrder(order []int) error {
	if err := t.live(); err != nil {
		return err
	}
	if t.data == nil {
		return fmt.Errorf("cuda: SetOrder before SetDataset: the device holds no training set")
	}
	vals, err := t.data.p.OrderValues(order)
	if err != nil {
		return err
	}
	d := t.data
	err = t.g.th.do(func() error {
		if err := cu.MemcpyHtoD(d.bufs[d.p.Data.Order], unsafe.Pointer(&vals[0]), int64(len(vals))*8); err != nil {
			return fmt.Errorf("cuda: SetOrder: upload the order: %w", err)
		}
		var zero int64
		if err := cu.MemcpyHtoD(d.bufs[d.p.Data.Cursor], unsafe.Pointer(&zero), 8); err != nil {
			return fmt.Errorf("cuda: SetOrder: rewind the batch cursor: %w", err)
		}
		return nil
	})
	if err != nil {
		d.order, d.next = 0, 0
		return err
	}
	d.order, d.next = len(vals), 0
	return nil
}

// StepNext launches a whole step on the next batch of the pass's order without waiting for
// it and without uploading anything: the step gathers its batch from the resident set at the
// device's cursor and moves the cursor on.
func (t *trainer) StepNext() error {
	if err := t.live(); err != nil {
		return err
	}
	d := t.data
	switch {
	case d == nil:
		return fmt.Errorf("cuda: StepNext before SetDataset: the device holds no training set")
	case d.order == 0:
		return fmt.Errorf("cuda: StepNext before SetOrder: no order for the pass")
	case d.next+t.p.Batch > d.order:
		return fmt.Errorf("cuda: StepNext: the pass's order of %d examples holds %d batches of %d, all taken: call SetOrder for the next pass", d.order, d.order/t.p.Batch, t.p.Batch)
	}
	if err := t.g.th.do(func() error { return d.ls.run(d.p) }); err != nil {
		return err
	}
	d.next += t.p.Batch
	t.steps++
	t.since++
	t.s.Steps++ // the device counter (Adam's t) advanced too
	return nil
}

// Logits runs the forward pass of the current parameters over images [n*inputs] on the
// device, a batch at a time, and hands f each batch's outputs [rows*outputs]; the last batch
// is padded with blank images. It launches only the launches the output needs, on the
// training program's buffers: the parameters, the solver state and the training set stay as
// they are (Output gives the last batch's outputs until the next step). A float32 program
// only (the MNIST models).
func (t *trainer) Logits(images []float32, f func(logits []float32)) error {
	if err := t.live(); err != nil {
		return err
	}
	if t.p.Dtype != program.Float32 {
		return fmt.Errorf("cuda: Logits: the %s program is %s, not float32", t.p.Kind, t.p.Dtype)
	}
	in, out := t.p.Buffers[t.p.X].Elems/t.p.Batch, t.p.Buffers[t.p.Out].Elems/t.p.Batch
	if len(images)%in != 0 {
		return fmt.Errorf("%w: cuda: Logits: %d values are not whole examples of %d", graph.ErrShape, len(images), in)
	}
	if t.fwd == nil {
		fp := t.p.Forward()
		fw := &forward{p: fp, in: make([]float32, t.p.Batch*in), out: make([]float32, t.p.Batch*out)}
		err := t.g.th.do(func() error {
			var err error
			fw.ls, err = t.g.prepare(fp, t.bufs)
			return err
		})
		if err != nil {
			return err
		}
		t.fwd = fw
	}
	fw, n := t.fwd, len(images)/in
	for lo := 0; lo < n; lo += t.p.Batch {
		rows := min(t.p.Batch, n-lo)
		copy(fw.in, images[lo*in:(lo+rows)*in])
		clear(fw.in[rows*in:])
		err := t.g.th.do(func() error {
			if err := cu.MemcpyHtoD(t.bufs[t.p.X], unsafe.Pointer(&fw.in[0]), int64(len(fw.in))*4); err != nil {
				return fmt.Errorf("cuda: Logits: upload a batch: %w", err)
			}
			if err := fw.ls.run(fw.p); err != nil {
				return err
			}
			if err := cu.MemcpyDtoH(unsafe.Pointer(&fw.out[0]), t.bufs[t.p.Out], int64(len(fw.out))*4); err != nil {
				return fmt.Errorf("cuda: Logits: read the outputs back: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		f(fw.out[:rows*out])
	}
	return nil
}

// Launching says how the steps run: as one CUDA graph, or launch by launch and why.
func (t *trainer) Launching() string {
	var mode string
	t.g.th.do(func() error {
		mode = t.ls.mode()
		if t.data != nil {
			mode = t.data.ls.mode()
		}
		return nil
	})
	return mode
}

// Step uploads x and y and launches the whole step (forward, backward, update) without
// waiting for it.
func (t *trainer) Step(x, y *tensor.Dense) error {
	if err := t.live(); err != nil {
		return err
	}
	for _, in := range []struct {
		n *tensor.Dense
		g interface{ Shape() tensor.Shape }
	}{{x, t.net.X}, {y, t.net.Y}} {
		if in.n != nil && !in.n.Shape().Eq(in.g.Shape()) {
			return fmt.Errorf("%w: input is %v, the graph wants %v", graph.ErrShape, in.n.Shape(), in.g.Shape())
		}
	}
	err := t.g.th.do(func() error {
		if x != nil {
			if err := t.upload(t.p.X, x); err != nil {
				return err
			}
		}
		if y != nil {
			if err := t.upload(t.p.Y, y); err != nil {
				return err
			}
		}
		return t.ls.run(t.p)
	})
	if err != nil {
		return err
	}
	t.steps++
	t.since++
	t.s.Steps++ // the device counter (Adam's t) advanced too
	return nil
}

// Loss reads the last step's loss back, waiting for the step.
func (t *trainer) Loss() (float64, error) {
	if err := t.live(); err != nil {
		return 0, err
	}
	if t.steps == 0 {
		return 0, fmt.Errorf("cuda: no loss yet: run a step first")
	}
	var v [1]float64
	err := t.g.th.do(func() error {
		if t.p.Buffers[t.p.Loss].Elem == 4 {
			var f [1]float32
			err := cu.MemcpyDtoH(unsafe.Pointer(&f[0]), t.bufs[t.p.Loss], 4)
			v[0] = float64(f[0])
			return err
		}
		return cu.MemcpyDtoH(unsafe.Pointer(&v[0]), t.bufs[t.p.Loss], 8)
	})
	return v[0], err
}

// MeanLoss reads back the sum of the losses since the last call, waiting for the steps, and
// zeroes it: one synchronisation per call, not per step.
func (t *trainer) MeanLoss() (float64, error) {
	if err := t.live(); err != nil {
		return 0, err
	}
	if t.since == 0 {
		return 0, fmt.Errorf("cuda: no loss yet: run a step first")
	}
	var sum float64
	err := t.g.th.do(func() error {
		b := t.p.LossSum
		if t.p.Buffers[b].Elem == 4 {
			var f [1]float32
			err := cu.MemcpyDtoH(unsafe.Pointer(&f[0]), t.bufs[b], 4)
			sum = float64(f[0])
			if err != nil {
				return err
			}
		} else if err := cu.MemcpyDtoH(unsafe.Pointer(&sum), t.bufs[b], 8); err != nil {
			return err
		}
		return t.uploadValues(b, []float64{0})
	})
	n := t.since
	t.since = 0
	return sum / float64(n), err
}

// Output reads the last step's output back [batch, outputs].
func (t *trainer) Output() (*tensor.Dense, error) {
	if err := t.live(); err != nil {
		return nil, err
	}
	if t.steps == 0 {
		return nil, fmt.Errorf("cuda: no output yet: run a step first")
	}
	out := tensor.New(tensor.Of(t.net.Out.Dtype()), tensor.WithShape(t.net.Out.Shape().Clone()...))
	err := t.g.th.do(func() error { return t.download(t.p.Out, out) })
	return out, err
}

// SetLR sets the learning rate of the updates that follow: the first real parameter of every
// update launch (sgd, momentum and adam all take the rate first).
func (t *trainer) SetLR(lr float64) error {
	if err := t.live(); err != nil {
		return err
	}
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("cuda: learning rate %v: must be a positive number", lr)
	}
	err := t.g.th.do(func() error {
		for _, i := range t.p.SetLR(lr) {
			if err := t.ls.setReal(t.p, i, 0, lr); err != nil {
				return err
			}
		}
		if d := t.data; d != nil {
			for _, i := range d.p.SetLR(lr) {
				if err := d.ls.setReal(d.p, i, 0, lr); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		t.s.Rate = lr
	}
	return err
}

// Sync copies the parameters and the solver state back into the Model's and the Solver's
// tensors, so that a checkpoint written now is the same as the CPU's.
func (t *trainer) Sync() error {
	if err := t.live(); err != nil {
		return err
	}
	return t.g.th.do(func() error {
		for i, b := range t.p.Params {
			if err := t.download(b, t.net.Model.Params[i].T); err != nil {
				return err
			}
		}
		for _, m := range t.p.State {
			if err := t.download(m.Buffer, t.s.State[m.Key]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close frees the device buffers (the resident training set's too) and the launch records.
func (t *trainer) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	return t.g.th.do(func() error {
		first := cu.Synchronize() // steps may still be queued
		if err := freeResident(t.data); err != nil && first == nil {
			first = err
		}
		t.data = nil
		for _, d := range t.slots {
			if err := cu.MemFree(d); err != nil && first == nil {
				first = err
			}
		}
		t.slots, t.bufs = nil, nil
		if t.ls != nil {
			t.ls.free()
		}
		if t.fwd != nil {
			t.fwd.ls.free()
			t.fwd = nil
		}
		return first
	})
}
