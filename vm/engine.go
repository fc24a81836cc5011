package vm

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// cpuEngine is the tensor engine of our TapeMachines: Gorgonia's standard engine with three
// things done faster, each with bit-for-bit the same results.
//
//   - Transpose: Gorgonia's walks the tensor with a generic iterator, one element per call.
//     The cnn transposes every conv layer's output from [B,H,W,C] to [B,C,H,W], and back in
//     the backward pass; that walk was a tenth of its training step.
//   - MatMul: gonum's gemm runs on one core when the product has fewer than four 64×64
//     blocks, however long the shared dimension: the conv filters' gradients ([6,25] and
//     [16,150], summed over 100352 and 12800 rows) ran serially. Here such a product is cut
//     into row bands of C that run concurrently, each through the same gonum routine, so
//     every element is summed in the same order as before.
//   - RepeatReuse: the standard engine copies a single value with a call to copy; the cnn's
//     bias broadcast repeats [B,C,H,1] to [B,C,H,W] that way.
type cpuEngine struct{ G.StandardEngine }

// newTapeMachine compiles g into a TapeMachine that runs on cpuEngine.
func newTapeMachine(g *G.ExprGraph) G.VM {
	return G.NewTapeMachine(g, G.WithEngine(cpuEngine{}))
}

// Transpose moves a's values into the order of its (transposed) shape, in place: a's
// strides are still those of the view when the tensor package calls it, and expStrides
// those its data will have afterwards.
func (e cpuEngine) Transpose(a tensor.Tensor, expStrides []int) error {
	d, ok := a.(*tensor.Dense)
	if ok && d.IsNativelyAccessible() && !d.IsMasked() && d.DataOrder().IsRowMajor() && d.Dims() >= 2 && d.Dims() <= maxTransposeDims {
		switch data := d.Data().(type) {
		case []float32:
			if transposeInPlace(data, d.Shape(), d.Strides(), &f32Scratch) {
				return nil
			}
		case []float64:
			if transposeInPlace(data, d.Shape(), d.Strides(), &f64Scratch) {
				return nil
			}
		}
	}
	return e.StandardEngine.Transpose(a, expStrides)
}

const maxTransposeDims = 8

// Scratch buffers for transposeInPlace, shared by every engine (a TapeMachine runs one op at
// a time, but several machines may run at once).
var f32Scratch, f64Scratch sync.Pool

// transposeInPlace rewrites data, read through a view of shape with strides, into row-major
// order of shape. It reports false, changing nothing, if the view does not fit data.
func transposeInPlace[T float32 | float64](data []T, shape tensor.Shape, strides []int, scratch *sync.Pool) bool {
	n := len(shape)
	if len(strides) != n {
		return false
	}
	size, last := 1, 0 // last is the largest index the view reads
	for k, s := range shape {
		if s < 1 || strides[k] < 0 {
			return false
		}
		size *= s
		last += (s - 1) * strides[k]
	}
	if size != len(data) || last >= len(data) {
		return false
	}
	var tmp []T
	if p, ok := scratch.Get().(*[]T); ok && cap(*p) >= size {
		tmp = (*p)[:size]
	} else {
		tmp = make([]T, size)
	}
	// Walk the outer axes like an odometer; the innermost axis is a strided run.
	var idx [maxTransposeDims]int
	inner, innerStride := shape[n-1], strides[n-1]
	base := 0
	for out := 0; out < size; out += inner {
		src := data[base : base+(inner-1)*innerStride+1]
		dst := tmp[out : out+inner]
		if innerStride == 1 {
			copy(dst, src)
		} else {
			for i := range dst {
				dst[i] = src[i*innerStride]
			}
		}
		for k := n - 2; k >= 0; k-- {
			idx[k]++
			base += strides[k]
			if idx[k] < shape[k] {
				break
			}
			base -= idx[k] * strides[k]
			idx[k] = 0
		}
	}
	copy(data, tmp)
	scratch.Put(&tmp)
	return true
}

