//go:build gpu

package cuda

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"

	"graphtrain/ir"
	"graphtrain/model"
)

// forward is the trainer's program cut down to the output (Program.Forward), on the
// trainer's buffers, with host memory for a batch of inputs and of outputs.
type forward struct {
	p       *Program
	ls      *launches
	in, out []float32
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
	if t.p.Dtype != ir.Float32 {
		return fmt.Errorf("cuda: Logits: the %s program is %s, not float32", t.p.Kind, t.p.Dtype)
	}
	in, out := t.p.Buffers[t.p.X].Elems/t.p.Batch, t.p.Buffers[t.p.Out].Elems/t.p.Batch
	if len(images)%in != 0 {
		return fmt.Errorf("%w: cuda: Logits: %d values are not whole examples of %d", model.ErrShape, len(images), in)
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
