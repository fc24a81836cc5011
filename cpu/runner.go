package cpu

import (
	"fmt"
	"unsafe"

	"github.com/graphtrain/graphtrain/internal/gemm"
	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/runner"
)

// device is the CPU as the runner's Device: memory planned once in Go slices, and each
// program's launches compiled into an executor of Go calls over it, run on a pool of workers.
// Everything runs on the calling goroutine, and has finished when it returns.
type device struct {
	root *executor // the pool and the packing buffers that every executor on the device shares
}

func newDevice(pool *parallel.Pool) *device {
	return &device{root: &executor{pool: pool, ws: gemm.NewWorkspace(), mm: f32Products(pool.Size())}}
}

// Name is "cpu".
func (*device) Name() string { return "cpu" }

// Do runs f on the calling goroutine.
func (*device) Do(f func() error) error { return f() }

// Wait has nothing to wait for: a program has finished when Run returns.
func (*device) Wait() error { return nil }

// memory is a program's slots on the CPU: an executor of no launches, whose slots the
// executors of the programs that run over it share.
type memory struct {
	e   *executor
	set [2][]float32 // the training set that its slots read in place (HoldSet), kept alive
	cp  copier       // a large Upload or Download in progress
}

// bare is p without its launches: what its memory is planned from.
func bare(p *ir.Program) *ir.Program {
	q := *p
	q.Launches = nil
	return &q
}

// Alloc is zeroed memory for p's slots.
func (d *device) Alloc(p *ir.Program) (runner.Memory, error) {
	e, err := newExecutorOn(bare(p), d.root, nil)
	if err != nil {
		return nil, err
	}
	return &memory{e: e}, nil
}

// HoldSet keeps the training set where the caller has it: the resident program (a float32
// one) shares base's slots, its own are appended after them, and the examples and the
// targets are read in place (no copy of the set): x and y must not change while it holds
// them.
func (d *device) HoldSet(rp *ir.Program, base runner.Memory, x, y []float32) (runner.Memory, error) {
	if rp.Dtype != ir.Float32 {
		return nil, fmt.Errorf("cpu: SetDataset: the %s program is %s, the set float32", rp.Kind, rp.Dtype)
	}
	lent := map[int]unsafe.Pointer{
		rp.Buffers[rp.Data.Examples].Slot: unsafe.Pointer(&x[0]),
		rp.Buffers[rp.Data.Targets].Slot:  unsafe.Pointer(&y[0]),
	}
	e, err := newExecutorOn(bare(rp), base.(*memory).e, lent)
	if err != nil {
		return nil, err
	}
	return &memory{e: e, set: [2][]float32{x, y}}, nil
}

// Prepare compiles p's launches over m (an op without a kernel here is an error that names
// it).
func (d *device) Prepare(p *ir.Program, m runner.Memory) (runner.Launches, error) {
	me := m.(*memory).e
	if len(p.Slots) != len(me.slots) {
		return nil, fmt.Errorf("cpu: the %s program has %d slots, its memory %d", p.Kind, len(p.Slots), len(me.slots))
	}
	e, err := newExecutorOn(p, me, nil)
	if err != nil {
		return nil, err
	}
	return &launches{e: e}, nil
}

// bytes is the first n bytes of buffer b.
func (m *memory) bytes(b, n int) ([]byte, error) {
	p := m.e.p
	if b < 0 || b >= len(p.Buffers) {
		return nil, fmt.Errorf("cpu: buffer %d of %d", b, len(p.Buffers))
	}
	buf := p.Buffers[b]
	if int64(n) > buf.Bytes() || int64(n) > p.Slots[buf.Slot] || m.e.slots == nil {
		return nil, fmt.Errorf("cpu: %d bytes for %s, a buffer of %d bytes in a slot of %d", n, buf.Name, buf.Bytes(), p.Slots[buf.Slot])
	}
	return unsafe.Slice((*byte)(m.e.slots[buf.Slot]), n), nil
}

// Upload copies host bytes into buffer b.
func (m *memory) Upload(b int, src []byte) error {
	dst, err := m.bytes(b, len(src))
	m.copy(dst, src)
	return err
}

// Download copies buffer b out to host bytes.
func (m *memory) Download(b int, dst []byte) error {
	src, err := m.bytes(b, len(dst))
	m.copy(dst, src)
	return err
}

// copyPiece is how many bytes one worker copies of a large Upload or Download (a batch of
// MNIST images is 400 KB: a step's input is then no longer copied by one core).
const copyPiece = 64 << 10

// copy is copy(dst, src) in pieces over the executor's workers when it is large.
func (m *memory) copy(dst, src []byte) {
	n := min(len(dst), len(src))
	if n < 2*copyPiece || m.e.pool.Size() == 1 {
		copy(dst, src)
		return
	}
	m.cp.dst, m.cp.src = dst[:n], src[:n]
	m.e.pool.Run((n+copyPiece-1)/copyPiece, &m.cp)
	m.cp = copier{}
}

// copier copies piece i of src to dst.
type copier struct{ dst, src []byte }

func (c *copier) Do(i int) {
	lo := i * copyPiece
	hi := min(lo+copyPiece, len(c.dst))
	copy(c.dst[lo:hi], c.src[lo:hi])
}

// Free lets the memory go (once the executors over it are gone too).
func (m *memory) Free() error {
	m.e.slots, m.e.owned, m.set = nil, nil, [2][]float32{}
	return nil
}

// launches is a program compiled into an executor, as the runner's Launches.
type launches struct{ e *executor }

// Run runs every launch, in order.
func (l *launches) Run() error {
	l.e.run()
	return nil
}

// SetReal sets real parameter j of launch i: the compiled kernels read the program's Reals,
// where Program.SetLR has already put the rate.
func (l *launches) SetReal(i, j int, x float64) error {
	ls := l.e.p.Launches
	if i < 0 || i >= len(ls) || j < 0 || j >= len(ls[i].Reals) {
		return fmt.Errorf("cpu: no real parameter %d of launch %d among %d", j, i, len(ls))
	}
	ls[i].Reals[j] = x
	return nil
}

// Mode says how a step runs: its compiled launches (those that gather a batch from a resident
// set not counted) and the GEMM kernel of the products.
func (l *launches) Mode() string {
	n := 0
	for _, la := range l.e.p.Launches {
		if la.Role != ir.Data {
			n++
		}
	}
	return fmt.Sprintf("%d compiled launches, %s products", n, gemm.Kernel())
}

// RunOne runs launch i alone (an update too, without the others it runs with in a step).
func (l *launches) RunOne(i int) error {
	if i < 0 || i >= len(l.e.steps) {
		return fmt.Errorf("cpu: no launch %d among %d", i, len(l.e.steps))
	}
	l.e.steps[i]()
	return nil
}

// Free lets the compiled launches go.
func (l *launches) Free() { l.e.steps, l.e.calls, l.e.slots = nil, nil, nil }

var _ runner.OneByOne = (*launches)(nil)
