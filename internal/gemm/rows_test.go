package gemm

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/graphtrain/graphtrain/internal/parallel"
)

// TestSgemmARows checks SgemmARows on every kernel family: with a rows kernel (n a multiple
// of its NR) bit for bit against SgemmCols on the transposed product, the way the
// convolutions' filter gradients used to be computed, where SgemmCols takes k in KC steps
// alone (no chunks of k: those add in another order); otherwise against float64 sums. Rows
// overlap (shifted windows of one buffer), B and C have padding, C's is NaN and must stay so.
func TestSgemmARows(t *testing.T) {
	one := parallel.New(1)
	forEachKernel(t, func(name string) {
		r := rand.New(rand.NewSource(7))
		for _, m := range []int{1, 7, 8, 9, 16, 151} {
			for _, n := range []int{5, 16, 32, 48} {
				for _, k := range []int{0, 1, 3, 160, 256, 257, 600} {
					for _, acc := range []bool{false, true} {
						t.Run(fmt.Sprintf("%s/%dx%dx%d/acc=%v", name, m, n, k, acc), func(t *testing.T) {
							checkARows(t, r, one, m, n, k, acc)
						})
					}
				}
			}
		}
	})
}

func checkARows(t *testing.T, r *rand.Rand, one *parallel.Pool, m, n, k int, acc bool) {
	a := randSlice(r, 3*m+k+5)
	off := make([]int, m)
	for i := range off {
		off[i] = r.Intn(len(a) - k + 1)
	}
	ldb, ldc := n+3, n+2
	b := randSlice(r, max(1, k)*ldb)
	c := randSlice(r, m*ldc)
	for i := range m {
		for j := n; j < ldc; j++ {
			c[i*ldc+j] = float32(math.NaN())
		}
	}
	c0 := append([]float32(nil), c...)
	NewWorkspace().SgemmARows(m, n, k, a, off, b, ldb, c, ldc, acc)
	for i := range m {
		for j := n; j < ldc; j++ {
			if v := c[i*ldc+j]; !math.IsNaN(float64(v)) {
				t.Fatalf("C padding (%d, %d) written: %v", i, j, v)
			}
		}
	}
	if nr := ARowsNR(); nr > 0 && n%nr == 0 && noChunks(n, m, k) {
		// Cᵀ = Bᵀ·Aᵀ: A' = B read transposed, B' = A's rows as columns at off.
		ct := make([]float32, n*m)
		for i := range m {
			for j := range n {
				ct[j*m+i] = c0[i*ldc+j]
			}
		}
		NewWorkspace().SgemmCols(one, true, n, m, k, b, ldb, a, off, ct, m, Epilogue{Accumulate: acc})
		bad := 0
		for i := range m {
			for j := range n {
				if got, want := c[i*ldc+j], ct[j*m+i]; math.Float32bits(got) != math.Float32bits(want) {
					if bad++; bad <= 3 {
						t.Errorf("C(%d, %d) = %v, SgemmCols on the transpose %v", i, j, got, want)
					}
				}
			}
		}
		if bad > 0 {
			t.Fatalf("%d of %d values differ in their bits", bad, m*n)
		}
		return
	}
	for i := range m {
		for j := range n {
			var want float64
			if acc {
				want = float64(c0[i*ldc+j])
			}
			for p := range k {
				want += float64(a[off[i]+p]) * float64(b[p*ldb+j])
			}
			if got := c[i*ldc+j]; math.Abs(float64(got)-want) > 1e-5*float64(k+1) {
				t.Fatalf("C(%d, %d) = %v, want %v", i, j, got, want)
			}
		}
	}
}

// TestSgemmARowsChecks checks that operands too short are refused with a message.
func TestSgemmARowsChecks(t *testing.T) {
	ws := NewWorkspace()
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"row past a", func() {
			ws.SgemmARows(2, 16, 4, make([]float32, 8), []int{0, 5}, make([]float32, 64), 16, make([]float32, 32), 16, false)
		}},
		{"few offsets", func() {
			ws.SgemmARows(2, 16, 4, make([]float32, 8), []int{0}, make([]float32, 64), 16, make([]float32, 32), 16, false)
		}},
		{"short b", func() {
			ws.SgemmARows(2, 16, 4, make([]float32, 8), []int{0, 1}, make([]float32, 63), 16, make([]float32, 32), 16, false)
		}},
		{"short c", func() {
			ws.SgemmARows(2, 16, 4, make([]float32, 8), []int{0, 1}, make([]float32, 64), 16, make([]float32, 31), 16, false)
		}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}

// noChunks reports whether a product of an m x n destination computes k in KC steps alone.
func noChunks(m, n, k int) bool {
	chunks, _ := kChunks(m, n, k, m, n, false)
	return chunks == 0
}
