package cpu

import (
	"fmt"
	"unsafe"

	"github.com/graphtrain/graphtrain/internal/gemm"
	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/ir"
)

// An executor runs one program: its memory, planned once (a slot per program slot), and its
// launches compiled once into Go calls over views of that memory. A step runs them in order
// and allocates nothing.
type executor struct {
	p     *ir.Program
	slots []unsafe.Pointer // the memory of each slot: owned ([]uint64, 8-byte aligned) or lent
	owned [][]uint64       // the memory this executor allocated
	steps []func()         // one per launch
	calls []func()         // what a step runs: steps, the updates of consecutive launches as one
	pool  *parallel.Pool
	ws    *gemm.Workspace   // the packing buffers of the float32 products
	mm    products[float32] // the fused convolutions' products, packing buffers per worker
}

// newExecutor plans p's memory and compiles its launches. An op without a kernel here is an
// error that names it.
func newExecutor(p *ir.Program, pool *parallel.Pool) (*executor, error) {
	return newExecutorOn(p, &executor{pool: pool, ws: gemm.NewWorkspace(), mm: f32Products(pool.Size())}, nil)
}

// alloc is a new slot of n bytes, zeroed, 8-byte aligned.
func (e *executor) alloc(n int64) unsafe.Pointer {
	m := make([]uint64, max(1, (n+7)/8))
	e.owned = append(e.owned, m)
	return unsafe.Pointer(&m[0])
}

// newExecutorOn compiles p, a program over the slots of base's program and perhaps more of
// its own after them (Forward, WithDataset), sharing base's memory, pool and packing buffers
// (base's program runs only when p does not). lent
// gives memory for some of the new slots (the caller's training set, read in place).
func newExecutorOn(p *ir.Program, base *executor, lent map[int]unsafe.Pointer) (*executor, error) {
	e := &executor{p: p, pool: base.pool, ws: base.ws, mm: base.mm}
	for i, b := range p.Slots {
		switch ptr, ok := lent[i]; {
		case i < len(base.slots):
			e.slots = append(e.slots, base.slots[i])
		case ok:
			e.slots = append(e.slots, ptr)
		default:
			e.slots = append(e.slots, e.alloc(b))
		}
	}
	var updates []work // the updates since the last launch that is not one
	for i, l := range p.Launches {
		fail := func(err error) error { return fmt.Errorf("cpu: launch %d (%s for %s): %w", i, l.Op, l.What, err) }
		if l.Op.IsUpdate() {
			w, err := e.update(l)
			if err != nil {
				return nil, fail(err)
			}
			e.steps = append(e.steps, runAll(e.pool, []work{w}))
			if updates = append(updates, w); i+1 == len(p.Launches) || !p.Launches[i+1].Op.IsUpdate() {
				e.calls, updates = append(e.calls, runAll(e.pool, updates)), nil
			}
			continue
		}
		f, err := e.compile(l)
		if err != nil {
			return nil, fail(err)
		}
		e.steps, e.calls = append(e.steps, f), append(e.calls, f)
	}
	return e, nil
}

// run runs every launch, in order.
func (e *executor) run() {
	for _, f := range e.calls {
		f()
	}
}

// update compiles a solver's update of one parameter (SGD, Momentum, Adam) as work, which
// the executor runs with the updates of the parameters next to it: each reads and writes
// its parameter and state alone.
func (e *executor) update(l ir.Launch) (work, error) {
	if err := e.checkArgs(l); err != nil {
		return work{}, err
	}
	if want := map[ir.Op]int{ir.SGD: 2, ir.Momentum: 3, ir.Adam: 5}[l.Op]; len(l.Args) != want {
		return work{}, fmt.Errorf("%d buffers, want %d", len(l.Args), want)
	}
	if l.Dtype == ir.Float32 {
		return updateWork(l, e.f32, e.f64, solvers[float32]{sgdF32, momentumF32, adamF32}), nil
	}
	return updateWork(l, e.f64, e.f64, solvers[float64]{sgd[float64], momentum[float64], adam[float64]}), nil
}

// solvers are the updates of one dtype: float32's on the SIMD kernels, float64's as ref.
type solvers[T float] struct {
	sgd      func(w, g []T, reals []float64) work
	momentum func(w, g, v []T, reals []float64) work
	adam     func(w, g, m, v []T, step, reals []float64) work
}

