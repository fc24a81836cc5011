package gemm

import (
	"fmt"
	"unsafe"
)

// kernel is a micro-kernel: it multiplies a packed MR x kc panel of A by a
// packed kc x NR panel of B into an MR x NR tile of C:
//
//	acc[i][j] = sum_{p<k, ascending} a[p*sa+i] * b[p*sb+j]
//	c[i*ldc+j] = acc[i][j] + (load != 0 ? c[i*ldc+j] : 0)
//
// Packed panels have sa = mr, sb = nr; an operand whose MR (or NR) values
// per p are already contiguous in memory may be passed unpacked with its
// stride. c must have room for the whole MR x NR tile (partial edge tiles go
// through a scratch tile).
type kernel struct {
	mr, nr int
	fn     func(k int, a, b, c *float32, ldc int, load int, sa, sb int)
	// fnOff, where there is one, is fn with B's row p at b + off[p]: a B given by where
	// its rows start (SgemmRows) read in place. Without one, such a B is packed.
	fnOff func(k int, a, b, c *float32, ldc int, load int, sa int, off *int)
}

// family is a named instruction set with one or more tile shapes; the first
// is the default, the others are used when they waste fewer lanes on a
// given shape (the choice depends only on m, n, so it is deterministic).
type family struct {
	name  string
	tiles []*kernel
	rowsA *rowsKernel // nil: SgemmARows declines
}

// rowsKernel is a micro-kernel that reads A in place by rows: row i of an MR x NR tile's A
// at a + off[i], along p; B is kc rows of NR values sb apart (in place); C and load as
// kernel's. It sums the same terms in the same order as the family's kernels do for the
// transposed product, so the two give the same bits.
type rowsKernel struct {
	mr, nr int
	fn     func(k int, a *float32, off *int, b, c *float32, ldc int, load int, sb int)
}

const (
	maxMR = 12
	maxNR = 32
)

var (
	kernels []*family // available on this CPU, preferred first
	active  *family
)

var goKernel = &family{name: "go", tiles: []*kernel{{mr: 4, nr: 4, fn: kernGo}}}

func init() {
	kernels = append(archKernels(), goKernel)
	active = kernels[0]
}

// Kernels lists the micro-kernel families usable on this machine, the
// default (fastest) first; "go" (portable) is always last.
func Kernels() []string {
	names := make([]string, len(kernels))
	for i, k := range kernels {
		names[i] = k.name
	}
	return names
}

// Kernel returns the name of the micro-kernel family in use.
func Kernel() string { return active.name }

// Use selects the micro-kernel family by name (see Kernels). It is meant for
// tests and benchmarks: it must not be called while a product is being
// computed. Results are bit-identical for a given family whatever the number
// of workers, but different families round differently.
func Use(name string) error {
	for _, k := range kernels {
		if k.name == name {
			active = k
			return nil
		}
	}
	return fmt.Errorf("gemm: kernel %q not available (have %v)", name, Kernels())
}

// kernGo is the portable 4x4 micro-kernel (same contract as the assembly
// kernels, with separate multiply and add where the compiler does not fuse).
func kernGo(k int, a, b, c *float32, ldc int, load int, sa, sb int) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		// a and b point at panels of k groups of 4 floats (see kernel).
		av := (*[4]float32)(unsafe.Add(unsafe.Pointer(a), 4*p*sa))
		bv := (*[4]float32)(unsafe.Add(unsafe.Pointer(b), 4*p*sb))
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		a0 := av[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := av[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := av[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := av[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	r0 := cs[0:4:4]
	r1 := cs[ldc : ldc+4 : ldc+4]
	r2 := cs[2*ldc : 2*ldc+4 : 2*ldc+4]
	r3 := cs[3*ldc : 3*ldc+4 : 3*ldc+4]
	if load != 0 {
		c00, c01, c02, c03 = c00+r0[0], c01+r0[1], c02+r0[2], c03+r0[3]
		c10, c11, c12, c13 = c10+r1[0], c11+r1[1], c12+r1[2], c13+r1[3]
		c20, c21, c22, c23 = c20+r2[0], c21+r2[1], c22+r2[2], c23+r2[3]
		c30, c31, c32, c33 = c30+r3[0], c31+r3[1], c32+r3[2], c33+r3[3]
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
	r2[0], r2[1], r2[2], r2[3] = c20, c21, c22, c23
	r3[0], r3[1], r3[2], r3[3] = c30, c31, c32, c33
}
