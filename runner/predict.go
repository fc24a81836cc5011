package runner

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/backend"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
)

// Predictor runs a forward-only program on a device: a model's forward pass for a batch,
// compiled once, its parameters uploaded once when it is made.
type Predictor struct {
	dev    Device
	p      *ir.Program
	net    *model.Net
	xShape tensor.Shape
	mem    Memory
	ls     Launches
	out    *tensor.Dense // the outputs, valid until the next Forward
	x      *tensor.Dense // the input of the Forward call in flight
	run    func() error
	closed bool
}

var _ backend.Predictor = (*Predictor)(nil)

// LowerForward lowers m's forward pass for batch examples at a time with lowerNet, an
// executor's lowering of a training graph (the lowering takes nothing else): the graph built
// with gradients, a plain SGD solver for its update, the program then cut to its forward
// launches and the memory they use (ForwardOnly). It returns the program and the net.
func LowerForward(m *model.Model, batch int, lowerNet func(*model.Net, *model.Solver) (*ir.Program, error)) (*ir.Program, *model.Net, error) {
	net, err := m.Build(batch, true)
	if err != nil {
		return nil, nil, err
	}
	s, err := model.NewSolver("sgd", 0.1)
	if err != nil {
		return nil, nil, err
	}
	p, err := lowerNet(net, s)
	if err != nil {
		return nil, nil, err
	}
	return ForwardOnly(p), net, nil
}

// ForwardOnly is p's forward program (Program.Forward) to run on memory of its own: the slots
// that none of its launches, its inputs or its output use are cut to no bytes, so that the
// memory made for it holds what the forward pass needs, not a training step's gradients and
// solver state. p is left as it was.
func ForwardOnly(p *ir.Program) *ir.Program {
	f := p.Forward()
	used := make([]bool, len(f.Slots))
	used[f.Buffers[f.X].Slot], used[f.Buffers[f.Out].Slot] = true, true
	for _, l := range f.Launches {
		for _, b := range l.Args {
			used[f.Buffers[b].Slot] = true
		}
	}
	f.Slots = append([]int64(nil), f.Slots...)
	for i := range f.Slots {
		if !used[i] {
			f.Slots[i] = 0
		}
	}
	return f
}

// NewPredictor runs p, a forward program made from net (ForwardOnly), on dev: it allocates
// the slots, uploads the parameters and the constants that p reads, and compiles the
// launches. On an error it frees what it made.
func NewPredictor(dev Device, p *ir.Program, net *model.Net) (*Predictor, error) {
	pr := &Predictor{dev: dev, p: p, net: net, xShape: rows(p, p.X),
		out: tensor.New(tensor.Of(net.Out.Dtype()), tensor.WithShape(net.Out.Shape().Clone()...))}
	pr.run = pr.forward
	if err := dev.Do(pr.setup); err != nil {
		pr.Close()
		return nil, err
	}
	return pr, nil
}

// setup runs inside Do.
func (pr *Predictor) setup() error {
	var err error
	if pr.mem, err = pr.dev.Alloc(pr.p); err != nil {
		return err
	}
	for i, b := range pr.p.Buffers {
		if pr.p.Slots[b.Slot] < b.Bytes() { // in no slot: no launch reads it
			continue
		}
		var err error
		switch b.Kind {
		case ir.Param:
			err = upload(pr.dev, pr.p, pr.mem, i, pr.net.Model.Params[b.Index].T)
		case ir.Const:
			err = uploadReals(pr.p, pr.mem, i, b.Value)
		}
		if err != nil {
			return err
		}
	}
	pr.ls, err = pr.dev.Prepare(pr.p, pr.mem)
	return err
}

// Batch is the number of examples one Forward call takes.
func (pr *Predictor) Batch() int { return pr.p.Batch }

// Forward uploads x [Batch, inputs], runs the forward pass and reads the outputs back
// [Batch, outputs], valid until the next call.
func (pr *Predictor) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	if pr.closed {
		return nil, fmt.Errorf("%s: the %s predictor is closed", pr.dev.Name(), pr.p.Kind)
	}
	if x == nil || !x.Shape().Eq(pr.xShape) {
		var got tensor.Shape
		if x != nil {
			got = x.Shape()
		}
		return nil, fmt.Errorf("%w: input is %v, the graph wants %v", model.ErrShape, got, pr.xShape)
	}
	pr.x = x
	err := pr.dev.Do(pr.run)
	pr.x = nil
	if err != nil {
		return nil, err
	}
	return pr.out, nil
}

// forward is Forward inside Do.
func (pr *Predictor) forward() error {
	if err := upload(pr.dev, pr.p, pr.mem, pr.p.X, pr.x); err != nil {
		return err
	}
	if err := pr.ls.Run(); err != nil {
		return err
	}
	return download(pr.dev, pr.p, pr.mem, pr.p.Out, pr.out)
}

// Close waits for the launches queued, then frees the memory and the compiled launches. A
// second Close does nothing.
func (pr *Predictor) Close() error {
	if pr.closed {
		return nil
	}
	pr.closed = true
	return pr.dev.Do(func() error {
		first := pr.dev.Wait()
		if pr.mem != nil {
			if err := pr.mem.Free(); err != nil && first == nil {
				first = err
			}
		}
		if pr.ls != nil {
			pr.ls.Free()
		}
		return first
	})
}
