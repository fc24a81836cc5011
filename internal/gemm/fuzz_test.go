package gemm

import (
	"math/rand"
	"testing"

	"github.com/graphtrain/graphtrain/internal/parallel"
)

// FuzzSgemm checks random small shapes, transpositions, paddings and
// epilogues against the float64 reference with the default kernel (nil
// pool: the process-wide one).
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(3), uint8(5), uint8(7), uint8(0), uint8(0), int64(1))
	f.Add(uint8(13), uint8(33), uint8(65), uint8(3), uint8(7), int64(2))
	f.Add(uint8(1), uint8(200), uint8(1), uint8(1), uint8(4), int64(3))
	f.Fuzz(func(t *testing.T, m, n, k, flags, pad uint8, seed int64) {
		r := rand.New(rand.NewSource(seed))
		ep := Epilogue{Accumulate: flags&4 != 0, ReLU: flags&8 != 0}
		if flags&16 != 0 {
			ep.Bias = []float32{}
		}
		pr := newProblem(r, flags&1 != 0, flags&2 != 0, int(m), int(n), int(k)*3, int(pad%5), ep)
		c0 := append([]float32(nil), pr.c...)
		Sgemm(nil, pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.a, pr.lda, pr.b, pr.ldb, pr.c, pr.ldc, pr.ep)
		pr.check(t, "fuzz", c0, pr.c)
	})
}

// FuzzSgemmARows checks random shapes of SgemmARows (rows at random, overlapping offsets)
// with the default kernel: bit for bit against SgemmCols on the transposed product where
// both sum in KC steps alone, else against float64 sums (checkARows).
func FuzzSgemmARows(f *testing.F) {
	f.Add(uint8(151), uint8(16), uint16(160), false, int64(1))
	f.Add(uint8(9), uint8(32), uint16(600), true, int64(2))
	f.Add(uint8(1), uint8(5), uint16(1), false, int64(3))
	one := parallel.New(1)
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, acc bool, seed int64) {
		checkARows(t, rand.New(rand.NewSource(seed)), one, int(m%64)+1, int(n%64)+1, int(k%1100), acc)
	})
}
