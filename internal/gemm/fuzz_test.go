package gemm

import (
	"math/rand"
	"testing"
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
