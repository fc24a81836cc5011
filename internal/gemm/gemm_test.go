package gemm

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/graphtrain/graphtrain/internal/parallel"
)

// forEachKernel runs f once per available micro-kernel, the portable one
// included, restoring the default afterwards.
func forEachKernel(t testing.TB, f func(name string)) {
	def := Kernel()
	defer Use(def)
	for _, name := range Kernels() {
		if err := Use(name); err != nil {
			t.Fatal(err)
		}
		f(name)
	}
}

type problem struct {
	transA, transB bool
	m, n, k        int
	lda, ldb, ldc  int
	a, b, c, bias  []float32
	ep             Epilogue
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// newProblem makes random operands; pad > 0 adds that many unused columns
// to every stored row (filled with NaN in C to catch stray writes).
func newProblem(r *rand.Rand, transA, transB bool, m, n, k, pad int, ep Epilogue) *problem {
	p := &problem{transA: transA, transB: transB, m: m, n: n, k: k, ep: ep}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	p.lda, p.ldb, p.ldc = max(ac, 1)+pad, max(bc, 1)+pad, max(n, 1)+pad
	p.a = randSlice(r, ar*p.lda)
	p.b = randSlice(r, br*p.ldb)
	p.c = randSlice(r, m*p.ldc)
	for i := 0; i < m; i++ {
		for j := n; j < p.ldc; j++ {
			p.c[i*p.ldc+j] = float32(math.NaN())
		}
	}
	if ep.Bias != nil {
		p.ep.Bias = randSlice(r, n)
	}
	if ep.Times != nil {
		p.ep.Times = randSlice(r, len(p.c))
	}
	if ep.Mask != nil {
		p.ep.Mask = make([]float32, len(p.c))
		for i := range p.ep.Mask {
			p.ep.Mask[i] = float32(math.NaN())
		}
	}
	return p
}

func (p *problem) opA(i, q int) float64 {
	if p.transA {
		return float64(p.a[q*p.lda+i])
	}
	return float64(p.a[i*p.lda+q])
}

func (p *problem) opB(q, j int) float64 {
	if p.transB {
		return float64(p.b[j*p.ldb+q])
	}
	return float64(p.b[q*p.ldb+j])
}

// check compares got (the C after the product) with a float64 reference
// computed from the C before it (c0), with a float32 error bound.
func (p *problem) check(t *testing.T, what string, c0, got []float32) {
	t.Helper()
	const u = 1.0 / (1 << 23)
	bad := 0
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.ldc; j++ {
			g := got[i*p.ldc+j]
			if j >= p.n {
				if !math.IsNaN(float64(g)) {
					t.Fatalf("%s: wrote padding C[%d,%d]", what, i, j)
				}
				if p.ep.Mask != nil && !math.IsNaN(float64(p.ep.Mask[i*p.ldc+j])) {
					t.Fatalf("%s: wrote padding mask[%d,%d]", what, i, j)
				}
				continue
			}
			var s, abs float64
			if p.ep.Accumulate {
				s = float64(c0[i*p.ldc+j])
				abs = math.Abs(s)
			}
			for q := 0; q < p.k; q++ {
				v := p.opA(i, q) * p.opB(q, j)
				s += v
				abs += math.Abs(v)
			}
			if p.ep.Bias != nil {
				s += float64(p.ep.Bias[j])
				abs += math.Abs(float64(p.ep.Bias[j]))
			}
			if p.ep.ReLU && s < 0 {
				s = 0
			}
			if p.ep.Times != nil {
				t := float64(p.ep.Times[i*p.ldc+j])
				s, abs = s*t, abs*math.Abs(t)
			}
			tol := 2 * float64(p.k+3) * u * abs
			if p.ep.Mask != nil {
				// The mask follows the sign of the rounded sum: near 0 either is right, but
				// the value must then agree with it.
				switch m := p.ep.Mask[i*p.ldc+j]; {
				case m != 0 && m != 1 || math.Abs(s) > tol && (m == 1) != (s >= 0):
					t.Fatalf("%s: mask[%d,%d] = %v for a sum of %v", what, i, j, m, s)
				case m == 0:
					s = 0
				}
			}
			if d := math.Abs(float64(g) - s); !(d <= tol) {
				if bad++; bad < 5 {
					t.Errorf("%s: C[%d,%d] = %v, want %v (tol %g)", what, i, j, g, s, tol)
				}
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d wrong elements", what, bad)
	}
}

var shapes = [][3]int{
	{1, 1, 1}, {3, 5, 7}, {6, 16, 4}, {12, 32, 256}, {17, 33, 65}, {13, 40, 300},
	{129, 257, 31}, {5, 200, 513}, {128, 10, 64}, {300, 6, 25}, {2, 3, 600},
	{6, 25, 4500}, {0, 5, 3}, {4, 0, 3}, {7, 9, 0}, {1, 300, 2},
}

func TestSgemmAgainstReference(t *testing.T) {
	pool := parallel.New(3)
	defer pool.Close()
	r := rand.New(rand.NewSource(1))
	eps := []Epilogue{{}, {Accumulate: true}, {Bias: []float32{}, ReLU: true}, {Bias: []float32{}, Accumulate: true}, {ReLU: true},
		{Bias: []float32{}, Mask: []float32{}}, {Accumulate: true, Mask: []float32{}}, {Times: []float32{}}, {Bias: []float32{}, Times: []float32{}}}
	forEachKernel(t, func(kname string) {
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			for tr := 0; tr < 4; tr++ {
				for ei, ep := range eps {
					if (raceEnabled || testing.Short()) && (ei+tr)%3 != 0 {
						continue // fewer epilogue combinations
					}
					pad := (tr + ei) % 3 * 2
					pr := newProblem(r, tr&1 != 0, tr&2 != 0, m, n, k, pad, ep)
					c0 := append([]float32(nil), pr.c...)
					Sgemm(pool, pr.transA, pr.transB, m, n, k, pr.a, pr.lda, pr.b, pr.ldb, pr.c, pr.ldc, pr.ep)
					pr.check(t, fmt.Sprintf("%s %dx%dx%d tA=%v tB=%v ep=%d pad=%d", kname, m, n, k, pr.transA, pr.transB, ei, pad), c0, pr.c)
				}
			}
		}
	})
}

// Results must be bit-identical whatever the number of workers.
func TestSgemmDeterministicAcrossWorkers(t *testing.T) {
	pools := []*parallel.Pool{parallel.New(1), parallel.New(2), parallel.New(7)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	r := rand.New(rand.NewSource(2))
	big := [][3]int{{128, 256, 784}, {784, 256, 128}, {300, 6, 25}, {6, 25, 20000}, {16, 150, 9000}, {129, 257, 600}, {128, 10, 256}}
	forEachKernel(t, func(kname string) {
		for _, sh := range big {
			for tr := 0; tr < 4; tr++ {
				if (raceEnabled || testing.Short()) && tr != int(sh[0]+sh[1])%4 {
					continue
				}
				// Each transposition with its epilogue: the k-chunks add C's partial sums before it.
				eps := []Epilogue{{Accumulate: true, Bias: []float32{}}, {Bias: []float32{}, Mask: []float32{}}, {Times: []float32{}}, {Accumulate: true, Times: []float32{}}}
				pr := newProblem(r, tr&1 != 0, tr&2 != 0, sh[0], sh[1], sh[2], 1, eps[tr])
				var first []float32
				for pi, p := range pools {
					c := append([]float32(nil), pr.c...)
					Sgemm(p, pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.a, pr.lda, pr.b, pr.ldb, c, pr.ldc, pr.ep)
					if pi == 0 {
						first = c
						continue
					}
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
							t.Fatalf("%s %v tr=%d: workers=%d differs from 1 worker at %d: %v vs %v", kname, sh, tr, p.Size(), i, c[i], first[i])
						}
					}
				}
			}
		}
	})
}

func TestSgemmZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("slow under the race detector; checked in normal runs")
	}
	pool := parallel.New(2)
	defer pool.Close()
	r := rand.New(rand.NewSource(3))
	ws := NewWorkspace()
	forEachKernel(t, func(kname string) {
		for si, sh := range [][3]int{{128, 256, 784}, {128, 10, 256}, {6, 25, 20000}, {3, 4, 5}, {3000, 6, 25}, {150, 16, 5000}} {
			pr := newProblem(r, si%2 == 0, si%3 == 0, sh[0], sh[1], sh[2], 0, Epilogue{Bias: []float32{}, ReLU: true})
			f := func() {
				Sgemm(pool, pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.a, pr.lda, pr.b, pr.ldb, pr.c, pr.ldc, pr.ep)
			}
			g := func() {
				ws.Sgemm(pool, pr.transA, pr.transB, pr.m, pr.n, pr.k, pr.a, pr.lda, pr.b, pr.ldb, pr.c, pr.ldc, pr.ep)
			}
			f()
			g()
			if a := testing.AllocsPerRun(20, f); a != 0 {
				t.Errorf("%s %v: Sgemm %v allocs per call", kname, sh, a)
			}
			if a := testing.AllocsPerRun(20, g); a != 0 {
				t.Errorf("%s %v: Workspace.Sgemm %v allocs per call", kname, sh, a)
			}
		}
	})
}