// MatMul sets prealloc = a·b (a or b may be transposed views), as the standard engine does.
func (e cpuEngine) MatMul(a, b, prealloc tensor.Tensor) error {
	if matMulBands(a, b, prealloc) {
		return nil
	}
	return e.StandardEngine.MatMul(a, b, prealloc)
}

// gemmBlock and gemmMinParBlocks are gonum's blockSize and minParBlock: its gemm splits C
// into gemmBlock×gemmBlock blocks and runs them concurrently only when there are at least
// gemmMinParBlocks of them; otherwise it runs serially.
const (
	gemmBlock        = 64
	gemmMinParBlocks = 4
	// gemmMinBandWork is the least m·n·k worth starting goroutines for.
	gemmMinBandWork = 1 << 18
)

// matMulBands computes a·b into prealloc in concurrent row bands when gonum's gemm would run
// serially on a large product, and reports whether it did. Each band is a gonum gemm of the
// same kind on the same memory; in gonum's serial gemm every element of C is computed
// independently (a dot product over the whole shared dimension, or axpy updates in order
// along it), so the bands give the same bits as one call.
func matMulBands(a, b, prealloc tensor.Tensor) bool {
	if _, ok := tensor.WhichBLAS().(gonum.Implementation); !ok {
		return false
	}
	procs := runtime.GOMAXPROCS(0)
	if procs < 2 {
		return false
	}
	ad, ok1 := a.(*tensor.Dense)
	bd, ok2 := b.(*tensor.Dense)
	cd, ok3 := prealloc.(*tensor.Dense)
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	m, k, tA, lda, ok := gemmOperand(ad)
	if !ok {
		return false
	}
	k2, n, tB, ldb, ok := gemmOperand(bd)
	if !ok || k2 != k {
		return false
	}
	if cm, cn, tC, _, ok := gemmOperand(cd); !ok || tC != blas.NoTrans || cm != m || cn != n {
		return false
	}
	blocks := ((m + gemmBlock - 1) / gemmBlock) * ((n + gemmBlock - 1) / gemmBlock)
	if blocks >= gemmMinParBlocks || m < 2 || m*n*k < gemmMinBandWork {
		return false
	}
	bands := min(procs, m)
	switch A := ad.Data().(type) {
	case []float32:
		B, ok1 := bd.Data().([]float32)
		C, ok2 := cd.Data().([]float32)
		if !ok1 || !ok2 {
			return false
		}
		runBands(m, bands, func(i0, i1 int) {
			gonum.Implementation{}.Sgemm(tA, tB, i1-i0, n, k, 1, A[rowOffset(tA, i0, lda):], lda, B, ldb, 0, C[i0*n:], n)
		})
	case []float64:
		B, ok1 := bd.Data().([]float64)
		C, ok2 := cd.Data().([]float64)
		if !ok1 || !ok2 {
			return false
		}
		runBands(m, bands, func(i0, i1 int) {
			gonum.Implementation{}.Dgemm(tA, tB, i1-i0, n, k, 1, A[rowOffset(tA, i0, lda):], lda, B, ldb, 0, C[i0*n:], n)
		})
	default:
		return false
	}
	return true
}

// gemmOperand describes a 2-D row-major tensor, or a transposed view of one, as a BLAS
// operand: its (view) shape r×c, whether it is transposed, and its leading dimension. ok is
// false for anything else, including shapes with a dimension of 1, whose strides cannot
// tell a transposed view from a plain matrix.
func gemmOperand(d *tensor.Dense) (r, c int, t blas.Transpose, ld int, ok bool) {
	if d.Dims() != 2 || d.IsMasked() || !d.DataOrder().IsRowMajor() || !d.IsNativelyAccessible() {
		return 0, 0, 0, 0, false
	}
	sh, st := d.Shape(), d.Strides()
	r, c = sh[0], sh[1]
	if r < 2 || c < 2 || len(st) != 2 || d.DataSize() != r*c {
		return 0, 0, 0, 0, false
	}
	switch {
	case st[0] == c && st[1] == 1:
		return r, c, blas.NoTrans, c, true
	case st[0] == 1 && st[1] == r:
		return r, c, blas.Trans, r, true
	}
	return 0, 0, 0, 0, false
}

