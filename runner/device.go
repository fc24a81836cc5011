package runner

import (
	"unsafe"

	"github.com/graphtrain/graphtrain/ir"
)

// Device is what an executor gives the runner: memory for a program's slots, and programs
// compiled to run over it. Every method but Name and Do is called inside Do.
type Device interface {
	// Name is the backend's name ("cpu", "cuda"); the runner's errors start with it.
	Name() string
	// Do runs f where the device's calls must run (the CUDA driver's thread; on the CPU the
	// calling goroutine) and returns its error. The runner calls it once for each thing it
	// does (once a step), with every device call of that thing inside f.
	Do(f func() error) error
	// Alloc is memory for every slot of p, a slot of its own for each. On an error the memory
	// holds the slots allocated before it (or is nil), for the runner to Free.
	Alloc(p *ir.Program) (Memory, error)
	// HoldSet is the memory of rp (a program's WithDataset) over base (that program's memory):
	// base's slots shared, the resident set's own after them, its examples x and one-hot
	// targets y put there (on the CPU read in place; a GPU copies them, converted for a
	// float64 program). On an error the memory holds what was allocated (or is nil), for the
	// runner to Free: a device that cannot hold the set says so, and base is as it was.
	HoldSet(rp *ir.Program, base Memory, x, y []float32) (Memory, error)
	// Prepare compiles p's launches over m, memory for p's slots (p may be a program cut
	// from m's, as Program.Forward is: the same buffers and slots).
	Prepare(p *ir.Program, m Memory) (Launches, error)
	// Wait returns once the work queued on the device has finished, with its error (a GPU
	// runs launches asynchronously; the CPU's have finished when Run returns).
	Wait() error
}

// Memory is a program's slots on a device, addressed by the program's buffer ids.
type Memory interface {
	// Upload copies src into buffer b, from its start; Download copies buffer b's first
	// len(dst) bytes into dst. Neither waits for launches queued before (a GPU's copies are
	// ordered after them on its stream).
	Upload(b int, src []byte) error
	Download(b int, dst []byte) error
	// Free frees the slots this memory allocated (not those it shares).
	Free() error
}

// Launches is a program compiled for a device, over memory.
type Launches interface {
	// Run launches the program's launches in order; a GPU does not wait for them.
	Run() error
	// SetReal makes real parameter j of program launch i x in the launches that follow,
	// after the program's own Reals were rewritten (Program.SetLR): a launch queued before
	// keeps its value.
	SetReal(i, j int, x float64) error
	// Mode says how the launches run (Trainer.Launching).
	Mode() string
	// Free frees what the compiled launches hold.
	Free()
}

// OneByOne is Launches that can run one launch of the program alone: launch i has finished
// once the device's Wait returns (Trainer.TimeLaunches).
type OneByOne interface {
	RunOne(i int) error
}

// Named is Launches that name what runs each launch of the program (a GPU's kernel).
type Named interface {
	Kernel(i int) string
}

// bytesOf is the memory of s as bytes (nil when s is empty).
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// realBytes is vals as elements of elem bytes (4: float32, else float64).
func realBytes(vals []float64, elem int) []byte {
	if elem != 4 {
		return bytesOf(vals)
	}
	f := make([]float32, len(vals))
	for i, v := range vals {
		f[i] = float32(v)
	}
	return bytesOf(f)
}