func TestSgemmPanicsOnBadArgs(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	mustPanic("short a", func() { Sgemm(nil, false, false, 2, 2, 4, a, 4, b, 2, c, 2, Epilogue{}) })
	mustPanic("small lda", func() { Sgemm(nil, false, false, 2, 2, 3, a, 2, b, 2, c, 2, Epilogue{}) })
	mustPanic("short bias", func() { Sgemm(nil, false, false, 2, 2, 3, a, 3, b, 2, c, 2, Epilogue{Bias: []float32{1}}) })
	mustPanic("short mask", func() { Sgemm(nil, false, false, 2, 2, 3, a, 3, b, 2, c, 2, Epilogue{Mask: make([]float32, 3)}) })
	mustPanic("short times", func() { Sgemm(nil, false, false, 2, 2, 3, a, 3, b, 2, c, 2, Epilogue{Times: make([]float32, 3)}) })
	mustPanic("mask and ReLU", func() {
		Sgemm(nil, false, false, 2, 2, 3, a, 3, b, 2, c, 2, Epilogue{Mask: make([]float32, 4), ReLU: true})
	})
	mustPanic("mask and times", func() {
		Sgemm(nil, false, false, 2, 2, 3, a, 3, b, 2, c, 2, Epilogue{Mask: make([]float32, 4), Times: make([]float32, 4)})
	})
	ws := NewWorkspace()
	mustPanic("cols: too few offsets", func() { ws.SgemmCols(nil, false, 2, 2, 3, a, 3, b, []int{0}, c, 2, Epilogue{}) })
	mustPanic("cols: a column past b", func() { ws.SgemmCols(nil, false, 2, 2, 3, a, 3, b, []int{0, 4}, c, 2, Epilogue{}) })
	mustPanic("cols: a negative offset", func() { ws.SgemmCols(nil, false, 2, 2, 3, a, 3, b, []int{-1, 0}, c, 2, Epilogue{}) })
}

// TestInterleave8 checks the transposition that packs eight columns, in
// assembly where there is one and in Go, against its definition, for lengths around the
// blocks of 8 it works in.
func TestInterleave8(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, f := range []func([]float32, int, *[8][]float32, int){interleave8, interleave8Go} {
		for _, kc := range []int{1, 3, 4, 5, 7, 8, 9, 16, 23, 256} {
			for _, stride := range []int{8, 12, 32} {
				var cols [8][]float32
				for c := range cols {
					cols[c] = randSlice(r, kc)
				}
				dst := make([]float32, (kc-1)*stride+8)
				for i := range dst {
					dst[i] = -7 // a place it must not write keeps this
				}
				f(dst, stride, &cols, kc)
				for p := 0; p < kc; p++ {
					for c := 0; c < 8; c++ {
						if got := dst[p*stride+c]; got != cols[c][p] {
							t.Fatalf("kc %d stride %d: dst[%d*%d+%d] = %v, want %v", kc, stride, p, stride, c, got, cols[c][p])
						}
					}
					for i := p*stride + 8; i < min(len(dst), (p+1)*stride); i++ {
						if dst[i] != -7 {
							t.Fatalf("kc %d stride %d: dst[%d] written", kc, stride, i)
						}
					}
				}
			}
		}
	}
}

