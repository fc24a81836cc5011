//go:build gpu

package cuda

// The driver layer: the cuInit guard, the one OS thread every driver call runs on, device
// queries, and launching a whole program with one cgo call. Everything that touches cgo is
// in this file.

/*
#cgo LDFLAGS: -lcuda -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <cuda.h>

// The cuInit guard (docs/DESIGN.md, "The cuInit guard"). gorgonia.org/cu calls cuInit in its package init and
// exits the process when it fails. This definition wins at link time over libcuda's: it
// calls the real one, records its result and reports success, so that the program starts on
// any machine with the driver library and can say why no GPU is usable.
static CUresult gtInitResult = 0;
static int gtInitCalled = 0;
CUresult cuInit(unsigned int flags) {
	CUresult (*real)(unsigned int) = (CUresult (*)(unsigned int))dlsym(RTLD_NEXT, "cuInit");
	gtInitCalled = 1;
	if (!real) { gtInitResult = CUDA_ERROR_UNKNOWN; return CUDA_SUCCESS; }
	gtInitResult = real(flags);
	return CUDA_SUCCESS;
}
static int gtGuard(int* called) { *called = gtInitCalled; return (int)gtInitResult; }

static const char* gtErrorName(int r) {
	const char* s = 0;
	if (cuGetErrorName((CUresult)r, &s) != CUDA_SUCCESS || !s) return "";
	return s;
}
static const char* gtErrorString(int r) {
	const char* s = 0;
	if (cuGetErrorString((CUresult)r, &s) != CUDA_SUCCESS || !s) return "";
	return s;
}
static int gtDriverVersion() { int v = 0; cuDriverGetVersion(&v); return v; }

// One kernel launch, its parameters prepared once (every one 8 bytes).
typedef struct {
	CUfunction f;
	unsigned grid[3], block[3];
	void** params;
} gtLaunch;

// gtRun launches n kernels on the default stream without waiting for any; on an error it
// says which launch failed.
static CUresult gtRun(gtLaunch* ls, int n, int* failed) {
	for (int i = 0; i < n; i++) {
		CUresult r = cuLaunchKernel(ls[i].f, ls[i].grid[0], ls[i].grid[1], ls[i].grid[2],
			ls[i].block[0], ls[i].block[1], ls[i].block[2], 0, 0, ls[i].params, 0);
		if (r != CUDA_SUCCESS) { *failed = i; return r; }
	}
	return CUDA_SUCCESS;
}
// A program's launches as a CUDA graph (docs/DESIGN.md, "Launch costs and CUDA graphs"): one kernel node per launch, each
// depending on the one before, so the graph runs them in the order the stream would. Built
// node by node rather than captured, so that each launch keeps its node and a parameter
// rewritten later (a learning rate) reaches the instantiated graph.
typedef struct {
	CUgraph g;
	CUgraphExec e;
	CUgraphNode* nodes;
} gtGraph;

static CUDA_KERNEL_NODE_PARAMS gtNodeParams(gtLaunch* l) {
	CUDA_KERNEL_NODE_PARAMS p;
	p.func = l->f;
	p.gridDimX = l->grid[0]; p.gridDimY = l->grid[1]; p.gridDimZ = l->grid[2];
	p.blockDimX = l->block[0]; p.blockDimY = l->block[1]; p.blockDimZ = l->block[2];
	p.sharedMemBytes = 0;
	p.kernelParams = l->params;
	p.extra = 0;
	return p;
}

static void gtGraphFree(gtGraph* g) {
	if (g->e) cuGraphExecDestroy(g->e);
	if (g->g) cuGraphDestroy(g->g);
	free(g->nodes);
	g->e = 0; g->g = 0; g->nodes = 0;
}

// gtGraphBuild makes and instantiates the graph of n launches; on an error it frees what it
// made and says which launch failed (n for the instantiation).
static CUresult gtGraphBuild(gtGraph* g, gtLaunch* ls, int n, int* failed) {
	CUresult r = cuGraphCreate(&g->g, 0);
	if (r != CUDA_SUCCESS) { *failed = -1; return r; }
	g->nodes = (CUgraphNode*)calloc(n, sizeof(CUgraphNode));
	if (!g->nodes) { *failed = -1; gtGraphFree(g); return CUDA_ERROR_OUT_OF_MEMORY; }
	for (int i = 0; i < n; i++) {
		CUDA_KERNEL_NODE_PARAMS p = gtNodeParams(&ls[i]);
		r = cuGraphAddKernelNode(&g->nodes[i], g->g, i ? &g->nodes[i-1] : 0, i ? 1 : 0, &p);
		if (r != CUDA_SUCCESS) { *failed = i; gtGraphFree(g); return r; }
	}
	r = cuGraphInstantiateWithFlags(&g->e, g->g, 0);
	if (r != CUDA_SUCCESS) { *failed = n; gtGraphFree(g); return r; }
	return CUDA_SUCCESS;
}

// gtGraphSetParams gives node i of the instantiated graph launch l's current parameters;
// the graph's launches queued before keep theirs.
static CUresult gtGraphSetParams(gtGraph* g, gtLaunch* l, int i) {
	CUDA_KERNEL_NODE_PARAMS p = gtNodeParams(l);
	return cuGraphExecKernelNodeSetParams(g->e, g->nodes[i], &p);
}

static CUresult gtGraphLaunch(gtGraph* g) { return cuGraphLaunch(g->e, 0); }

// gtGraphMissing names the first graph entry point this binary calls that the driver library
// does not export, or returns 0: symbols bind at their first call, so a missing one would end
// the process there instead of leaving the launches to go one by one.
static const char* gtGraphMissing() {
	static const char* names[] = {"cuGraphCreate", "cuGraphAddKernelNode", "cuGraphInstantiateWithFlags",
		"cuGraphExecKernelNodeSetParams", "cuGraphLaunch", "cuGraphExecDestroy", "cuGraphDestroy"};
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!dlsym(RTLD_DEFAULT, names[i])) return names[i];
	return 0;
}

static void gtSetLaunch(gtLaunch* l, CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, void** params) {
	l->f = f; l->grid[0] = gx; l->grid[1] = gy; l->grid[2] = gz;
	l->block[0] = bx; l->block[1] = by; l->block[2] = bz; l->params = params;
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"gorgonia.org/cu"
)

// Compiled reports whether this build has the GPU backend.
const Compiled = true

// cudaError is a CUresult with the driver's name and description for it.
func cudaError(r int) error {
	if r == 0 {
		return nil
	}
	name, desc := C.GoString(C.gtErrorName(C.int(r))), C.GoString(C.gtErrorString(C.int(r)))
	if name == "" {
		return fmt.Errorf("CUresult %d", r)
	}
	return fmt.Errorf("%s (%s)", name, desc)
}

// guardErr is why the driver could not be initialised, or nil.
func guardErr() error {
	var called C.int
	r := int(C.gtGuard(&called))
	if called == 0 {
		return fmt.Errorf("cuda: cuInit was never called: the cuInit guard is not linked in")
	}
	if r != 0 {
		return fmt.Errorf("cuda: the driver did not initialise: %w", cudaError(r))
	}
	return nil
}

// driverVersion is the CUDA version the driver supports, as "13.0".
func driverVersion() string {
	v := int(C.gtDriverVersion())
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}

// Devices lists the GPUs the driver sees, with the CUDA version the driver supports, or
// says why there are none.
func Devices() (devs []Device, driver string, err error) {
	if err := guardErr(); err != nil {
		return nil, "", err
	}
	n, err := cu.NumDevices()
	if err != nil {
		return nil, "", fmt.Errorf("cuda: count devices: %w", err)
	}
	if n == 0 {
		return nil, driverVersion(), fmt.Errorf("cuda: the driver sees no CUDA device")
	}
	for i := 0; i < n; i++ {
		d := cu.Device(i)
		name, err := d.Name()
		if err != nil {
			return nil, "", fmt.Errorf("cuda: device %d: %w", i, err)
		}
		major, minor, err := d.ComputeCapability()
		if err != nil {
			return nil, "", fmt.Errorf("cuda: device %d: %w", i, err)
		}
		mem, err := d.TotalMem()
		if err != nil {
			return nil, "", fmt.Errorf("cuda: device %d: %w", i, err)
		}
		devs = append(devs, Device{Index: i, Name: name, ComputeCapability: fmt.Sprintf("%d.%d", major, minor), MemoryBytes: mem})
	}
	return devs, driverVersion(), nil
}

// thread runs functions on one goroutine locked to its OS thread, where the CUDA context is
// current: a context is current on one thread, and goroutines move between threads.
type thread struct {
	mu   sync.Mutex
	work chan func()
	done chan error
}

func newThread() *thread {
	t := &thread{work: make(chan func()), done: make(chan error)}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the process
		for f := range t.work {
			f()
		}
	}()
	return t
}

// do runs f on the thread and returns its error. A panic in f is an error, not the end of
// the process (it would be: the caller could not recover a panic on another goroutine).
func (t *thread) do(f func() error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.work <- func() {
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("cuda: panic on the driver thread: %v", r)
			}
			t.done <- err
		}()
		err = f()
	}
	return <-t.done
}

// gpu is the process's device: GPU 0, its context and the loaded kernels, set up once.
type gpu struct {
	th       *thread
	noGraphs error // why programs cannot run as CUDA graphs here, or nil
	dev      Device
	driver   string
	kernels  map[string]cu.Function
}

var (
	gpuOnce sync.Once
	theGPU  *gpu
	gpuErr  error
)

// openGPU sets up GPU 0 the first time it is called: a context on the driver thread and
// the kernels' PTX, JIT-compiled by the driver.
func openGPU() (*gpu, error) {
	gpuOnce.Do(func() {
		devs, driver, err := Devices()
		if err != nil {
			gpuErr = &noGPU{err}
			return
		}
		g := &gpu{th: newThread(), dev: devs[0], driver: driver, kernels: map[string]cu.Function{}}
		gpuErr = g.th.do(func() error {
			if _, err := cu.Device(0).MakeContext(cu.SchedAuto); err != nil {
				return fmt.Errorf("cuda: create a context on %s: %w", devs[0].Name, err)
			}
			for file, ptx := range ptxFiles() {
				mod, err := cu.LoadData(ptx)
				if err != nil {
					return fmt.Errorf("cuda: load the PTX of %s: %w", file, err)
				}
				for _, name := range kernelNames(ptx) {
					fn, err := mod.Function(name)
					if err != nil {
						return fmt.Errorf("cuda: kernel %s in %s: %w", name, file, err)
					}
					g.kernels[name] = fn
				}
			}
			// A tiny allocation proves the device has memory to give.
			p, err := cu.MemAlloc(256)
			if err != nil {
				return fmt.Errorf("cuda: allocate on %s: %w", devs[0].Name, err)
			}
			return cu.MemFree(p)
		})
		if gpuErr != nil {
			gpuErr = &noGPU{gpuErr}
		}
		if gpuErr == nil {
			if name := C.gtGraphMissing(); name != nil {
				g.noGraphs = fmt.Errorf("the driver library has no %s", C.GoString(name))
			}
			theGPU = g
		}
	})
	return theGPU, gpuErr
}

// launches is a program's launches with their parameters, in C memory, built once.
type launches struct {
	list   *C.gtLaunch
	n      int
	first  int              // index of list[0] in the program (a view made by only)
	blocks []unsafe.Pointer // C allocations to free
	vals   [][]uint64       // each launch's parameter values, in C memory

	// The launches as one CUDA graph, built at the first run when graphs are on (a program
	// of more than one launch, GRAPHTRAIN_CUDA_GRAPH not "0"). When the driver cannot build
	// it, graphErr says why and the launches go one by one.
	useGraph bool
	graph    *C.gtGraph
	graphErr error
}

// graphsOn reports whether programs run as CUDA graphs: yes unless the environment
// variable GRAPHTRAIN_CUDA_GRAPH is "0" (to compare, or to rule graphs out when debugging).
func graphsOn() bool { return os.Getenv("GRAPHTRAIN_CUDA_GRAPH") != "0" }

// only is a view of launch i alone, for running a program kernel by kernel in tests. It
// never runs as a graph.
func (ls *launches) only(i int) *launches {
	recs := unsafe.Slice(ls.list, ls.n)
	return &launches{list: &recs[i], n: 1, first: i, vals: ls.vals[i : i+1]}
}

// prepare turns a program's launches into C launch records whose parameters point at the
// given device buffers.
func (g *gpu) prepare(p *Program, bufs []cu.DevicePtr) (*launches, error) {
	ls := &launches{n: len(p.Launches), useGraph: graphsOn() && len(p.Launches) > 1}
	if ls.useGraph && g.noGraphs != nil {
		ls.useGraph, ls.graphErr = false, g.noGraphs
	}
	if ls.n == 0 {
		return ls, nil
	}
	if err := checkLimits(p); err != nil {
		return nil, err
	}
	ls.list = (*C.gtLaunch)(C.calloc(C.size_t(ls.n), C.size_t(unsafe.Sizeof(C.gtLaunch{}))))
	ls.blocks = append(ls.blocks, unsafe.Pointer(ls.list))
	recs := unsafe.Slice(ls.list, ls.n)
	for i, l := range p.Launches {
		kl := kernelFor(l)
		fn, ok := g.kernels[kl.Name]
		if !ok {
			ls.free()
			return nil, fmt.Errorf("cuda: kernel %s (for %s) is not in the embedded PTX: run make ptx", kl.Name, l.What)
		}
		k := len(l.Args) + len(l.Ints) + len(l.Reals)
		vals := C.calloc(C.size_t(k+1), 8)
		ptrs := C.calloc(C.size_t(k+1), C.size_t(unsafe.Sizeof(uintptr(0))))
		ls.blocks = append(ls.blocks, vals, ptrs)
		v := unsafe.Slice((*uint64)(vals), k+1)
		ls.vals = append(ls.vals, v)
		pp := unsafe.Slice((*unsafe.Pointer)(ptrs), k+1)
		j := 0
		for _, b := range l.Args {
			v[j] = uint64(bufs[b])
			j++
		}
		for _, x := range l.Ints {
			v[j] = uint64(x)
			j++
		}
		for _, x := range l.Reals {
			*(*float64)(unsafe.Pointer(&v[j])) = x
			j++
		}
		for j := 0; j < k; j++ {
			pp[j] = unsafe.Pointer(&v[j])
		}
		cf := *(*C.CUfunction)(unsafe.Pointer(&fn))
		C.gtSetLaunch(&recs[i], cf, C.uint(kl.Grid[0]), C.uint(kl.Grid[1]), C.uint(kl.Grid[2]), C.uint(kl.Block[0]), C.uint(kl.Block[1]), C.uint(kl.Block[2]), (*unsafe.Pointer)(ptrs))
	}
	return ls, nil
}

// setReal rewrites real parameter j of program launch i (a learning rate set by a schedule).
// The driver copies the parameters when a kernel is launched (and a graph's node when it is
// set), so the launches that follow see the new value and those already queued keep theirs.
// Call it on the driver thread.
func (ls *launches) setReal(p *Program, i, j int, x float64) error {
	if i < ls.first || i >= ls.first+ls.n {
		return fmt.Errorf("cuda: launch %d is not among the %d launches from %d", i, ls.n, ls.first)
	}
	l := p.Launches[i]
	v := ls.vals[i-ls.first]
	*(*float64)(unsafe.Pointer(&v[len(l.Args)+len(l.Ints)+j])) = x
	if ls.graph == nil {
		return nil
	}
	recs := unsafe.Slice(ls.list, ls.n)
	if r := C.gtGraphSetParams(ls.graph, &recs[i-ls.first], C.int(i-ls.first)); r != 0 {
		return fmt.Errorf("cuda: set the parameters of launch %d (%s for %s) in the CUDA graph: %w", i, kernelFor(l).Name, l.What, cudaError(int(r)))
	}
	return nil
}

// buildGraph makes the CUDA graph of the launches. Call it on the driver thread.
func (ls *launches) buildGraph(p *Program) error {
	g := (*C.gtGraph)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gtGraph{}))))
	var failed C.int
	if r := C.gtGraphBuild(g, ls.list, C.int(ls.n), &failed); r != 0 {
		C.free(unsafe.Pointer(g))
		switch i := int(failed); {
		case i < 0:
			return fmt.Errorf("cuda: create a CUDA graph: %w", cudaError(int(r)))
		case i >= ls.n:
			return fmt.Errorf("cuda: instantiate the CUDA graph of %d launches: %w", ls.n, cudaError(int(r)))
		default:
			l := p.Launches[ls.first+i]
			return fmt.Errorf("cuda: add launch %d (%s for %s) to a CUDA graph: %w", ls.first+i, kernelFor(l).Name, l.What, cudaError(int(r)))
		}
	}
	ls.graph = g
	return nil
}

// run launches them all, in order, without waiting: as one CUDA graph when graphs are on
// (built at the first run), else one by one. Call it on the driver thread.
func (ls *launches) run(p *Program) error {
	if ls.n == 0 {
		return nil
	}
	if ls.useGraph && ls.graph == nil {
		if err := ls.buildGraph(p); err != nil {
			ls.useGraph, ls.graphErr = false, err
		}
	}
	if ls.graph != nil {
		if r := C.gtGraphLaunch(ls.graph); r != 0 {
			return fmt.Errorf("cuda: launch the CUDA graph of %d launches (%s program): %w", ls.n, p.Kind, cudaError(int(r)))
		}
		return nil
	}
	var failed C.int
	if r := C.gtRun(ls.list, C.int(ls.n), &failed); r != 0 {
		i := ls.first + int(failed)
		l := p.Launches[i]
		return fmt.Errorf("cuda: launch %d (%s for %s): %w", i, kernelFor(l).Name, l.What, cudaError(int(r)))
	}
	return nil
}

// mode says how the launches run: "CUDA graph", "one by one", or why not as a graph.
func (ls *launches) mode() string {
	switch {
	case ls.graph != nil:
		return "CUDA graph"
	case ls.graphErr != nil:
		return fmt.Sprintf("one by one (no CUDA graph: %v)", ls.graphErr)
	case ls.useGraph:
		return "CUDA graph (built at the first step)"
	}
	return "one by one"
}

// free releases the graph and the C memory. Call it on the driver thread.
func (ls *launches) free() {
	if ls.graph != nil {
		C.gtGraphFree(ls.graph)
		C.free(unsafe.Pointer(ls.graph))
		ls.graph = nil
	}
	for _, b := range ls.blocks {
		C.free(b)
	}
	ls.blocks, ls.list, ls.n, ls.vals = nil, nil, 0, nil
}
