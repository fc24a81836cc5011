package ir

import (
	"fmt"
	"strings"
)

// A Program is a training graph lowered to launches: what an executor runs for one step, in
// order, and the buffers they read and write. It is pure data, built and tested without a
// device, and says nothing about how an executor runs a launch (threads, blocks, kernels):
// each executor maps a launch's Op to its own kernel and decides its own geometry.
type Program struct {
	Kind     string // the model kind (model.Spec.Kind)
	Dtype    Dtype  // the element type of the model's values
	Target   string // the target it was lowered for (Target.Name): "cuda" or "cpu"
	Batch    int    // examples per step: the rows of X and Y
	Buffers  []Buffer
	Slots    []int64 // bytes of each allocation; Buffers[i].Slot indexes it
	Launches []Launch

	X, Y, Out, Loss int      // buffer ids of the inputs, the output and the loss
	Params          []int    // buffer id of each Model.Params[i]
	Grads           []int    // buffer id of the gradient of each parameter
	State           []Member // solver state buffers, e.g. "m/weights0"
	Step            int      // buffer id of the step counter (float64) for Adam, or -1
	LossSum         int      // buffer id of the sum of the losses since it was last zeroed

	Data *DataBuffers // the resident training set (WithDataset), or nil
}

// DataBuffers are the buffers of a program that gathers its batches from a training set held
// by the executor (see WithDataset).
type DataBuffers struct {
	N        int // examples in the set
	Examples int // buffer id of the inputs [N, inputs], in the program's dtype
	Targets  int // buffer id of the one-hot targets [N, outputs], in the program's dtype
	Order    int // buffer id of the pass's order [N] (int64)
	Cursor   int // buffer id of the batch cursor (one int64): the next batch starts at Order[Cursor]
}

// Member names a solver state buffer by its key in model.Solver.State.
type Member struct {
	Key    string
	Buffer int
}

// Dtype is the element type of a program's real values.
type Dtype uint8

// The element types that have kernels.
const (
	Float32 Dtype = iota
	Float64
)

func (d Dtype) String() string {
	if d == Float64 {
		return "float64"
	}
	return "float32"
}

// Size is the bytes of one element.
func (d Dtype) Size() int {
	if d == Float64 {
		return 8
	}
	return 4
}

// BufKind says where a buffer's contents come from and how long they live.
type BufKind int

// Buffer kinds. Every kind but Temp lives for the whole run in its own slot.
const (
	Temp    BufKind = iota // an intermediate value, its slot reused by liveness
	Param                  // a model parameter, set once, read back by Sync
	State                  // solver state, set once, read back by Sync
	Input                  // x or y, set every step
	Const                  // a constant, set once
	Step                   // the solver's step counter (one float64)
	Accum                  // a running sum, zeroed at the start and whenever it is read
	Dataset                // the resident training set, its order and cursor: set once a set or a pass
)

func (k BufKind) String() string {
	return [...]string{"temp", "param", "state", "input", "const", "step", "accum", "data"}[k]
}

// Buffer is one value of the program: a node's output, a parameter, a solver state tensor.
// Several nodes can share a buffer (a reshape is a view of its input).
type Buffer struct {
	Name  string
	Kind  BufKind
	Elems int
	Elem  int       // bytes per element: 4 or 8
	Slot  int       // the allocation it lives in
	Value []float64 // the contents of a Const buffer
	Index int       // Param: index into Model.Params
}

// Bytes is the buffer's size in bytes.
func (b Buffer) Bytes() int64 { return int64(b.Elems) * int64(b.Elem) }

// Role says which part of a training step a launch belongs to.
type Role uint8

// Launch roles, in the order a step runs them.
const (
	Data     Role = iota // gathers the batch from the resident training set, or moves its cursor
	Forward              // computes the output from the inputs
	Loss                 // computes the loss (and, fused, the gradient of the logits), or sums it
	Backward             // computes gradients
	Update               // the solver's update of the parameters and its step counter
)

func (r Role) String() string {
	return [...]string{"data", "forward", "loss", "backward", "update"}[r]
}

// Launch is one operation of a program: Op over the buffers Args (inputs first, the output
// last), with integer and real parameters whose meaning Op defines (see the Op constants).
// The integers are encoded and decoded by the typed parameters of params.go (GemmParams,
// ConvParams, ...), never by position elsewhere. The reference interpreter, package ref,
// gives every op its exact meaning.
type Launch struct {
	Op    Op
	Dtype Dtype     // the element type of its real buffers
	Role  Role      // which part of the step it belongs to
	Node  int64     // the graph node it computes, or -1
	What  string    // what it computes, for errors and listings: the Gorgonia op, "update adam weights0"
	Args  []int     // buffer ids: inputs first, the output last
	Ints  []int64   // integer parameters, positional: the wire format of params.go
	Reals []float64 // real parameters
	// Eval, when not nil, is the Args the launch runs with in a forward pass at evaluation
	// (Forward): a training step's batch normalisation reads the batch's statistics, an
	// evaluation the running ones.
	Eval []int
}

// Inputs are the buffers the launch reads: its Args but the outputs at the end (two for
// SoftmaxXent, ConvReLU, ConvReLUPool, BatchNormStats, BatchNormBackScale, GemmBiasReLU and
// FilterSum, all after the fourth for ConvReLUPoolBack, one otherwise). An update's parameter and
// state, updated in place, count as inputs.
func (l Launch) Inputs() []int {
	outs := 1
	switch l.Op {
	case SoftmaxXent, ConvReLU, ConvReLUPool, BatchNormStats, BatchNormBackScale, GemmBiasReLU, FilterSum:
		outs = 2
	case ConvReLUPoolBack:
		outs = len(l.Args) - 4
	case StepInc, CursorAdd:
		outs = 0
	}
	return l.Args[:max(0, len(l.Args)-outs)]
}

