package gemm

import (
	"fmt"
	"sync"

	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/internal/vec"
)

// Blocking constants. Only KC, KChunk and halfBMin influence the order in which
// the terms of a C element are summed; they are fixed (independent of the number
// of workers and of how C is partitioned), which is what makes results
// bit-identical for any worker count.
const (
	// KC is the depth of one packed panel: the k dimension is processed in
	// blocks of KC, in ascending order, each block's partial sum added to C.
	KC = 256
	// MC and NC bound the rows and columns of C one job packs and computes.
	MC = 144
	NC = 512
	// KChunk is the k-range of one chunk when a product with a small C and a
	// huge k is split over k: chunk sums are added in ascending chunk order.
	KChunk = 2048
	// smallFlops: below this many flops (2mnk) a product runs on the caller.
	smallFlops = 1 << 17
	// directBMax: a row-major B block (a column-major A block) of at most this
	// many values is read in place by every tile that uses it instead of packed
	// (256 KiB: a KC-deep slice of a 256-wide B, which each block of rows would
	// otherwise pack again; docs/DESIGN.md, "Packing once or not at all").
	directBMax = 1 << 16
	// minJobFlops: the partition is not refined below this many flops per job.
	minJobFlops = 1 << 18
	// halfBMin: an op(B) of this many values (256 KiB) or more, in a product of a k much
	// larger than m, is multiplied in two halves of k (kChunks).
	halfBMin = 1 << 16
)

// Epilogue says how the product is combined with C:
//
//	C = f(β·C + op(A)·op(B) + 1·biasᵀ)
//
// with β = 1 if Accumulate else 0, f = max(·, 0) if ReLU else identity
// (Go's max: NaN stays NaN, -0 becomes +0), and bias (length ≥ n, or nil)
// added to every row of C.
//
// Mask, when not nil (ReLU false), is the ReLU as a graph writes it: each
// value v of C after the bias becomes v·m with m = 1 if v ≥ 0 (−0 included)
// and 0 otherwise (NaN included), and m is stored in Mask at v's place (Mask
// is laid out as C, with ldc): the activation and its derivative's mask
// from the block of C still in cache.
//
// Times, when not nil (Mask nil), multiplies each value of C, last, by the
// value of Times at its place (laid out as C, with ldc): one rounded product,
// as an elementwise product after the GEMM would give (a gradient through a
// ReLU's mask).
type Epilogue struct {
	Bias       []float32
	ReLU       bool
	Accumulate bool
	Mask       []float32
	Times      []float32
}

// check panics when the epilogue does not fit an m x n C of leading
// dimension ldc.
func (ep Epilogue) check(m, n, ldc int) {
	if ep.Bias != nil && len(ep.Bias) < n {
		panic(fmt.Sprintf("gemm: len(bias) = %d < n = %d", len(ep.Bias), n))
	}
	if ep.Mask != nil {
		if ep.ReLU {
			panic("gemm: an epilogue with both ReLU and Mask")
		}
		checkMat("mask", false, m, n, ep.Mask, ldc)
	}
	if ep.Times != nil {
		if ep.Mask != nil {
			panic("gemm: an epilogue with both Mask and Times")
		}
		checkMat("times", false, m, n, ep.Times, ldc)
	}
}

// post is the matrix of Mask or Times (nil when neither), and whether it is
// Times.
func (ep Epilogue) post() ([]float32, bool) {
	if ep.Times != nil {
		return ep.Times, true
	}
	return ep.Mask, false
}

// mat is a strided view: element (i, j) is d[i*rs + j*cs]; or, when coff is
// not nil (a B operand of SgemmCols), d[i + coff[j]]; or, when roff is not nil
// (a B operand of SgemmRows), d[roff[i] + j].
type mat struct {
	d          []float32
	rs, cs     int
	coff, roff []int
}

// col is where column j of m starts.
func (m *mat) col(j int) int {
	if m.coff != nil {
		return m.coff[j]
	}
	return j * m.cs
}

// offsets reports whether m is given by where its rows or columns start.
func (m *mat) offsets() bool { return m.coff != nil || m.roff != nil }

type scratch struct {
	a, b, tile []float32
	_          [64]byte // keep workers' headers on separate cache lines
}

// Workspace holds the packing buffers of a product. It grows on first use
// and is then reused, so products of shapes already seen allocate nothing.
// A Workspace must not be used by two products at the same time.
type Workspace struct {
	sc      []scratch
	partial []float32
	last    [maxMR]int // SgemmARows: a last partial tile's row offsets (in the heap already: the kernel is called through a func value)
	job     job
	red     reduceJob
}

// NewWorkspace returns an empty workspace; buffers are sized on first use.
func NewWorkspace() *Workspace { return &Workspace{} }

var (
	wsMu   sync.Mutex
	wsFree []*Workspace
)

