package runner

import (
	"fmt"
	"unsafe"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
)

// Trainer runs a training program on a device: the parameters and the solver state live in
// the device's memory while it trains (Sync copies them out), and the losses are summed there
// (MeanLoss reads the sum back once).
type Trainer struct {
	dev            Device
	p              *ir.Program
	net            *model.Net
	s              *model.Solver
	xShape, yShape tensor.Shape // what Step takes
	mem            Memory
	ls             Launches
	steps          int          // steps run by this trainer
	since          int          // steps since the loss sum was last read
	data           *set         // the training set held on the device (SetDataset), or nil
	fwd            *forward     // the forward program (Logits), made at its first use
	closed         bool         // Close was called: the memory is gone
	readLoss       func() error // Loss's work on the device, made once (see Loss)
	loss           float64      // what readLoss read

	// What a step hands the functions it runs inside Device.Do, bound once, so that a step
	// allocates nothing.
	x, y                    *tensor.Dense
	order                   []int64
	scratch                 [1]float64 // a real read back
	zero                    [1]int64   // zeros to upload
	step, stepSet, setOrder func() error
}

// The runner's trainers keep the training set on their device, run the forward pass there
// and say how they launch a step.
var (
	_ backend.DatasetTrainer = (*Trainer)(nil)
	_ backend.Forwarder      = (*Trainer)(nil)
	_ backend.StepLauncher   = (*Trainer)(nil)
	_ backend.LaunchTimer    = (*Trainer)(nil)
)

// NewTrainer runs p, lowered from net with s (whose state is initialised), on dev: it
// allocates every slot, uploads the parameters, the solver state, the constants and the
// step counter, zeroes the loss sum, and compiles the launches. On an error it frees what
// it made.
func NewTrainer(dev Device, p *ir.Program, net *model.Net, s *model.Solver) (*Trainer, error) {
	t := &Trainer{dev: dev, p: p, net: net, s: s, xShape: rows(p, p.X), yShape: rows(p, p.Y)}
	t.step, t.stepSet, t.setOrder = t.runStep, t.runSet, t.writeOrder
	if err := dev.Do(t.setup); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// rows is the shape of buffer b as the batch's rows: [batch, elements per example].
func rows(p *ir.Program, b int) tensor.Shape {
	n := max(1, p.Batch)
	return tensor.Shape{n, p.Buffers[b].Elems / n}
}

// setup runs inside Do.
func (t *Trainer) setup() error {
	var err error
	if t.mem, err = t.dev.Alloc(t.p); err != nil {
		return err
	}
	for i, b := range t.p.Buffers {
		var err error
		switch b.Kind {
		case ir.Param:
			err = upload(t.dev, t.p, t.mem, i, t.net.Model.Params[b.Index].T)
		case ir.Const:
			err = uploadReals(t.p, t.mem, i, b.Value)
		case ir.Step:
			err = uploadReals(t.p, t.mem, i, []float64{float64(t.s.Steps)})
		case ir.Accum:
			err = uploadReals(t.p, t.mem, i, []float64{0})
		}
		if err != nil {
			return err
		}
	}
	for _, m := range t.p.State {
		if err := upload(t.dev, t.p, t.mem, m.Buffer, t.s.State[m.Key]); err != nil {
			return err
		}
	}
	t.ls, err = t.dev.Prepare(t.p, t.mem)
	return err
}

// hostBytes is the memory of d, which must have buffer b's elements in the program's dtype.
func hostBytes(dev Device, p *ir.Program, b int, d *tensor.Dense) ([]byte, error) {
	buf := p.Buffers[b]
	n := 0
	if d != nil {
		n = d.Shape().TotalSize()
	}
	if d == nil || n != buf.Elems {
		return nil, fmt.Errorf("%w: %s: %s has %d elements, the program's buffer %d", model.ErrShape, dev.Name(), buf.Name, n, buf.Elems)
	}
	switch {
	case d.Dtype() == tensor.Float32 && buf.Elem == 4:
		return firstBytes(dev, buf, d.Float32s())
	case d.Dtype() == tensor.Float64 && buf.Elem == 8:
		return firstBytes(dev, buf, d.Float64s())
	}
	return nil, fmt.Errorf("%s: %s is %v, the program is %s", dev.Name(), buf.Name, d.Dtype(), p.Dtype)
}

// firstBytes is the memory of buf's elements at the start of x, a tensor's backing.
func firstBytes[T float32 | float64](dev Device, buf ir.Buffer, x []T) ([]byte, error) {
	if len(x) < buf.Elems {
		return nil, fmt.Errorf("%w: %s: a tensor of %d elements backed by %d", model.ErrShape, dev.Name(), buf.Elems, len(x))
	}
	return bytesOf(x[:buf.Elems]), nil
}

// upload copies d into buffer b of m, and download copies buffer b into d. Call them inside
// Do.
func upload(dev Device, p *ir.Program, m Memory, b int, d *tensor.Dense) error {
	src, err := hostBytes(dev, p, b, d)
	if err != nil {
		return err
	}
	return m.Upload(b, src)
}

func download(dev Device, p *ir.Program, m Memory, b int, d *tensor.Dense) error {
	dst, err := hostBytes(dev, p, b, d)
	if err != nil {
		return err
	}
	return m.Download(b, dst)
}

// uploadReals writes vals into buffer b of m, in the buffer's element type. Call it inside Do.
func uploadReals(p *ir.Program, m Memory, b int, vals []float64) error {
	if len(vals) == 0 {
		return nil
	}
	return m.Upload(b, realBytes(vals, p.Buffers[b].Elem))
}

// readReal reads the first element of real buffer b back. Call it inside Do.
func (t *Trainer) readReal(b int) (float64, error) {
	elem := t.p.Buffers[b].Elem
	if err := t.mem.Download(b, bytesOf(t.scratch[:])[:elem]); err != nil {
		return 0, err
	}
	if elem == 4 {
		return float64(*(*float32)(unsafe.Pointer(&t.scratch[0]))), nil
	}
	return t.scratch[0], nil
}

// live is an error once the trainer is closed, so that a use after Close says so instead
// of touching freed memory.
func (t *Trainer) live() error {
	if t.closed {
		return fmt.Errorf("%s: the %s trainer is closed", t.dev.Name(), t.p.Kind)
	}
	return nil
}

// Program is the training program; Memory and Launches are its memory and its compiled
// launches on the device: for an executor's tests, which look inside a step.
func (t *Trainer) Program() *ir.Program { return t.p }

// Memory is the training program's memory on the device.
func (t *Trainer) Memory() Memory { return t.mem }

// Launches are the training program's compiled launches.
func (t *Trainer) Launches() Launches { return t.ls }

// Resident is the program of the training set held on the device (SetDataset), its memory
// and its compiled launches, or nils.
func (t *Trainer) Resident() (*ir.Program, Memory, Launches) {
	if t.data == nil {
		return nil, nil, nil
	}
	return t.data.p, t.data.mem, t.data.ls
}