// String is one line: op, buffers, integer and real parameters, and what it computes.
func (l Launch) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s bufs=%v", l.Op, l.Args)
	if len(l.Ints) > 0 {
		fmt.Fprintf(&b, " ints=%v", l.Ints)
	}
	if len(l.Reals) > 0 {
		fmt.Fprintf(&b, " reals=%v", l.Reals)
	}
	fmt.Fprintf(&b, "  %s  # %s", l.Role, l.What)
	return b.String()
}

// Dump prints the program: buffers with their slots, then the launches. Each line of a launch
// comes from describe (an executor's own listing, with its kernel and geometry), or from
// Launch.String when describe is nil.
func (p *Program) Dump(describe func(Launch) string) string {
	if describe == nil {
		describe = Launch.String
	}
	var b strings.Builder
	fmt.Fprintf(&b, "program %s %s: %d buffers in %d slots (%d bytes), %d launches\n", p.Kind, p.Dtype, len(p.Buffers), len(p.Slots), p.Bytes(), len(p.Launches))
	for i, buf := range p.Buffers {
		fmt.Fprintf(&b, "  buf %3d slot %3d %-5s %8d x %d  %s\n", i, buf.Slot, buf.Kind, buf.Elems, buf.Elem, buf.Name)
	}
	for i, l := range p.Launches {
		fmt.Fprintf(&b, "  %3d %s\n", i, describe(l))
	}
	return b.String()
}

// Bytes is the memory the program needs, all slots together.
func (p *Program) Bytes() int64 {
	var n int64
	for _, s := range p.Slots {
		n += s
	}
	return n
}

// SetLR sets the learning rate of every update of a parameter (its first real parameter: sgd,
// momentum and adam all take the rate first) and returns the indices of the launches changed.
func (p *Program) SetLR(lr float64) []int {
	var changed []int
	for i, l := range p.Launches {
		if l.Op.IsUpdate() && len(l.Reals) > 0 {
			p.Launches[i].Reals[0] = lr
			changed = append(changed, i)
		}
	}
	return changed
}

// Ops lists the distinct (op, dtype) pairs the program launches, in order of first use.
func (p *Program) Ops() []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range p.Launches {
		k := l.Op.String() + "/" + l.Dtype.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// Forward returns the program that computes only the output from the inputs X: the launches
// of p that Out depends on, in p's order, over p's buffers and slots, so that an executor runs
// it on the memory it already has (to validate between steps). Leaving launches out never
// lets one clobber a buffer another needs: the plan gives each buffer its slot alone from the
// launch that writes it to the last that reads it, and the launches kept are in the same
// order. No update, loss or data-gathering launch is kept, so the parameters, the solver
// state and the training set's cursor stay as they are. The launches run as at evaluation
// (Launch.evaluation): an Augment launch copies its input (AugmentParams.Identity), a Dropout
// launch keeps every value unscaled, and a BatchNorm launch reads the running statistics
// (Launch.Eval), so the batch's statistics are not computed.
func (p *Program) Forward() *Program {
	launches := make([]Launch, len(p.Launches))
	for i, l := range p.Launches {
		launches[i] = l.evaluation()
	}
	need := map[int]bool{p.Out: true}
	keep := make([]bool, len(launches))
	for i := len(launches) - 1; i >= 0; i-- {
		l := launches[i]
		if l.Node < 0 || len(l.Args) == 0 || !need[l.Args[len(l.Args)-1]] {
			continue
		}
		keep[i] = true
		for _, b := range l.Args[:len(l.Args)-1] {
			need[b] = true
		}
	}
	q := *p
	q.Launches = nil
	for i, l := range launches {
		if keep[i] {
			q.Launches = append(q.Launches, l)
		}
	}
	q.Data = nil
	return &q
}

// evaluation is l as a forward pass at evaluation runs it: an augmentation the identity,
// dropout keeping every value unscaled, a batch normalisation on its Eval arguments.
func (l Launch) evaluation() Launch {
	if a, err := l.AugmentParams(); err == nil {
		a = a.Identity()
		l.Ints, l.Reals = a.Ints(), a.Reals()
	}
	if d, err := l.DropoutParams(); err == nil {
		d.Threshold = 0
		l.Ints, l.Reals = d.Ints(), []float64{1}
	}
	if l.Eval != nil {
		l.Args, l.Eval = l.Eval, nil
	}
	return l
}

// Clone is a deep copy of p: launches' parameters included, so that SetLR on one leaves the
// other as it is.
func (p *Program) Clone() *Program {
	q := *p
	q.Buffers = append([]Buffer(nil), p.Buffers...)
	q.Slots = append([]int64(nil), p.Slots...)
	q.Launches = make([]Launch, len(p.Launches))
	for i, l := range p.Launches {
		l.Args = append([]int(nil), l.Args...)
		l.Ints = append([]int64(nil), l.Ints...)
		l.Reals = append([]float64(nil), l.Reals...)
		l.Eval = append([]int(nil), l.Eval...)
		q.Launches[i] = l
	}
	q.Params = append([]int(nil), p.Params...)
	q.Grads = append([]int(nil), p.Grads...)
	q.State = append([]Member(nil), p.State...)
	if p.Data != nil {
		d := *p.Data
		q.Data = &d
	}
	return &q
}