// Sgemm computes C = f(β·C + op(A)·op(B) + bias) (see Epilogue) where op(X)
// is X or Xᵀ, for float32 row-major matrices:
//
//	op(A) is m x k: A is stored m x k (lda ≥ k) or, if transA, k x m (lda ≥ m)
//	op(B) is k x n: B is stored k x n (ldb ≥ n) or, if transB, n x k (ldb ≥ k)
//	C is m x n, row i at c[i*ldc:], ldc ≥ n
//
// Work is spread over the workers of p (nil means parallel.Default()). The
// result does not depend on the number of workers, bit for bit. Packing
// buffers come from a package-level free list of Workspaces, so that after
// warm-up a call allocates nothing; use Workspace.Sgemm to own them.
func Sgemm(p *parallel.Pool, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	wsMu.Lock()
	var ws *Workspace
	if l := len(wsFree); l > 0 {
		ws = wsFree[l-1]
		wsFree = wsFree[:l-1]
	}
	wsMu.Unlock()
	if ws == nil {
		ws = NewWorkspace()
	}
	ws.Sgemm(p, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, ep)
	wsMu.Lock()
	wsFree = append(wsFree, ws)
	wsMu.Unlock()
}

func checkMat(name string, trans bool, rows, cols int, x []float32, ld int) {
	// op(X) is rows x cols; stored X is rows x cols, or cols x rows if trans.
	sr, sc := rows, cols
	if trans {
		sr, sc = cols, rows
	}
	if ld < max(1, sc) {
		panic(fmt.Sprintf("gemm: ld%s = %d < %d", name, ld, max(1, sc)))
	}
	if sr > 0 && sc > 0 && len(x) < (sr-1)*ld+sc {
		panic(fmt.Sprintf("gemm: len(%s) = %d < %d", name, len(x), (sr-1)*ld+sc))
	}
}

// Sgemm is the package-level Sgemm with this workspace's buffers.
func (ws *Workspace) Sgemm(p *parallel.Pool, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	if m < 0 || n < 0 || k < 0 {
		panic("gemm: negative dimension")
	}
	checkMat("a", transA, m, k, a, lda)
	checkMat("b", transB, k, n, b, ldb)
	checkMat("c", false, m, n, c, ldc)
	ep.check(m, n, ldc)
	if m == 0 || n == 0 {
		return
	}
	if p == nil {
		p = parallel.Default()
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if !ep.Accumulate {
				clear(row)
			}
			epilogueRow(row, ep.Bias, 0, ep.ReLU)
			if m, times := ep.post(); m != nil {
				applyMask(row, m[i*ldc:i*ldc+n], times)
			}
		}
		return
	}
	A := mat{a, lda, 1, nil, nil}
	if transA {
		A = mat{a, 1, lda, nil, nil}
	}
	B := mat{b, ldb, 1, nil, nil}
	if transB {
		B = mat{b, 1, ldb, nil, nil}
	}
	ws.run(p, A, B, c, ldc, m, n, k, ep)
}

// SgemmCols is Workspace.Sgemm for a B given by where its columns start:
// op(B)(i, j) = b[off[j] + i] for i < k, j < n (columns may overlap, e.g. the
// shifted windows of an image). A is as in Sgemm.
func (ws *Workspace) SgemmCols(p *parallel.Pool, transA bool, m, n, k int, a []float32, lda int, b []float32, off []int, c []float32, ldc int, ep Epilogue) {
	ws.byOffsets(p, transA, m, n, k, a, lda, b, off, false, c, ldc, ep)
}

// SgemmRows is Workspace.Sgemm for a B given by where its rows start:
// op(B)(i, j) = b[off[i] + j] for i < k, j < n (rows may overlap, e.g. the
// shifted windows of an image). A is as in Sgemm. Where the micro-kernel has a
// version that reads rows through the table (AVX-512, AVX2), B is read in
// place; elsewhere it is packed.
func (ws *Workspace) SgemmRows(p *parallel.Pool, transA bool, m, n, k int, a []float32, lda int, b []float32, off []int, c []float32, ldc int, ep Epilogue) {
	ws.byOffsets(p, transA, m, n, k, a, lda, b, off, true, c, ldc, ep)
}

// byOffsets is SgemmRows (rows) or SgemmCols: it checks the operands and the
// offsets, each a line of B (a row of n values, or a column of k) inside b.
func (ws *Workspace) byOffsets(p *parallel.Pool, transA bool, m, n, k int, a []float32, lda int, b []float32, off []int, rows bool, c []float32, ldc int, ep Epilogue) {
	if m < 0 || n < 0 || k < 0 {
		panic("gemm: negative dimension")
	}
	checkMat("a", transA, m, k, a, lda)
	checkMat("c", false, m, n, c, ldc)
	lines, length, what := n, k, "column"
	if rows {
		lines, length, what = k, n, "row"
	}
	if len(off) < lines {
		panic(fmt.Sprintf("gemm: %d %s offsets for %d %ss", len(off), what, lines, what))
	}
	for _, o := range off[:lines] {
		if o < 0 || o+length > len(b) {
			panic(fmt.Sprintf("gemm: a %s at %d of %d values leaves b (%d)", what, o, length, len(b)))
		}
	}
	ep.check(m, n, ldc)
	if m == 0 || n == 0 || k == 0 {
		ws.Sgemm(p, transA, false, m, n, 0, a, max(1, lda), nil, max(1, n), c, ldc, ep)
		return
	}
	if p == nil {
		p = parallel.Default()
	}
	A := mat{a, lda, 1, nil, nil}
	if transA {
		A = mat{a, 1, lda, nil, nil}
	}
	var B mat
	if rows {
		B = mat{b, 0, 1, nil, off[:k]}
	} else {
		B = mat{b, 1, 0, off[:n], nil}
	}
	ws.run(p, A, B, c, ldc, m, n, k, ep)
}