// updateWork is launch l (SGD, Momentum or Adam, its buffers checked) by s over buf's views;
// Adam's step counter is a float64 buffer (step).
func updateWork[T float](l ir.Launch, buf func(int) []T, step func(int) []float64, s solvers[T]) work {
	a := func(i int) []T { return buf(l.Args[i]) }
	switch l.Op {
	case ir.SGD:
		return s.sgd(a(0), a(1), l.Reals)
	case ir.Momentum:
		return s.momentum(a(0), a(1), a(2), l.Reals)
	}
	return s.adam(a(0), a(1), a(2), a(3), step(l.Args[4]), l.Reals)
}

// f32, f64 and i64 are buffer id's contents as float32s, float64s or int64s.
func (e *executor) f32(id int) []float32 {
	b := e.p.Buffers[id]
	if b.Elems == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(e.slots[b.Slot]), b.Elems)
}

func (e *executor) f64(id int) []float64 {
	b := e.p.Buffers[id]
	if b.Elems == 0 {
		return nil
	}
	return unsafe.Slice((*float64)(e.slots[b.Slot]), b.Elems)
}

func (e *executor) i64(id int) []int64 {
	b := e.p.Buffers[id]
	return unsafe.Slice((*int64)(e.slots[b.Slot]), b.Elems)
}

// setReal and real read and write element i of a real buffer, whatever its dtype.
func (e *executor) setReal(id, i int, x float64) {
	if e.p.Buffers[id].Elem == 8 {
		e.f64(id)[i] = x
	} else {
		e.f32(id)[i] = float32(x)
	}
}

func (e *executor) real(id, i int) float64 {
	if e.p.Buffers[id].Elem == 8 {
		return e.f64(id)[i]
	}
	return float64(e.f32(id)[i])
}

// compile turns one launch into a call over its buffers, for the launch's dtype. Its
// parameters are decoded here, once (package ir checks them).
func (e *executor) compile(l ir.Launch) (func(), error) {
	if err := e.checkArgs(l); err != nil {
		return nil, err
	}
	switch l.Op {
	case ir.StepInc:
		step := e.f64(l.Args[0])
		return func() { step[0]++ }, nil
	case ir.CursorAdd:
		p, err := l.CursorAddParams()
		if err != nil {
			return nil, err
		}
		cur, n := e.i64(l.Args[0]), int64(p.N)
		return func() { cur[0] += n }, nil
	case ir.GatherRows:
		p, err := l.GatherRowsParams()
		if err != nil {
			return nil, err
		}
		if l.Dtype == ir.Float64 {
			return gatherRows(e.pool, e.f64(l.Args[0]), e.i64(l.Args[1]), e.i64(l.Args[2]), e.f64(l.Args[3]), p.Rows, p.Cols), nil
		}
		return gatherRows(e.pool, e.f32(l.Args[0]), e.i64(l.Args[1]), e.i64(l.Args[2]), e.f32(l.Args[3]), p.Rows, p.Cols), nil
	}
	if l.Dtype == ir.Float64 {
		return compileTyped(e, l, e.f64)
	}
	if f, err := e.compileF32(l); f != nil || err != nil {
		return f, err
	}
	return compileTyped(e, l, e.f32)
}

// checkArgs says which of l's buffers the program does not have.
func (e *executor) checkArgs(l ir.Launch) error {
	for _, b := range l.Args {
		if b < 0 || b >= len(e.p.Buffers) {
			return fmt.Errorf("buffer %d of %d", b, len(e.p.Buffers))
		}
	}
	return nil
}

