//go:build gpu

package cuda

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/graphtrain/graphtrain/runner"
)

// device is the GPU as the runner's Device: device memory, each program's launches as C
// launch records (run as one CUDA graph, or one by one), every driver call on the driver
// thread. Launches and copies go on the default stream: a copy is ordered after the launches
// queued before it, and a copy back waits for them.
type device struct{ g *gpu }

// Name is "cuda".
func (d *device) Name() string { return "cuda" }

// Do runs f on the driver thread, where the context is current.
func (d *device) Do(f func() error) error { return d.g.th.do(f) }

// Wait waits for the work queued on the device (cu.Synchronize).
func (d *device) Wait() error { return cu.Synchronize() }

// memory is a program's slots on the device.
type memory struct {
	p     *Program
	slots []cu.DevicePtr // the slots this memory allocated
	bufs  []cu.DevicePtr // device address of each of p's buffers
}

// Alloc allocates every slot of p (at least 8 bytes each).
func (d *device) Alloc(p *Program) (runner.Memory, error) {
	m := &memory{p: p}
	for i, b := range p.Slots {
		ptr, err := cu.MemAlloc(max(b, 8))
		if err != nil {
			return m, fmt.Errorf("cuda: allocate slot %d (%d bytes) of the %s program: %w", i, b, p.Kind, err)
		}
		m.slots = append(m.slots, ptr)
	}
	for _, b := range p.Buffers {
		m.bufs = append(m.bufs, m.slots[b.Slot])
	}
	return m, nil
}

// HoldSet keeps the training set on the device: it allocates the examples [n*inputs], the
// one-hot targets [n*outputs], the order [n] and a batch cursor, each in a slot of its own
// after base's, and uploads the examples and targets once (converted for a float64 program).
// When the device cannot hold the set the error says so, with the memory it needed and had.
func (d *device) HoldSet(rp *Program, base runner.Memory, x, y []float32) (runner.Memory, error) {
	bm := base.(*memory)
	m := &memory{p: rp, bufs: append([]cu.DevicePtr(nil), bm.bufs...)}
	free, total, _ := cu.MemInfo()
	for _, b := range rp.Buffers[len(bm.p.Buffers):] { // each in a slot of its own, in order
		ptr, err := cu.MemAlloc(max(b.Bytes(), 8))
		if err != nil {
			return m, fmt.Errorf("cuda: SetDataset: the training set of %d examples does not fit on %s: allocating its %s (%.1f MB of the %.1f MB the set needs) failed: %w; %.1f MB of %.1f MB were free, the %s program itself holds %.1f MB",
				rp.Data.N, d.g.dev.Name, b.Name, mb(b.Bytes()), mb(rp.Bytes()-bm.p.Bytes()), err, mb(free), mb(total), bm.p.Kind, mb(bm.p.Bytes()))
		}
		m.slots = append(m.slots, ptr)
		m.bufs = append(m.bufs, ptr)
	}
	for _, set := range []struct {
		b    int
		vals []float32
	}{{rp.Data.Examples, x}, {rp.Data.Targets, y}} {
		if err := uploadData(m, set.b, set.vals); err != nil {
			return m, fmt.Errorf("cuda: SetDataset: upload the %s: %w", rp.Buffers[set.b].Name, err)
		}
	}
	return m, nil
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// uploadData writes float32 values into a data buffer of the resident program, converting
// them for a float64 program. Call it on the driver thread.
func uploadData(m *memory, b int, vals []float32) error {
	buf := m.p.Buffers[b]
	if len(vals) == 0 {
		return nil
	}
	if buf.Elem == 4 {
		return cu.MemcpyHtoD(m.bufs[b], unsafe.Pointer(&vals[0]), buf.Bytes())
	}
	f := make([]float64, len(vals))
	for i, v := range vals {
		f[i] = float64(v)
	}
	return cu.MemcpyHtoD(m.bufs[b], unsafe.Pointer(&f[0]), buf.Bytes())
}

// Prepare turns p's launches into C launch records over m's buffers (gpu.prepare).
func (d *device) Prepare(p *Program, m runner.Memory) (runner.Launches, error) {
	bufs := m.(*memory).bufs
	if len(bufs) < len(p.Buffers) {
		return nil, fmt.Errorf("cuda: the %s program has %d buffers, its memory %d", p.Kind, len(p.Buffers), len(bufs))
	}
	ls, err := d.g.prepare(p, bufs)
	if err != nil {
		return nil, err
	}
	return &compiled{p: p, ls: ls}, nil
}

// check is an error unless n bytes fit buffer b.
func (m *memory) check(b, n int) error {
	if b < 0 || b >= len(m.bufs) || int64(n) > m.p.Buffers[b].Bytes() {
		return fmt.Errorf("cuda: %d bytes for buffer %d of the %s program", n, b, m.p.Kind)
	}
	return nil
}

// Upload copies host bytes into buffer b, after the launches queued before.
func (m *memory) Upload(b int, src []byte) error {
	if err := m.check(b, len(src)); err != nil || len(src) == 0 {
		return err
	}
	return cu.MemcpyHtoD(m.bufs[b], unsafe.Pointer(&src[0]), int64(len(src)))
}

// Download copies buffer b back into host bytes, waiting for the launches queued before.
func (m *memory) Download(b int, dst []byte) error {
	if err := m.check(b, len(dst)); err != nil || len(dst) == 0 {
		return err
	}
	return cu.MemcpyDtoH(unsafe.Pointer(&dst[0]), m.bufs[b], int64(len(dst)))
}

// Free frees the slots this memory allocated. Wait first: a launch may still use them.
func (m *memory) Free() error {
	var first error
	for _, d := range m.slots {
		if err := cu.MemFree(d); err != nil && first == nil {
			first = err
		}
	}
	m.slots, m.bufs = nil, nil
	return first
}

// compiled is a program's launch records, as the runner's Launches.
type compiled struct {
	p  *Program
	ls *launches
}

// Run launches them all without waiting: as one CUDA graph (built at the first run) or one
// by one.
func (c *compiled) Run() error { return c.ls.run(c.p) }

// SetReal rewrites real parameter j of launch i, in the CUDA graph too.
func (c *compiled) SetReal(i, j int, x float64) error { return c.ls.setReal(c.p, i, j, x) }

// Mode says how they run: "CUDA graph", "one by one", or why not as a graph.
func (c *compiled) Mode() string { return c.ls.mode() }

// RunOne launches launch i alone, without waiting for it. Call it on the driver thread.
func (c *compiled) RunOne(i int) error {
	if i < 0 || i >= c.ls.n {
		return fmt.Errorf("cuda: no launch %d among %d", i, c.ls.n)
	}
	return c.ls.only(i).run(c.p)
}

// Kernel is the kernel that runs launch i.
func (c *compiled) Kernel(i int) string { return kernelFor(c.p.Launches[i]).Name }

// Free releases the graph and the launch records.
func (c *compiled) Free() { c.ls.free() }

var (
	_ runner.OneByOne = (*compiled)(nil)
	_ runner.Named    = (*compiled)(nil)
)