// run computes C = f(β·C + op(A)·op(B) + bias) for checked operands.
func (ws *Workspace) run(p *parallel.Pool, A, B mat, c []float32, ldc, m, n, k int, ep Epilogue) {
	C := mat{c, ldc, 1, nil, nil}
	// Pick the tile shape and orientation that waste fewest lanes, with a
	// bias toward the family's first tile and no transposition. With swap
	// the package computes D = Cᵀ = op(B)ᵀ·op(A)ᵀ (e.g. n = 6 or 10 with
	// NR = 16): the vector dimension becomes m.
	kern, swap, best := active.tiles[0], false, 0.0
	for ti, t := range active.tiles {
		for _, sw := range []bool{false, true} {
			if sw && B.offsets() {
				continue // rows or columns by offsets are B's only
			}
			u := util(m, n, t)
			if sw {
				u = util(n, m, t) / 1.15
			}
			if ti > 0 {
				u /= 1.15
			}
			if u > best {
				kern, swap, best = t, sw, u
			}
		}
	}
	j := &ws.job
	post, times := ep.post()
	*j = job{ws: ws, kern: kern, A: A, B: B, C: C, M: m, N: n, K: k,
		load: ep.Accumulate, bias: ep.Bias, relu: ep.ReLU, mask: mat{post, ldc, 1, nil, nil}, times: times}
	if swap {
		j.A = mat{B.d, B.cs, B.rs, nil, nil}
		j.B = mat{A.d, A.cs, A.rs, nil, nil}
		j.C = mat{c, 1, ldc, nil, nil}
		j.mask = mat{post, 1, ldc, nil, nil}
		j.M, j.N = n, m
		j.swap = true
	}
	M, N := j.M, j.N
	mr, nr := kern.mr, kern.nr
	mt, nt := ceilDiv(M, mr), ceilDiv(N, nr)
	flops := 2 * float64(M) * float64(N) * float64(k)
	workers := p.Size()

	if nch, klen := kChunks(M, N, k, mt*mr, nt*nr, swap); nch > 1 {
		// Chunks of k computed in parallel, each cut into blocks of C like a product of its
		// own (chunk 0 straight into C unless C is accumulated into, the others into partial
		// sums), then the partial sums added to C in chunk order and the epilogue applied,
		// rows of C in parallel.
		j.nchunks, j.klen = nch, klen
		j.nmb, j.nnb = 1, 1 // a chunk of a huge k: all of a small C
		if klen != KChunk {
			j.nmb, j.nnb = partition(mt, nt, mr, nr, ceilDiv(workers, nch), flops/float64(nch), swap)
		}
		j.mt, j.nt = mt, nt
		ws.grow(workers, ceilDiv(mt, j.nmb)*mr, ceilDiv(nt, j.nnb)*nr, nch*M*N)
		p.RunWorkers(nch*j.nmb*j.nnb, j)
		ws.red = reduceJob{j: j, rows: max(1, reduceValues/N)}
		p.Run(ceilDiv(M, ws.red.rows), &ws.red)
		ws.red = reduceJob{}
		*j = job{}
		return
	}

	j.nmb, j.nnb = partition(mt, nt, mr, nr, workers, flops, swap)
	j.mt, j.nt = mt, nt
	rows, cols := ceilDiv(mt, j.nmb)*mr, ceilDiv(nt, j.nnb)*nr
	n0 := j.nmb * j.nnb
	if flops < smallFlops || workers == 1 || n0 == 1 {
		ws.grow(1, rows, cols, 0)
		for i := 0; i < n0; i++ {
			j.DoWorker(0, i)
		}
	} else {
		ws.grow(workers, rows, cols, 0)
		p.RunWorkers(n0, j)
	}
	*j = job{}
}