// compileF32 compiles the float32 launches that have kernels of their own (the products and
// the convolutions on the packed GEMM, the ReLU's elementwise passes on SIMD), or returns
// nil and no error for the others.
func (e *executor) compileF32(l ir.Launch) (func(), error) {
	a := func(i int) []float32 { return e.f32(l.Args[i]) }
	switch l.Op {
	case ir.Gemm, ir.GemmBias, ir.GemmBiasReLU, ir.GemmMul:
		p, err := l.GemmParams()
		if err != nil {
			return nil, err
		}
		var ep gemm.Epilogue
		switch l.Op {
		case ir.GemmBias:
			ep.Bias = a(2)
		case ir.GemmBiasReLU:
			ep.Bias, ep.Mask = a(2), a(3)
		case ir.GemmMul:
			ep.Times = a(2)
		}
		return e.sgemm(p, a(0), a(1), a(len(l.Args)-1), ep), nil
	case ir.GemmSplit:
		p, err := l.GemmSplitParams()
		if err != nil {
			return nil, err
		}
		return e.sgemmSplit(p, a(0), a(1), a(2)), nil
	case ir.Conv, ir.ConvData, ir.ConvFilter, ir.ConvReLU, ir.ConvReLUPool, ir.ConvReLUPoolBack:
		p, err := convParams(l)
		if err != nil {
			return nil, err
		}
		return convKernel(e.pool, l, p, a, e.mm), nil
	case ir.ConvFilterSplit:
		return convSplitKernel(e.pool, l, a, e.mm)
	case ir.Binary:
		p, err := l.BinaryParams()
		if err != nil {
			return nil, err
		}
		return binaryF32(e.pool, a(0), a(1), a(2), p.N, p.SA, p.SB, p.Op), nil
	}
	return nil, nil
}

// sgemm is C = op(A)·op(B) (with ep's bias) on the packed GEMM.
func (e *executor) sgemm(p ir.GemmParams, A, B, C []float32, ep gemm.Epilogue) func() {
	m, n, k, ta, tb := p.M, p.N, p.K, p.TransA, p.TransB
	lda, ldb := ldOf(ta, m, k), ldOf(tb, k, n)
	return func() { e.ws.Sgemm(e.pool, ta, tb, m, n, k, A, lda, B, ldb, C, max(1, n), ep) }
}

// sgemmSplit is GemmSplit's partial products into P on the packed GEMM.
func (e *executor) sgemmSplit(p ir.GemmSplitParams, A, B, P []float32) func() {
	m, n, k, ta, tb, kc := p.M, p.N, p.K, p.TransA, p.TransB, p.KC
	lda, ldb := ldOf(ta, m, k), ldOf(tb, k, n)
	return func() {
		for z := 0; z*kc < k; z++ {
			k0, k1 := z*kc, min(k, (z+1)*kc)
			ao, bo := k0, k0*n // A[:, k0:], B[k0:, :]
			if ta {
				ao = k0 * m
			}
			if tb {
				bo = k0
			}
			e.ws.Sgemm(e.pool, ta, tb, m, n, k1-k0, A[ao:], lda, B[bo:], ldb, P[z*m*n:], max(1, n), gemm.Epilogue{})
		}
	}
}

// ldOf is the leading dimension of a matrix that op makes rows x cols: cols, or rows when it
// is stored transposed.
func ldOf(trans bool, rows, cols int) int {
	if trans {
		return max(1, rows)
	}
	return max(1, cols)
}

type float interface{ float32 | float64 }