// rowOffset is where row i of op(A) starts in A's data.
func rowOffset(t blas.Transpose, i, ld int) int {
	if t == blas.NoTrans {
		return i * ld
	}
	return i
}

// runBands runs f over [0, m) cut into n nearly equal bands, concurrently, and waits.
func runBands(m, n int, f func(i0, i1 int)) {
	var wg sync.WaitGroup
	for j := 0; j < n; j++ {
		i0, i1 := j*m/n, (j+1)*m/n
		if i0 == i1 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i0, i1)
		}()
	}
	wg.Wait()
}

// RepeatReuse writes t repeated along axis into reuse, as the standard engine does.
func (e cpuEngine) RepeatReuse(t, reuse tensor.Tensor, axis int, repeats ...int) (tensor.Tensor, error) {
	if len(repeats) == 1 && repeatInto(t, reuse, axis, repeats[0]) {
		return reuse, nil
	}
	return e.StandardEngine.RepeatReuse(t, reuse, axis, repeats...)
}

// repeatInto sets dst to src with every slice along axis repeated r times (NumPy's repeat
// with one count), when both are plain row-major float tensors of the same type with the
// shapes that implies, and reports whether it did.
func repeatInto(src, dst tensor.Tensor, axis, r int) bool {
	sd, ok1 := src.(*tensor.Dense)
	dd, ok2 := dst.(*tensor.Dense)
	if !ok1 || !ok2 || r < 1 || axis < 0 || axis >= sd.Dims() || !contiguous(sd) || !contiguous(dd) {
		return false
	}
	want := sd.Shape().Clone()
	want[axis] *= r
	if !dd.Shape().Eq(want) {
		return false
	}
	outer, size, inner := 1, sd.Shape()[axis], 1
	for _, s := range sd.Shape()[:axis] {
		outer *= s
	}
	for _, s := range sd.Shape()[axis+1:] {
		inner *= s
	}
	switch s := sd.Data().(type) {
	case []float32:
		d, ok := dd.Data().([]float32)
		return ok && repeatSlices(s, d, outer*size, inner, r)
	case []float64:
		d, ok := dd.Data().([]float64)
		return ok && repeatSlices(s, d, outer*size, inner, r)
	}
	return false
}

// repeatSlices writes each of the rows runs of inner values of src r times into dst.
func repeatSlices[T float32 | float64](src, dst []T, rows, inner, r int) bool {
	if len(src) < rows*inner || len(dst) < rows*inner*r {
		return false
	}
	out := 0
	for i := 0; i < rows; i++ {
		run := src[i*inner : (i+1)*inner]
		if inner == 1 {
			v, d := run[0], dst[out:out+r]
			for j := range d {
				d[j] = v
			}
			out += r
			continue
		}
		for j := 0; j < r; j++ {
			out += copy(dst[out:out+inner], run)
		}
	}
	return true
}

// contiguous reports whether d is a plain row-major tensor: its values in order, no view.
func contiguous(d *tensor.Dense) bool {
	if d.IsMasked() || !d.DataOrder().IsRowMajor() || !d.IsNativelyAccessible() || d.Dims() < 1 {
		return false
	}
	sh, st := d.Shape(), d.Strides()
	if len(st) != len(sh) {
		return false
	}
	size := 1
	for k := len(sh) - 1; k >= 0; k-- {
		if sh[k] > 1 && st[k] != size {
			return false
		}
		size *= sh[k]
	}
	return d.DataSize() == size
}