// kChunks returns how many chunks of k, klen long, a product of a destination of m rows
// (rows x cols in whole tiles) computes apart and adds in chunk order (0: none), from the
// shape alone, never the workers, so that every worker count sums alike:
//   - a small destination and a huge k (filter gradients: k = batch·pixels): KChunk-long
//     chunks, so that the workers have work;
//   - an op(B) of at least halfBMin values with a k of at least 2·KC and more than twice m,
//     not transposed (the first layer of an MLP at a small batch: 128 x 256 x 784): two
//     halves. The workers then each read half of op(B) (the layer's weights) instead of all
//     of it, the half whose update is theirs too, and add up a destination smaller than
//     that half (docs/DESIGN.md, "The first product in halves of k").
func kChunks(m, n, k, rows, cols int, swap bool) (chunks, klen int) {
	switch {
	case k >= 2*KChunk && rows <= MC && cols <= NC:
		return ceilDiv(k, KChunk), KChunk
	case !swap && k >= 2*KC && k > 2*m && k*n >= halfBMin:
		return 2, ceilDiv(k, 2)
	}
	return 0, 0
}

// partition returns how many blocks a product of mt x nt tiles of mr x nr, flops in all, is
// cut into along each side on workers workers; the blocks are numbered along C's rows (down
// the destination's columns when swap, where C's rows are the destination's columns).
// Workers first get C's rows: memory of their own. Cut by columns, each row of C is written
// by every worker, and on a 2-core EPYC VM a small product with an epilogue ran 3.5x slower
// on two workers than on one (docs/DESIGN.md, "Workers own whole rows of C"). Then the
// larger side of a block is halved until every worker has two blocks or the blocks get too
// small (never on one worker: no one to even out with, and every block packs its own share
// of A). Last, the blocks along C's rows are made a multiple of the workers where there are
// tiles enough: each worker's span then covers as many of C's rows as the others' within a
// tile (tiles spreads a side's tiles over its blocks). With blocks of a fixed size instead,
// the mlp's 784-row weight gradient on two workers gave one 432 rows and the other 352.
func partition(mt, nt, mr, nr, workers int, flops float64, swap bool) (nmb, nnb int) {
	mbt, nbt := min(mt, MC/mr), min(nt, NC/nr)
	jobs := func() int { return ceilDiv(mt, mbt) * ceilDiv(nt, nbt) }
	split := func() bool { return workers > 1 && jobs() < 2*workers && flops/float64(2*jobs()) >= minJobFlops }
	if swap {
		for nbt > 1 && ceilDiv(nt, nbt) < workers && split() {
			nbt = ceilDiv(nbt, 2)
		}
	} else {
		for mbt > 1 && ceilDiv(mt, mbt) < workers && split() {
			mbt = ceilDiv(mbt, 2)
		}
	}
	for (mbt > 1 || nbt > 1) && split() {
		if mbt*mr >= nbt*nr && mbt > 1 || nbt == 1 {
			mbt = ceilDiv(mbt, 2)
		} else {
			nbt = ceilDiv(nbt, 2)
		}
	}
	nmb, nnb = ceilDiv(mt, mbt), ceilDiv(nt, nbt)
	rows, tilesAlong := &nmb, mt
	if swap {
		rows, tilesAlong = &nnb, nt
	}
	if r := ceilDiv(*rows, workers) * workers; workers > 1 && nmb*nnb > 1 && r <= tilesAlong {
		*rows = r
	}
	return nmb, nnb
}

// tiles returns the tiles [lo, hi) of block b of n blocks along a side of t tiles: sizes that
// differ by one tile at most.
func tiles(b, n, t int) (lo, hi int) { return b * t / n, (b + 1) * t / n }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// util is the fraction of useful lanes when an m x n C is cut into tiles.
func util(m, n int, k *kernel) float64 {
	return float64(m) / float64(ceilDiv(m, k.mr)*k.mr) * float64(n) / float64(ceilDiv(n, k.nr)*k.nr)
}

func (ws *Workspace) grow(workers, rows, cols, partial int) {
	if len(ws.sc) < workers {
		ws.sc = append(ws.sc, make([]scratch, workers-len(ws.sc))...)
	}
	for w := 0; w < workers; w++ {
		s := &ws.sc[w]
		if len(s.a) < rows*KC {
			s.a = make([]float32, rows*KC)
		}
		if len(s.b) < cols*KC {
			s.b = make([]float32, cols*KC)
		}
		if s.tile == nil {
			s.tile = make([]float32, maxMR*maxNR)
		}
	}
	if len(ws.partial) < partial {
		ws.partial = make([]float32, partial)
	}
}

// job is one product, partitioned into blocks of C (or chunks of k).
type job struct {
	ws       *Workspace
	kern     *kernel
	A, B, C  mat // op(A) M x K, op(B) K x N, destination M x N
	M, N, K  int
	load     bool
	bias     []float32
	swap     bool // the destination is Cᵀ: bias by its rows, blocks numbered down its columns
	relu     bool
	mask     mat  // Epilogue.Mask or Times laid out as C (d nil: none)
	times    bool // mask is Times
	mt, nt   int  // tiles along M and N
	nmb, nnb int  // blocks along M and N (tiles spreads the tiles over them)
	nchunks  int  // > 0: k in chunks of klen
	klen     int
}

