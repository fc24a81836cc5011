package gemm

import "fmt"

// ARowsNR is the width a product's n must be a multiple of for SgemmARows to read its A in
// place with the active family's kernel (16 with AVX-512), or 0 where the family has none
// and SgemmARows computes in plain loops. Callers use it to choose between the two
// orientations of a product; either gives a correct result.
func ARowsNR() int {
	if active.rowsA == nil {
		return 0
	}
	return active.rowsA.nr
}

// SgemmARows computes C (+)= A·B on the calling goroutine for an A given by where its rows
// start and a row-major B:
//
//	A(i, p) = a[off[i] + p] for i < m, p < k (rows may overlap, e.g. the shifted windows
//	of an image: the taps of a convolution's filter gradient)
//	B(p, j) = b[p*ldb + j] for p < k, j < n
//	C(i, j) = c[i*ldc + j], added to when acc
//
// With the active family's rows kernel (ARowsNR, n a multiple of its NR) neither operand is
// packed, and each value is the family's sum in KC-deep steps (each from zero along p, its sum
// added to C): the same bits as SgemmCols on the transposed product Cᵀ = Bᵀ·Aᵀ where that
// takes k in KC steps alone (not in chunks or halves of k, which add in another order).
// Otherwise it runs in plain loops, each value's terms in order of p. A Workspace must not be
// used by two products at the same time.
func (ws *Workspace) SgemmARows(m, n, k int, a []float32, off []int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	if m < 0 || n < 0 || k < 0 {
		panic("gemm: negative dimension")
	}
	if len(off) < m {
		panic(fmt.Sprintf("gemm: %d row offsets for %d rows", len(off), m))
	}
	for _, o := range off[:m] {
		if o < 0 || o+k > len(a) {
			panic(fmt.Sprintf("gemm: a row at %d of %d values leaves a (%d)", o, k, len(a)))
		}
	}
	checkMat("b", false, k, n, b, ldb)
	checkMat("c", false, m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	rk := active.rowsA
	if k == 0 || rk == nil || n%rk.nr != 0 {
		aRowsLoops(m, n, k, a, off, b, ldb, c, ldc, acc)
		return
	}
	ws.grow(1, 0, 0, 0)
	tile := ws.sc[0].tile
	mr, nr := rk.mr, rk.nr
	last := &ws.last // the offsets of a last partial tile, its missing rows repeating its first
	for pc := 0; pc < k; pc += KC {
		kc := min(KC, k-pc)
		load := 0
		if acc || pc > 0 {
			load = 1
		}
		ap := &a[pc] // row i of the step at ap + off[i]
		for i0 := 0; i0 < m; i0 += mr {
			rows, offs := min(mr, m-i0), &off[i0]
			if rows < mr {
				for i := range mr {
					last[i] = off[i0+min(i, rows-1)]
				}
				offs = &last[0]
			}
			for j0 := 0; j0 < n; j0 += nr {
				bp := &b[pc*ldb+j0]
				if rows == mr {
					rk.fn(kc, ap, offs, bp, &c[i0*ldc+j0], ldc, load, ldb)
					continue
				}
				rk.fn(kc, ap, offs, bp, &tile[0], nr, 0, ldb)
				for i := range rows {
					t, d := tile[i*nr:][:nr], c[(i0+i)*ldc+j0:][:nr]
					if load != 0 {
						for jj, v := range t {
							d[jj] += v
						}
					} else {
						copy(d, t)
					}
				}
			}
		}
	}
}

// aRowsLoops is SgemmARows in plain loops.
func aRowsLoops(m, n, k int, a []float32, off []int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	for i := range m {
		row := a[off[i]:][:k]
		for j := range n {
			var s float32
			for p, v := range row {
				s += v * b[p*ldb+j]
			}
			if acc {
				s += c[i*ldc+j]
			}
			c[i*ldc+j] = s
		}
	}
}
