//go:build gpu

package cuda

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"

	"graphtrain/model"
)

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
		return fmt.Errorf("%w: cuda: SetDataset: %d inputs and %d targets for %d examples of %d inputs and %d outputs", model.ErrShape, len(x), len(y), n, in, out)
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