// DoWorker computes block i on worker w's scratch: with k in chunks, block i % (blocks a
// chunk) of chunk i / (blocks a chunk), chunk-major, so that a worker's span keeps to one
// chunk and its part of op(B).
func (j *job) DoWorker(w, i int) {
	sc := &j.ws.sc[w]
	nb := j.nmb * j.nnb
	ib, jb := j.blockOf(i % nb)
	t0, t1 := tiles(ib, j.nmb, j.mt)
	i0, i1 := t0*j.kern.mr, min(j.M, t1*j.kern.mr)
	t0, t1 = tiles(jb, j.nnb, j.nt)
	j0, j1 := t0*j.kern.nr, min(j.N, t1*j.kern.nr)
	if j.nchunks > 0 {
		ch := i / nb
		k0 := ch * j.klen
		k1 := min(j.K, k0+j.klen)
		dst := j.C
		if ch > 0 || j.load {
			dst = mat{j.ws.partial[ch*j.M*j.N : (ch+1)*j.M*j.N], j.N, 1, nil, nil}
		}
		j.block(sc, i0, i1, j0, j1, k0, k1, dst, false)
		return
	}
	j.block(sc, i0, i1, j0, j1, 0, j.K, j.C, j.load)
	j.epilogue(i0, i1, j0, j1)
}

// blockOf is block i's place (along M, along N) in the destination's grid of blocks,
// numbered along C's rows: consecutive blocks, a worker's span, cover consecutive rows of C.
func (j *job) blockOf(i int) (ib, jb int) {
	if j.swap {
		return i % j.nmb, i / j.nmb
	}
	return i / j.nnb, i % j.nnb
}

// block computes dst[i0:i1, j0:j1] (+)= op(A)[i0:i1, k0:k1]·op(B)[k0:k1, j0:j1]
// in KC-deep steps.
func (j *job) block(sc *scratch, i0, i1, j0, j1, k0, k1 int, dst mat, load bool) {
	kern := j.kern
	mr, nr := kern.mr, kern.nr
	tile := sc.tile
	for pc := k0; pc < k1; pc += KC {
		kc := min(KC, k1-pc)
		ld := load || pc > k0
		ldi := 0
		if ld {
			ldi = 1
		}
		// An operand panel used by a single micro-kernel call is read in
		// place when its MR (NR) values per p are contiguous: packing it
		// would cost as much as the multiplication.
		// So is a block whose panels are contiguous and that is small enough
		// to stay in cache while every tile reads it.
		directA := j.A.rs == 1 && (j1-j0 <= nr || kc*(i1-i0) <= directBMax)
		directB := j.B.roff == nil && j.B.cs == 1 && (i1-i0 <= mr || kc*(j1-j0) <= directBMax)
		// A B given by where its rows start is read in place through the
		// table where the micro-kernel has a version that does (fnOff).
		offB := j.B.roff != nil && kern.fnOff != nil
		if !directB && !offB {
			packB(sc.b, j.B, pc, kc, j0, j1, nr)
		}
		last := i1 - (i1-i0)%mr // the start of a last partial tile, or i1
		if !directA {
			packA(sc.a, j.A, i0, i1, pc, kc, mr)
		} else if last < i1 {
			packA(sc.a, j.A, last, i1, pc, kc, mr) // packed once, for every panel
		}
		for jr := j0; jr < j1; jr += nr {
			nrr := min(nr, j1-jr)
			var bp []float32
			var off *int // not nil: fnOff reads row p at bp + off[p]
			sb := nr
			switch {
			case (directB || offB) && nrr < nr:
				packB(sc.b, j.B, pc, kc, jr, j1, nr)
				bp = sc.b
			case offB:
				bp, off = j.B.d[jr:], &j.B.roff[pc]
			case directB:
				bp, sb = j.B.d[pc*j.B.rs+jr:], j.B.rs
			default:
				bp = sc.b[(jr-j0)*kc:]
			}
			for ir := i0; ir < i1; ir += mr {
				mrr := min(mr, i1-ir)
				var ap []float32
				sa := mr
				if !directA {
					ap = sc.a[(ir-i0)*kc:]
				} else if mrr == mr {
					ap, sa = j.A.d[pc*j.A.cs+ir:], j.A.cs
				} else {
					ap = sc.a
				}
				if mrr == mr && nrr == nr && dst.cs == 1 {
					if off != nil {
						kern.fnOff(kc, &ap[0], &bp[0], &dst.d[ir*dst.rs+jr], dst.rs, ldi, sa, off)
					} else {
						kern.fn(kc, &ap[0], &bp[0], &dst.d[ir*dst.rs+jr], dst.rs, ldi, sa, sb)
					}
					continue
				}
				if off != nil {
					kern.fnOff(kc, &ap[0], &bp[0], &tile[0], nr, 0, sa, off)
				} else {
					kern.fn(kc, &ap[0], &bp[0], &tile[0], nr, 0, sa, sb)
				}
				for i := 0; i < mrr; i++ {
					t := tile[i*nr : i*nr+nrr]
					o := (ir+i)*dst.rs + jr*dst.cs
					if dst.cs == 1 {
						d := dst.d[o : o+nrr]
						if ld {
							for jj, v := range t {
								d[jj] += v
							}
						} else {
							copy(d, t)
						}
						continue
					}
					for jj, v := range t {
						if ld {
							dst.d[o+jj*dst.cs] += v
						} else {
							dst.d[o+jj*dst.cs] = v
						}
					}
				}
			}
		}
	}
}

