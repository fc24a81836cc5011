//go:build gpu

package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"gorgonia.org/cu"
	"gorgonia.org/tensor"

	"graphtrain/ir"
	"graphtrain/model"
)

type trainer struct {
	g      *gpu
	p      *Program
	net    *model.Net
	s      *model.Solver
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
		case ir.Param:
			if err := t.upload(i, t.net.Model.Params[b.Index].T); err != nil {
				return err
			}
		case ir.Const:
			if err := t.uploadValues(i, b.Value); err != nil {
				return err
			}
		case ir.Step:
			if err := t.uploadValues(i, []float64{float64(t.s.Steps)}); err != nil {
				return err
			}
		case ir.Accum:
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
		return nil, fmt.Errorf("%w: %s has %d elements, the device buffer %d", model.ErrShape, buf.Name, d.Shape().TotalSize(), buf.Elems)
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
			return fmt.Errorf("%w: input is %v, the graph wants %v", model.ErrShape, in.n.Shape(), in.g.Shape())
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
