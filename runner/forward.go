package runner

import (
	"fmt"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
)

// forward is the trainer's program cut down to the output (Program.Forward), on the
// trainer's memory, with host memory for a batch of inputs and of outputs.
type forward struct {
	p       *ir.Program
	ls      Launches
	in, out []float32
}

// Logits runs the forward pass of the current parameters over images [n*inputs] on the
// device, a batch at a time, and hands f each batch's outputs [rows*outputs]; the last batch
// is padded with blank images. It launches only the launches the output needs, on the
// training program's memory: the parameters, the solver state and the training set stay as
// they are (Output gives the last batch's outputs until the next step). A float32 program
// only (the MNIST models).
func (t *Trainer) Logits(images []float32, f func(logits []float32)) error {
	if err := t.live(); err != nil {
		return err
	}
	if t.p.Dtype != ir.Float32 {
		return fmt.Errorf("%s: Logits: the %s program is %s, not float32", t.dev.Name(), t.p.Kind, t.p.Dtype)
	}
	in, out := t.p.Buffers[t.p.X].Elems/t.p.Batch, t.p.Buffers[t.p.Out].Elems/t.p.Batch
	if len(images)%in != 0 {
		return fmt.Errorf("%w: %s: Logits: %d values are not whole examples of %d", model.ErrShape, t.dev.Name(), len(images), in)
	}
	fw, err := t.forward()
	if err != nil {
		return err
	}
	for lo, n := 0, len(images)/in; lo < n; lo += t.p.Batch {
		rows := min(t.p.Batch, n-lo)
		copy(fw.in, images[lo*in:(lo+rows)*in])
		clear(fw.in[rows*in:])
		err := t.dev.Do(func() error {
			if err := t.mem.Upload(t.p.X, bytesOf(fw.in)); err != nil {
				return fmt.Errorf("%s: Logits: upload a batch: %w", t.dev.Name(), err)
			}
			if err := fw.ls.Run(); err != nil {
				return err
			}
			if err := t.mem.Download(t.p.Out, bytesOf(fw.out)); err != nil {
				return fmt.Errorf("%s: Logits: read the outputs back: %w", t.dev.Name(), err)
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

// forward is the trainer's forward program, compiled at the first call.
func (t *Trainer) forward() (*forward, error) {
	if t.fwd != nil {
		return t.fwd, nil
	}
	fp := t.p.Forward()
	fw := &forward{p: fp, in: make([]float32, t.p.Buffers[t.p.X].Elems), out: make([]float32, t.p.Buffers[t.p.Out].Elems)}
	err := t.dev.Do(func() error {
		var err error
		fw.ls, err = t.dev.Prepare(fp, t.mem)
		return err
	})
	if err != nil {
		return nil, err
	}
	t.fwd = fw
	return fw, nil
}