// epilogue adds the bias and applies ReLU or the mask to destination block
// [i0:i1, j0:j1].
func (j *job) epilogue(i0, i1, j0, j1 int) {
	if j.bias != nil || j.relu {
		j.biasReLU(i0, i1, j0, j1)
	}
	if j.mask.d != nil {
		j.applyMask(i0, i1, j0, j1)
	}
}

// applyMask is Epilogue.Mask or Times on destination block [i0:i1, j0:j1],
// along whichever of its dimensions is contiguous in memory (C's or its
// transpose's rows).
func (j *job) applyMask(i0, i1, j0, j1 int) {
	d, m := j.C, j.mask
	if d.cs == 1 && j1-j0 == d.rs && m.rs == d.rs {
		// Whole rows, back to back: one pass over the block.
		applyMask(d.d[i0*d.rs+j0:i1*d.rs], m.d[i0*m.rs+j0:i1*m.rs], j.times)
		return
	}
	if d.cs == 1 {
		for i := i0; i < i1; i++ {
			applyMask(d.d[i*d.rs+j0:i*d.rs+j1], m.d[i*m.rs+j0:i*m.rs+j1], j.times)
		}
		return
	}
	for jj := j0; jj < j1; jj++ {
		applyMask(d.d[jj*d.cs+i0:jj*d.cs+i1], m.d[jj*m.cs+i0:jj*m.cs+i1], j.times)
	}
}

// applyMask is x = x·m (times), or the ReLU as a graph writes it: m = (x ≥ 0)
// as 1 or 0, then x = x·m.
func applyMask(x, m []float32, times bool) {
	if !times {
		vec.GeZeroMask(m, x)
	}
	vec.MaskMul(x, m, x)
}

// biasReLU adds the bias and applies ReLU to destination block [i0:i1, j0:j1].
func (j *job) biasReLU(i0, i1, j0, j1 int) {
	d := j.C
	if d.cs == 1 && !j.swap {
		var bias []float32
		if j.bias != nil {
			bias = j.bias[j0:j1]
		}
		for i := i0; i < i1; i++ {
			row := d.d[i*d.rs+j0 : i*d.rs+j1]
			switch {
			case bias != nil && j.relu:
				bias := bias[:len(row)]
				for jj, v := range row {
					row[jj] = max(v+bias[jj], 0)
				}
			case bias != nil:
				vec.Add(row, row, bias[:len(row)]) // one rounded sum a value: the same bits
			default:
				for jj, v := range row {
					row[jj] = max(v, 0)
				}
			}
		}
		return
	}
	if d.rs == 1 { // a transposed view: C's memory rows are the view's columns
		for jj := j0; jj < j1; jj++ {
			col := d.d[jj*d.cs+i0 : jj*d.cs+i1]
			switch {
			case j.bias != nil && j.swap && j.relu:
				bias := j.bias[i0:i1]
				for i, v := range col {
					col[i] = max(v+bias[i], 0)
				}
			case j.bias != nil && j.swap:
				bias := j.bias[i0:i1]
				for i := range col {
					col[i] += bias[i]
				}
			case j.bias != nil && j.relu:
				b := j.bias[jj]
				for i, v := range col {
					col[i] = max(v+b, 0)
				}
			case j.bias != nil:
				b := j.bias[jj]
				for i := range col {
					col[i] += b
				}
			default:
				for i, v := range col {
					col[i] = max(v, 0)
				}
			}
		}
		return
	}
	for i := i0; i < i1; i++ {
		for jj := j0; jj < j1; jj++ {
			v := &d.d[i*d.rs+jj*d.cs]
			if j.bias != nil {
				if j.swap {
					*v += j.bias[i]
				} else {
					*v += j.bias[jj]
				}
			}
			if j.relu {
				*v = max(*v, 0)
			}
		}
	}
}

// reduceJob adds the k-chunks' partial sums to rows [i·rows, (i+1)·rows) of the
// destination and applies the epilogue there.
type reduceJob struct {
	j    *job
	rows int
}

// reduceValues is about how many values of C one piece of the reduction adds.
const reduceValues = 4096

func (r *reduceJob) Do(i int) {
	j := r.j
	i0 := i * r.rows
	i1 := min(j.M, i0+r.rows)
	j.reduce(i0, i1)
	j.epilogue(i0, i1, 0, j.N)
}

