package cuda

import (
	"fmt"
	"strings"
)

// A Program is a training graph lowered to kernel launches: what the executor runs for one
// step, in order, and the buffers they read and write. It is pure data, built and tested
// without a device.
type Program struct {
	Kind     string // model kind: "xor", "mlp", "cnn"
	Dtype    string // "float32" or "float64"
	Batch    int    // examples per step: the rows of X and Y
	Buffers  []Buffer
	Slots    []int64 // bytes of each device allocation; Buffers[i].Slot indexes it
	Launches []Launch

	X, Y, Out, Loss int      // buffer ids of the inputs, the output and the loss
	Params          []int    // buffer id of each Model.Params[i]
	Grads           []int    // buffer id of the gradient of each parameter
	State           []Member // solver state buffers, e.g. "m/weights0"
	Step            int      // buffer id of the step counter (float64) for Adam, or -1
	LossSum         int      // buffer id of the sum of the losses since it was last zeroed

	Data *DataBuffers // the device-resident training set (WithDataset), or nil
}

// DataBuffers are the buffers of a program that gathers its batches from a training set held
// on the device (see WithDataset).
type DataBuffers struct {
	N        int // examples in the set
	Examples int // buffer id of the inputs [N, inputs], in the program's dtype
	Targets  int // buffer id of the one-hot targets [N, outputs], in the program's dtype
	Order    int // buffer id of the pass's order [N] (long long)
	Cursor   int // buffer id of the batch cursor (one long long): the next batch starts at Order[Cursor]
}

// Member names a solver state buffer by its key in graph.Solver.State.
type Member struct {
	Key    string
	Buffer int
}

// BufKind says where a buffer's contents come from and how long they live.
type BufKind int

// Buffer kinds. Every kind but Temp lives for the whole run in its own slot.
const (
	Temp    BufKind = iota // an intermediate value, its slot reused by liveness
	Param                  // a model parameter, uploaded once, read back by Sync
	State                  // solver state, uploaded once, read back by Sync
	Input                  // x or y, uploaded every step
	Const                  // a constant, uploaded once
	Step                   // the solver's step counter (one float64)
	Accum                  // a running sum, zeroed at the start and whenever it is read
	Dataset                // the resident training set, its order and cursor: uploaded once a set or a pass
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
	Slot  int       // the device allocation it lives in
	Value []float64 // the contents of a Const buffer
	Index int       // Param: index into Model.Params
}

// Bytes is the buffer's size in bytes.
func (b Buffer) Bytes() int64 { return int64(b.Elems) * int64(b.Elem) }

// Launch is one kernel launch. Its parameters follow one convention, which the kernels in
// kernels/*.cu follow too: the buffer pointers (Args, in order), then the integers (each a
// 64-bit long long), then the reals (each a double). Every parameter is 8 bytes (DESIGN
// fact 8).
type Launch struct {
	Kernel string    // the kernel's name in the PTX, e.g. "gemm_f32"
	Op     string    // the Gorgonia op it computes (for errors and the census), or "update"
	Node   int64     // the node id it computes, or -1
	Args   []int     // buffer ids: inputs first, the output last
	Ints   []int64   // integer parameters
	Reals  []float64 // real parameters
	Grid   [3]int
	Block  [3]int
}

// String is one line: kernel, buffers, integer and real parameters.
func (l Launch) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s bufs=%v", l.Kernel, l.Args)
	if len(l.Ints) > 0 {
		fmt.Fprintf(&b, " ints=%v", l.Ints)
	}
	if len(l.Reals) > 0 {
		fmt.Fprintf(&b, " reals=%v", l.Reals)
	}
	fmt.Fprintf(&b, " grid=%v block=%v  # %s", l.Grid, l.Block, l.Op)
	return b.String()
}

// Dump prints the program: buffers with their slots, then the launches.
func (p *Program) Dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "program %s %s: %d buffers in %d slots (%d bytes), %d launches\n", p.Kind, p.Dtype, len(p.Buffers), len(p.Slots), p.DeviceBytes(), len(p.Launches))
	for i, buf := range p.Buffers {
		fmt.Fprintf(&b, "  buf %3d slot %3d %-5s %8d x %d  %s\n", i, buf.Slot, buf.Kind, buf.Elems, buf.Elem, buf.Name)
	}
	for i, l := range p.Launches {
		fmt.Fprintf(&b, "  %3d %s\n", i, l)
	}
	return b.String()
}

// DeviceBytes is the device memory the program needs, all slots together.
func (p *Program) DeviceBytes() int64 {
	var n int64
	for _, s := range p.Slots {
		n += s
	}
	return n
}

// SetLR sets the learning rate of every update launch (its first real parameter: sgd,
// momentum and adam all take the rate first) and returns the indices of the launches changed.
func (p *Program) SetLR(lr float64) []int {
	var changed []int
	for i, l := range p.Launches {
		if strings.HasPrefix(l.Op, "update ") && len(l.Reals) > 0 {
			p.Launches[i].Reals[0] = lr
			changed = append(changed, i)
		}
	}
	return changed
}

// Kernels lists the distinct kernels the program launches, in order of first use.
func (p *Program) Kernels() []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range p.Launches {
		if !seen[l.Kernel] {
			seen[l.Kernel] = true
			out = append(out, l.Kernel)
		}
	}
	return out
}

// Forward returns the program that computes only the output from the inputs X: the launches
// of p that Out depends on, in p's order, over p's buffers and slots, so that a trainer runs
// it on the allocations it already has (to validate on the device). Leaving launches out never
// lets one clobber a buffer another needs: the plan gives each buffer its slot alone from the
// launch that writes it to the last that reads it, and the launches kept are in the same
// order. No update, loss or data-gathering launch is kept, so the parameters, the solver
// state and the training set's cursor stay as they are.
func (p *Program) Forward() *Program {
	need := map[int]bool{p.Out: true}
	keep := make([]bool, len(p.Launches))
	for i := len(p.Launches) - 1; i >= 0; i-- {
		l := p.Launches[i]
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
	for i, l := range p.Launches {
		if keep[i] {
			q.Launches = append(q.Launches, l)
		}
	}
	q.Data = nil
	return &q
}
