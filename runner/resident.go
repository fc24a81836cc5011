package runner

import (
	"fmt"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
)

// set is the training set held on the device: the program that gathers its batches there
// (Program.WithDataset), sharing every buffer of the trainer's program and adding its own, in
// memory over the trainer's.
type set struct {
	p     *ir.Program
	mem   Memory
	ls    Launches
	order int // examples in the pass's order (0 before SetOrder)
	next  int // where the next batch starts in the order, as the device's cursor has it
}

// SetDataset keeps the training set on the device (Device.HoldSet: a GPU copies it there
// once, the CPU reads it in place) with an order and a batch cursor, and compiles the program
// that gathers each batch there (Program.WithDataset). A second call replaces the set. When
// the device cannot hold the set the error says so and the trainer goes on as before (with
// the set it had, if any): Step still takes uploaded batches.
func (t *Trainer) SetDataset(x, y []float32, n int) error {
	if err := t.live(); err != nil {
		return err
	}
	in, out := t.p.Buffers[t.p.X].Elems/t.p.Batch, t.p.Buffers[t.p.Y].Elems/t.p.Batch
	if n < 1 || len(x) != n*in || len(y) != n*out {
		return fmt.Errorf("%w: %s: SetDataset: %d inputs and %d targets for %d examples of %d inputs and %d outputs", model.ErrShape, t.dev.Name(), len(x), len(y), n, in, out)
	}
	rp, err := t.p.WithDataset(n)
	if err != nil {
		return err
	}
	return t.dev.Do(func() error {
		d := &set{p: rp}
		var err error
		if d.mem, err = t.dev.HoldSet(rp, t.mem, x, y); err != nil {
			t.freeSet(d)
			return err
		}
		if err := d.mem.Upload(rp.Data.Cursor, bytesOf(t.zero[:])); err != nil {
			t.freeSet(d)
			return fmt.Errorf("%s: SetDataset: zero the batch cursor: %w", t.dev.Name(), err)
		}
		if d.ls, err = t.dev.Prepare(rp, d.mem); err != nil {
			t.freeSet(d)
			return err
		}
		old := t.data
		t.data = d
		return t.freeSet(old)
	})
}

// freeSet frees a resident set's memory and launches, nil included, once the work queued
// before has finished (a step may still be reading the set). Call it inside Do.
func (t *Trainer) freeSet(d *set) error {
	if d == nil {
		return nil
	}
	first := t.dev.Wait()
	if d.mem != nil {
		if err := d.mem.Free(); err != nil && first == nil {
			first = err
		}
	}
	if d.ls != nil {
		d.ls.Free()
	}
	d.mem, d.ls = nil, nil
	return first
}

// SetOrder uploads the order of the examples for the next pass and rewinds the device's batch
// cursor to its start. On a GPU the copies are ordered after the steps already queued, so
// those finish reading the last pass's order first.
func (t *Trainer) SetOrder(order []int) error {
	if err := t.live(); err != nil {
		return err
	}
	if t.data == nil {
		return fmt.Errorf("%s: SetOrder before SetDataset: the device holds no training set", t.dev.Name())
	}
	vals, err := t.data.p.OrderValues(order)
	if err != nil {
		return err
	}
	d := t.data
	t.order = vals
	err = t.dev.Do(t.setOrder)
	t.order = nil
	if err != nil {
		d.order, d.next = 0, 0
		return err
	}
	d.order, d.next = len(vals), 0
	return nil
}

// writeOrder is SetOrder inside Do.
func (t *Trainer) writeOrder() error {
	d := t.data
	if err := d.mem.Upload(d.p.Data.Order, bytesOf(t.order)); err != nil {
		return fmt.Errorf("%s: SetOrder: upload the order: %w", t.dev.Name(), err)
	}
	if err := d.mem.Upload(d.p.Data.Cursor, bytesOf(t.zero[:])); err != nil {
		return fmt.Errorf("%s: SetOrder: rewind the batch cursor: %w", t.dev.Name(), err)
	}
	return nil
}

// StepNext launches a whole step on the next batch of the pass's order without uploading
// anything (a GPU does not wait for it): the step gathers its batch from the resident set at
// the device's cursor and moves the cursor on.
func (t *Trainer) StepNext() error {
	if err := t.live(); err != nil {
		return err
	}
	d := t.data
	switch {
	case d == nil:
		return fmt.Errorf("%s: StepNext before SetDataset: the device holds no training set", t.dev.Name())
	case d.order == 0:
		return fmt.Errorf("%s: StepNext before SetOrder: no order for the pass", t.dev.Name())
	case d.next+t.p.Batch > d.order:
		return fmt.Errorf("%s: StepNext: the pass's order of %d examples holds %d batches of %d, all taken: call SetOrder for the next pass", t.dev.Name(), d.order, d.order/t.p.Batch, t.p.Batch)
	}
	if err := t.dev.Do(t.stepSet); err != nil {
		return err
	}
	d.next += t.p.Batch
	t.stepped()
	return nil
}

// runSet is StepNext inside Do.
func (t *Trainer) runSet() error { return t.data.ls.Run() }