// TestSgemmCols and TestSgemmRows check products whose B is given by where its columns
// (rows) start, overlapping ones included, on every kernel (rows: read through the table
// where the kernel can, packed elsewhere) and several worker counts, against a float64
// reference and bit for bit across worker counts.
func TestSgemmCols(t *testing.T) {
	checkByOffsets(t, false, 5, [][3]int{{1, 1, 1}, {6, 26, 896}, {16, 151, 140}, {13, 40, 300}, {17, 9, 65}, {5, 0, 3}, {3, 4, 0}})
}

func TestSgemmRows(t *testing.T) {
	checkByOffsets(t, true, 6, [][3]int{{1, 1, 1}, {6, 896, 26}, {16, 160, 151}, {13, 40, 300}, {17, 45, 65}, {5, 0, 3}, {3, 4, 0}, {30, 700, 9}})
	ws := NewWorkspace()
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	for _, bad := range [][]int{{0}, {0, 5, 0}, {-1, 0, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("rows at %v: no panic", bad)
				}
			}()
			ws.SgemmRows(nil, false, 2, 2, 3, a, 3, b, bad, c, 2, Epilogue{})
		}()
	}
}

// checkByOffsets runs SgemmRows (rows) or SgemmCols on shapes [m, n, k] with random
// overlapping lines of one b.
func checkByOffsets(t *testing.T, rows bool, seed int64, shapes [][3]int) {
	r := rand.New(rand.NewSource(seed))
	forEachKernel(t, func(name string) {
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			lines, length := n, k // B's columns: n of k values
			if rows {
				lines, length = k, n
			}
			for _, transA := range []bool{false, true} {
				b := randSlice(r, 3*length+lines+40)
				off := make([]int, lines)
				for i := range off {
					off[i] = r.Intn(len(b) - length + 1) // overlapping windows of b
				}
				opB := func(q, j int) float32 { // op(B)(q, j)
					if rows {
						return b[off[q]+j]
					}
					return b[off[j]+q]
				}
				lda := max(1, k)
				if transA {
					lda = max(1, m)
				}
				a := randSlice(r, max(m, k)*lda)
				want := make([]float64, m*n)
				tol := make([]float64, m*n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						for q := 0; q < k; q++ {
							av := a[i*lda+q]
							if transA {
								av = a[q*lda+i]
							}
							v := float64(av) * float64(opB(q, j))
							want[i*n+j] += v
							tol[i*n+j] += 2 * float64(k+3) / (1 << 23) * math.Abs(v)
						}
					}
				}
				var first []float32
				for _, workers := range []int{1, 2, 3} {
					pool := parallel.New(workers)
					c := make([]float32, m*n)
					if rows {
						NewWorkspace().SgemmRows(pool, transA, m, n, k, a, lda, b, off, c, max(1, n), Epilogue{})
					} else {
						NewWorkspace().SgemmCols(pool, transA, m, n, k, a, lda, b, off, c, max(1, n), Epilogue{})
					}
					pool.Close()
					for i, g := range c {
						if d := math.Abs(float64(g) - want[i]); !(d <= tol[i]) {
							t.Fatalf("%s %v rows=%v transA=%v: C[%d] = %v, want %v", name, s, rows, transA, i, g, want[i])
						}
					}
					if first == nil {
						first = c
					} else if !slices.Equal(first, c) {
						t.Fatalf("%s %v rows=%v transA=%v: %d workers differ from 1", name, s, rows, transA, workers)
					}
				}
			}
		}
	})
}