// reduce adds the k-chunk partial sums to rows [i0, i1) of the destination in ascending
// chunk order: C = ((C + P0) + P1) + ... when C is accumulated into, else ((P0 + P1) + P2)
// + ..., chunk 0 having been written into C.
func (j *job) reduce(i0, i1 int) {
	mn := j.M * j.N
	part := j.ws.partial
	d := j.C
	first := 1
	if j.load {
		first = 0
	}
	for i := i0; i < i1; i++ {
		if d.cs == 1 {
			row := d.d[i*d.rs : i*d.rs+j.N]
			for ch := first; ch < j.nchunks; ch++ {
				vec.Add(row, row, part[ch*mn+i*j.N:ch*mn+(i+1)*j.N])
			}
			continue
		}
		for jj := 0; jj < j.N; jj++ {
			s := d.d[i*d.rs+jj*d.cs]
			for ch := first; ch < j.nchunks; ch++ {
				s += part[ch*mn+i*j.N+jj]
			}
			d.d[i*d.rs+jj*d.cs] = s
		}
	}
}

func epilogueRow(row, bias []float32, b0 int, relu bool) {
	for i := range row {
		if bias != nil {
			row[i] += bias[b0+i]
		}
		if relu {
			row[i] = max(row[i], 0)
		}
	}
}

// packLines fills a micro-panel of kc lines of width w from kc runs of n ≤ w consecutive
// values of d, the p-th starting at o + p·step; each line's last w−n values are zero. It is the
// packing of an operand whose panel runs along its memory (A column-major, B row-major).
func packLines(pan, d []float32, o, step, n, w, kc int) {
	for p := 0; p < kc; p++ {
		seg := pan[p*w : p*w+w]
		src := d[o+p*step : o+p*step+n]
		if n > 16 {
			copy(seg, src)
			clear(seg[n:])
			continue
		}
		// A few values: loops, not calls.
		for i, v := range src {
			seg[i] = v
		}
		for i := n; i < w; i++ {
			seg[i] = 0
		}
	}
}

// packA packs op(A)[i0:i1, p0:p0+kc] into MR-row micro-panels: panel q holds
// a[p*mr+i] = op(A)[i0+q*mr+i, p0+p], rows past i1 zero.
func packA(dst []float32, A mat, i0, i1, p0, kc, mr int) {
	for ir := i0; ir < i1; ir += mr {
		mrr := min(mr, i1-ir)
		pan := dst[(ir-i0)*kc : (ir-i0)*kc+mr*kc]
		if A.rs == 1 {
			packLines(pan, A.d, p0*A.cs+ir, A.cs, mrr, mr, kc)
			continue
		}
		if A.cs == 1 && mrr == mr {
			// Row-major A: read mr rows side by side, write each packed
			// column contiguously.
			var rows [maxMR][]float32
			for i := 0; i < mr; i++ {
				o := (ir+i)*A.rs + p0
				rows[i] = A.d[o : o+kc : o+kc]
			}
			switch mr {
			case 12:
				packRows12(pan, &rows, kc)
			case 6:
				packRows6(pan, &rows, kc)
			default:
				for p := 0; p < kc; p++ {
					seg := pan[p*mr : p*mr+mr]
					for i := range seg {
						seg[i] = rows[i][p]
					}
				}
			}
			continue
		}
		for i := 0; i < mrr; i++ {
			o := (ir+i)*A.rs + p0*A.cs
			if A.cs == 1 {
				row := A.d[o : o+kc]
				for p, v := range row {
					pan[p*mr+i] = v
				}
			} else {
				for p := 0; p < kc; p++ {
					pan[p*mr+i] = A.d[o+p*A.cs]
				}
			}
		}
		for i := mrr; i < mr; i++ {
			for p := 0; p < kc; p++ {
				pan[p*mr+i] = 0
			}
		}
	}
}

// packB packs op(B)[p0:p0+kc, j0:j1] into NR-column micro-panels: panel q
// holds b[p*nr+j] = op(B)[p0+p, j0+q*nr+j], columns past j1 zero.
func packB(dst []float32, B mat, p0, kc, j0, j1, nr int) {
	for jr := j0; jr < j1; jr += nr {
		nrr := min(nr, j1-jr)
		pan := dst[(jr-j0)*kc : (jr-j0)*kc+nr*kc]
		if B.roff != nil {
			for p, o := range B.roff[p0 : p0+kc] {
				seg := pan[p*nr : p*nr+nr]
				copy(seg, B.d[o+jr:o+jr+nrr])
				clear(seg[nrr:])
			}
			continue
		}
		if B.cs == 1 {
			packLines(pan, B.d, p0*B.rs+jr, B.rs, nrr, nr, kc)
			continue
		}
		jj := 0
		if B.rs == 1 {
			// Columns contiguous in memory: read eight side by side (columns
			// past the last read zeros), write eight consecutive values of
			// each packed row.
			for ; jj < nrr && jj+8 <= nr; jj += 8 {
				var cols [8][]float32
				for c := range cols {
					cols[c] = zeros[:kc]
					if jj+c < nrr {
						o := B.col(jr+jj+c) + p0
						cols[c] = B.d[o : o+kc : o+kc]
					}
				}
				interleave8(pan[jj:], nr, &cols, kc)
			}
			if jj >= nrr { // the groups wrote the zeros too, up to a last part group
				for p := 0; jj < nr && p < kc; p++ {
					clear(pan[p*nr+jj : p*nr+nr])
				}
				continue
			}
			if jj < nrr {
				// The last columns, and zeros past them, a packed row at a time.
				var cols [8][]float32
				for c := range nrr - jj {
					o := B.col(jr+jj+c) + p0
					cols[c] = B.d[o : o+kc : o+kc]
				}
				for p := 0; p < kc; p++ {
					seg := pan[p*nr+jj : p*nr+nr]
					for c := range nrr - jj {
						seg[c] = cols[c][p]
					}
					clear(seg[nrr-jj:])
				}
				continue
			}
		}
		for ; jj < nrr; jj++ {
			o := B.col(jr+jj) + p0*B.rs
			if B.rs == 1 {
				col := B.d[o : o+kc]
				for p, v := range col {
					pan[p*nr+jj] = v
				}
			} else {
				for p := 0; p < kc; p++ {
					pan[p*nr+jj] = B.d[o+p*B.rs]
				}
			}
		}
		for jj := nrr; jj < nr; jj++ {
			for p := 0; p < kc; p++ {
				pan[p*nr+jj] = 0
			}
		}
	}
}