// compileTyped compiles the launches whose kernels are generic in the element type.
func compileTyped[T float](e *executor, l ir.Launch, buf func(int) []T) (func(), error) {
	a := func(i int) []T { return buf(l.Args[i]) }
	pool := e.pool
	switch l.Op {
	case ir.Binary, ir.Unary, ir.Gather4:
		return compileElementwise(pool, l, a)
	case ir.Gemm, ir.GemmBias, ir.GemmBiasReLU, ir.GemmMul, ir.GemmSplit:
		return gemmRef(l, a)
	case ir.ReduceSum, ir.SoftmaxXent, ir.Softmax, ir.SoftmaxBack:
		return compileRows(pool, l, a)
	case ir.Im2col, ir.Col2im:
		g, err := l.ConvGeom()
		if err != nil {
			return nil, err
		}
		if l.Op == ir.Im2col {
			return im2col(pool, a(0), a(1), convOf(g)), nil
		}
		return col2im(pool, a(0), a(1), convOf(g)), nil
	case ir.MaxPool, ir.MaxPoolBack, ir.MaxPoolBackMask, ir.PoolRouteBack:
		return compilePool(pool, l, a)
	case ir.Conv, ir.ConvData, ir.ConvFilter, ir.ConvReLU, ir.ConvReLUPool, ir.ConvReLUPoolBack:
		p, err := convParams(l)
		if err != nil {
			return nil, err
		}
		return convKernel(pool, l, p, a, refProducts[T]()), nil
	case ir.ConvFilterSplit:
		return convSplitKernel(pool, l, a, refProducts[T]())
	case ir.RouteFilter:
		return routeFilterKernel(pool, l, a, refProducts[T]())
	case ir.RouteData:
		return routeDataKernel(pool, l, a, refProducts[T]())
	case ir.FilterSum:
		return filterSum(l, a)
	case ir.Dropout:
		p, err := l.DropoutParams()
		if err != nil || len(l.Reals) != 1 {
			return nil, fmt.Errorf("dropout: %v with %d reals", err, len(l.Reals))
		}
		return dropout(pool, a(0), e.f64(l.Args[1]), a(2), p, T(l.Reals[0])), nil
	case ir.BatchNormStats, ir.BatchNorm, ir.BatchNormBackScale, ir.BatchNormBackData:
		return compileBatchNorm(pool, l, a)
	case ir.Augment:
		p, err := l.AugmentParams()
		if err != nil {
			return nil, err
		}
		return augment(pool, a(0), e.f64(l.Args[1]), a(2), p), nil
	}
	return nil, fmt.Errorf("no CPU kernel for %s", l.Op)
}

// compileElementwise compiles a Binary, Unary or Gather4 launch.
func compileElementwise[T float](pool *parallel.Pool, l ir.Launch, a func(int) []T) (func(), error) {
	switch l.Op {
	case ir.Binary:
		p, err := l.BinaryParams()
		if err != nil {
			return nil, err
		}
		if _, ok := binaryOp[T](p.Op); !ok {
			return nil, fmt.Errorf("binary operator %d has no kernel", p.Op)
		}
		return binary(pool, a(0), a(1), a(2), p.N, p.SA, p.SB, p.Op), nil
	case ir.Unary:
		p, err := l.UnaryParams()
		if err != nil {
			return nil, err
		}
		f, ok := unary(pool, a(0), a(1), p.N, p.F)
		if !ok {
			return nil, fmt.Errorf("unary function %d has no kernel", p.F)
		}
		return f, nil
	}
	p, err := l.Gather4Params()
	if err != nil {
		return nil, err
	}
	return gather4(pool, a(0), a(1), p), nil
}

// compileRows compiles a ReduceSum, SoftmaxXent, Softmax or SoftmaxBack launch.
func compileRows[T float](pool *parallel.Pool, l ir.Launch, a func(int) []T) (func(), error) {
	switch l.Op {
	case ir.ReduceSum:
		p, err := l.ReduceSumParams()
		if err != nil {
			return nil, err
		}
		return reduceSum(pool, a(0), a(1), p.Outer, p.Length, p.Inner), nil
	case ir.SoftmaxXent:
		p, err := l.SoftmaxXentParams()
		if err != nil {
			return nil, err
		}
		return softmaxXent(pool, a(0), a(1), a(2), a(3), p.Rows, p.Cols, l.Reals[0]), nil
	}
	p, err := l.SoftmaxParams()
	if err != nil {
		return nil, err
	}
	if l.Op == ir.Softmax {
		return softmax(pool, a(0), a(1), p.Rows, p.Cols, p.Log), nil
	}
	return softmaxBack(pool, a(0), a(1), a(2), p.Rows, p.Cols, p.Log), nil
}

// compilePool compiles a MaxPool, MaxPoolBack, MaxPoolBackMask or PoolRouteBack launch.
func compilePool[T float](pool *parallel.Pool, l ir.Launch, a func(int) []T) (func(), error) {
	p, err := l.PoolGeom()
	if err != nil {
		return nil, err
	}
	g := poolOf(p)
	switch l.Op {
	case ir.MaxPool:
		return maxPool(pool, a(0), a(1), g), nil
	case ir.MaxPoolBack:
		return maxPoolBack(pool, a(0), a(1), nil, a(2), g), nil
	case ir.MaxPoolBackMask:
		return maxPoolBack(pool, a(0), a(1), a(2), a(3), g), nil
	}
	return poolRouteBack(pool, a(0), a(1), a(2), g), nil
}