// TestPartitionGivesWorkersRows checks that a product's blocks are cut for the workers
// along C's rows before its columns (a worker's blocks then cover rows of C that no other
// worker writes), that consecutive blocks, which one worker takes, cover consecutive rows of
// C, and that where C has tiles enough the workers' first spans cover as many rows as each
// other to a tile.
func TestPartitionGivesWorkersRows(t *testing.T) {
	for _, s := range benchShapes {
		for _, kern := range []*kernel{{mr: 12, nr: 32}, {mr: 6, nr: 16}} {
			for _, swap := range []bool{false, true} {
				for workers := 1; workers <= 16; workers++ {
					m, n := s.m, s.n
					if swap {
						m, n = n, m
					}
					mt, nt := ceilDiv(m, kern.mr), ceilDiv(n, kern.nr)
					flops := 2 * float64(m) * float64(n) * float64(s.k)
					nmb, nnb := partition(mt, nt, kern.mr, kern.nr, workers, flops, swap)
					j := job{nmb: nmb, nnb: nnb, swap: swap}
					// The blocks along C's columns without the refinement (NC, or MC when swapped).
					rowBlocks, colBlocks, rowTiles, colBlocks0 := nmb, nnb, mt, ceilDiv(nt, min(nt, NC/kern.nr))
					if swap {
						rowBlocks, colBlocks, rowTiles, colBlocks0 = nnb, nmb, nt, ceilDiv(mt, min(mt, MC/kern.mr))
					}
					name := fmt.Sprintf("%s mr=%d swap=%v workers=%d", s.name, kern.mr, swap, workers)
					if colBlocks > colBlocks0 && rowBlocks < workers && rowTiles > rowBlocks {
						t.Errorf("%s: C's columns cut in %d while its rows are in %d blocks of %d tiles", name, colBlocks, rowBlocks, rowTiles)
					}
					last := -1
					for i := 0; i < nmb*nnb; i++ {
						ib, jb := j.blockOf(i)
						row := ib
						if swap {
							row = jb
						}
						if row < last {
							t.Errorf("%s: block %d covers rows of C before block %d's", name, i, i-1)
						}
						last = row
					}
					if workers == 1 || nmb*nnb == 1 || ceilDiv(rowBlocks, workers)*workers > rowTiles {
						continue // one worker, one block, or too few tiles for a multiple
					}
					if rowBlocks%workers != 0 {
						t.Errorf("%s: C's rows in %d blocks, not a multiple of the workers", name, rowBlocks)
						continue
					}
					// Worker w's first span, as parallel.Pool cuts it: whole rows of blocks.
					least, most := rowTiles, 0
					for w := 0; w < workers; w++ {
						r0, _ := tiles(w*rowBlocks/workers, rowBlocks, rowTiles)
						_, r1 := tiles((w+1)*rowBlocks/workers-1, rowBlocks, rowTiles)
						least, most = min(least, r1-r0), max(most, r1-r0)
					}
					if most > least+1 {
						t.Errorf("%s: the workers' spans cover %d to %d tiles of C's rows", name, least, most)
					}
				}
			}
		}
	}
	// The mlp's first weight gradient (784 x 256 over 128) on two workers: 33 tiles of 12
	// rows each (396 rows and 388). With blocks of a fixed 12 tiles it was 432 and 352.
	nmb, nnb := partition(ceilDiv(784, 12), ceilDiv(256, 32), 12, 32, 2, 2*784*256*128, false)
	if a, _ := tiles(0, nmb, 66); nmb%2 != 0 || nnb != 1 || a != 0 {
		t.Fatalf("mlp weight gradient on two workers: %d x %d blocks", nmb, nnb)
	}
	if _, h := tiles(nmb/2-1, nmb, 66); h != 33 {
		t.Errorf("mlp weight gradient on two workers: the first worker's span ends at tile %d, want 33", h)
	}
}