func packRows12(pan []float32, rows *[maxMR][]float32, kc int) {
	r0, r1, r2, r3 := rows[0][:kc], rows[1][:kc], rows[2][:kc], rows[3][:kc]
	r4, r5, r6, r7 := rows[4][:kc], rows[5][:kc], rows[6][:kc], rows[7][:kc]
	r8, r9, r10, r11 := rows[8][:kc], rows[9][:kc], rows[10][:kc], rows[11][:kc]
	for p := 0; p < kc; p++ {
		seg := pan[p*12 : p*12+12 : p*12+12]
		seg[0], seg[1], seg[2], seg[3] = r0[p], r1[p], r2[p], r3[p]
		seg[4], seg[5], seg[6], seg[7] = r4[p], r5[p], r6[p], r7[p]
		seg[8], seg[9], seg[10], seg[11] = r8[p], r9[p], r10[p], r11[p]
	}
}

func packRows6(pan []float32, rows *[maxMR][]float32, kc int) {
	r0, r1, r2, r3, r4, r5 := rows[0][:kc], rows[1][:kc], rows[2][:kc], rows[3][:kc], rows[4][:kc], rows[5][:kc]
	for p := 0; p < kc; p++ {
		seg := pan[p*6 : p*6+6 : p*6+6]
		seg[0], seg[1], seg[2], seg[3], seg[4], seg[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// zeros is a column of zeros for the packing of a panel's missing columns.
var zeros [KC]float32

// Interleave8 writes dst[p*stride+c] = cols[c][p] for c < 8 and p < n: eight columns
// transposed into rows (with AVX, 8x8 blocks in registers).
func Interleave8(dst []float32, stride int, cols *[8][]float32, n int) {
	if n <= 0 {
		return
	}
	_ = dst[(n-1)*stride+7]
	for _, c := range cols {
		_ = c[n-1]
	}
	interleave8(dst, stride, cols, n)
}

// interleave8 writes dst[p*stride+c] = cols[c][p] for c < 8 and p < kc: the
// transposition of eight columns into packed rows, in assembly where the CPU
// has a version (interleave8Asm), else in Go.
func interleave8(dst []float32, stride int, cols *[8][]float32, kc int) {
	if !interleave8Asm(dst, stride, cols, kc) {
		interleave8Go(dst, stride, cols, kc)
	}
}

// blockColumns is where each column starts, for an assembly interleave8 of its first n
// values (n > 0), having checked that dst holds the n rows it writes.
func blockColumns(dst []float32, stride int, cols *[8][]float32, n int) (p [8]*float32) {
	_ = dst[(n-1)*stride+7]
	for c := range p {
		p[c] = &cols[c][:n][0]
	}
	return p
}

// interleave8Tail is interleave8 of values n to kc, in Go (after an assembly version's blocks).
func interleave8Tail(dst []float32, stride int, cols *[8][]float32, n, kc int) {
	if n >= kc {
		return
	}
	var rest [8][]float32
	for c := range rest {
		rest[c] = cols[c][n:kc]
	}
	interleave8Go(dst[n*stride:], stride, &rest, kc-n)
}

func interleave8Go(dst []float32, stride int, cols *[8][]float32, kc int) {
	c0, c1, c2, c3 := cols[0][:kc], cols[1][:kc], cols[2][:kc], cols[3][:kc]
	c4, c5, c6, c7 := cols[4][:kc], cols[5][:kc], cols[6][:kc], cols[7][:kc]
	for p := 0; p < kc; p++ {
		seg := dst[p*stride : p*stride+8 : p*stride+8]
		seg[0], seg[1], seg[2], seg[3] = c0[p], c1[p], c2[p], c3[p]
		seg[4], seg[5], seg[6], seg[7] = c4[p], c5[p], c6[p], c7[p]
	}
}
