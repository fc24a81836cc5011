package cpu

import (
	"fmt"

	"github.com/graphtrain/graphtrain/internal/gemm"
	"github.com/graphtrain/graphtrain/internal/parallel"
	"github.com/graphtrain/graphtrain/internal/vec"
	"github.com/graphtrain/graphtrain/ir"
)

// The fused convolutions (Conv, ConvData, ConvFilter, ConvReLU, ConvReLUPool and
// ConvReLUPoolBack) run image by image: each worker works on one image in buffers of its own
// (a few dozen KiB, in cache), its columns K = C·kh·kw rows over the output's positions, and
// multiplies them with the filters there. Images in and out stay in (B, C, H, W) order, so
// no transpose is needed either side: the product of the filters [Cout, K] with an image's
// columns [K, positions] is that image's output [Cout, positions].

// filterGroup is the number of images whose filter gradients one piece of work sums; the
// groups' sums are then added in group order, so the result does not depend on the workers.
const filterGroup = 8

// serial runs a product on the calling worker alone.
var serial = parallel.New(1)

// matmul is C (+)= op(A)·op(B) on worker w's packing buffers, as gemm.Sgemm defines it.
type matmul[T float] func(w int, ta, tb bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, acc bool)

// colsMatmul is C (+)= A·B with B's columns starting at b[off[j]], as gemm.SgemmCols
// defines it.
type colsMatmul[T float] func(w int, ta bool, m, n, k int, a []T, lda int, b []T, off []int, c []T, ldc int, acc bool)

// rowsMatmul is C (+)= A·B with A's rows starting at a[off[i]] and B row-major, as
// gemm.SgemmARows defines it.
type rowsMatmul[T float] func(w int, m, n, k int, a []T, off []int, b []T, ldb int, c []T, ldc int, acc bool)

// products are the kinds of product the convolutions make: plain, with B's columns at
// offsets (gemm.SgemmCols), with B's rows at offsets (gemm.SgemmRows; the same type), and,
// where the GEMM has a kernel that reads them in place (aRowsNR, the n it needs a multiple
// of; 0: none), with A's rows at offsets (gemm.SgemmARows).
type products[T float] struct {
	mm         matmul[T]
	cols, rows colsMatmul[T]
	aRows      rowsMatmul[T]
	aRowsNR    int
}

// convJob is one fused convolution launch. At unit strides and dilations (the cnn's) an
// image is first copied into zero-padded planes of width Wp, and the output is computed
// over the grid of OH rows of Wp positions (the last Wp − OW of each row are thrown away):
// there the column row of tap (c, r, q) is the padded image from offset c·plane + r·Wp + q
// on, read in place by the products, and an image gradient is one product over the output
// gradient's planes read the same way (planDirect). Any other geometry lays its columns out
// position by position (imRows, rowsIm).
type convJob[T float] struct {
	g          conv
	cout, K, P int
	unit       bool
	Wp, plane  int // unit: the padded planes' width and size
	gw, Pg     int // the grid's width (Wp, or OW) and its positions: OH·gw (unit: rounded up to 32)
	op         ir.Op
	in, w      []T // Conv: img and w; ConvData: dout and w; ConvFilter: dout and img
	bias, out  []T
	mask       []T // ConvReLU: (pre ≥ 0) as 1 or 0
	route      []T // ConvReLUPool, ConvReLUPoolBack: each window's route
	pool       pool2
	dpooled    []T // ConvReLUPoolBack: the pooled output's gradient
	db, dimg   []T // ConvReLUPoolBack: the bias and (or nil) the image gradients; out is dw
	wb         []T // Conv: the filters with the bias as a last column, transposed: [K+1, cout]
	scr        []convScratch[T]
	part       []T // ConvFilter: each group's sum, [groups][cout·K]; ConvReLUPoolBack: [groups][cout·(K+1)], the bias's last (partT: [groups][(K+1)·cout])
	partT      bool
	// unpool: routeGrid writes the grid with vec.Unpool2 (float32, 2x2 windows, a
	// vectorised Unpool2), then gridT from it, 8 channels at a time (gemm.Interleave8; its
	// rows ldT apart, the channels rounded up to 8, the extra ones from zeros). Otherwise
	// the grid is cleared and the routed places written one by one, onto gridT directly
	// (ldT = cout) where the filter gradient's product reads it.
	unpool bool
	ldT    int
	zeros  []T // unpool: Pg zeros, the channels past cout of gridT's rows
	aRows  rowsMatmul[T]
	mm     matmul[T]
	mmCols colsMatmul[T]
	mmRows colsMatmul[T]
	offs   []int // unit: where tap k's row starts in the padded planes (k = K: the ones after them)
	// The image gradient as one product at unit geometry (ConvData, ConvReLUPoolBack with
	// dimg; see dataProduct): the output gradient's planes in dg, each dgAt zeros then the
	// grid, dgPlane apart; row (o, r, q) of the product's B at offsD[(o·kh + r)·kw + q]; the
	// filters as its A, wd ([cout·kh·kw, C]); Pn positions of the padded image a channel.
	direct            bool
	dgAt, dgPlane, Pn int
	offsD             []int
	wd                []T
}

// convScratch is one worker's: the padded image (then, at unit geometry, kw zeros and a
// row of Pg ones), the columns (other geometries: K rows of Pg, then a row of ones that
// multiplies the bias), the output or output gradient over the grid and (ConvReLU) the ReLU's
// mask over the grid, and at unit geometry the image gradient's planes of the output gradient
// and its padded result (dg, dout: planDirect).
type convScratch[T float] struct{ pad, col, grid, gridT, mask, dg, dout []T }

// convParams decodes a fused convolution launch's parameters: a Conv's, ConvData's,
// ConvFilter's or ConvReLU's (Pool zero), or a ConvReLUPool's or ConvReLUPoolBack's, whose
// kernels pool the convolution's own output in 2x2 windows at stride 2.
func convParams(l ir.Launch) (ir.ConvPoolParams, error) {
	if l.Op != ir.ConvReLUPool && l.Op != ir.ConvReLUPoolBack {
		c, err := l.ConvParams()
		return ir.ConvPoolParams{Conv: c}, err
	}
	if l.Op == ir.ConvReLUPoolBack && len(l.Args) != 6 && len(l.Args) != 7 {
		return ir.ConvPoolParams{}, fmt.Errorf("%s wants 6 or 7 buffers, has %d", l.Op, len(l.Args))
	}
	p, err := l.ConvPoolParams()
	if err != nil {
		return p, err
	}
	c, g := p.Conv, poolOf(p.Pool)
	if !g.halves() || g.B != c.B || g.C != c.Cout || g.H != c.OH || g.W != c.OW {
		return p, fmt.Errorf("%s: no CPU kernel pools a %dx%d output of %d channels with %+v", l.Op, c.OH, c.OW, c.Cout, p.Pool)
	}
	return p, nil
}

// convKernel compiles a launch of one of the fused convolutions, its parameters p (from
// convParams), over its buffers.
func convKernel[T float](pool *parallel.Pool, l ir.Launch, p ir.ConvPoolParams, a func(int) []T, pr products[T]) func() {
	j := newConvJob(l.Op, p, pr)
	j.bind(a, len(l.Args))
	j.planDirect()
	j.alloc(pool.Size())
	g := j.g
	n := g.B
	switch l.Op {
	case ir.ConvFilter:
		n = (g.B + filterGroup - 1) / filterGroup
		j.part = make([]T, n*j.cout*j.K)
	case ir.ConvReLUPoolBack:
		n = (g.B + filterGroup - 1) / filterGroup
		j.part = make([]T, n*j.cout*(j.K+1))
	}
	j.warm()
	return func() {
		if j.direct {
			j.filtersForData()
		}
		if j.wb != nil {
			// Transposed, so that the products read it in place, unpacked.
			for o := 0; o < j.cout; o++ {
				for k, v := range j.w[o*j.K : (o+1)*j.K] {
					j.wb[k*j.cout+o] = v
				}
				j.wb[j.K*j.cout+o] = j.bias[o]
			}
		}
		pool.RunWorkers(n, j)
		switch j.op {
		case ir.ConvFilter:
			j.sumGroups(n)
		case ir.ConvReLUPoolBack:
			j.sumBackGroups(n)
		}
	}
}

// convSplitKernel compiles a ConvFilterSplit (the CUDA target's): a ConvFilter kernel for
// each part, over the part's images into its own partial gradient, run one after another.
func convSplitKernel[T float](pool *parallel.Pool, l ir.Launch, a func(int) []T, pr products[T]) (func(), error) {
	sp, err := l.ConvSplitParams()
	if err != nil {
		return nil, err
	}
	filt := sp.Conv.Cout * sp.Conv.C * sp.Conv.KH * sp.Conv.KW
	parts := filterParts(pool, l.Dtype, sp.Conv, sp.Images, a(0), a(1), func(z int) []T { return a(2)[z*filt : (z+1)*filt] }, pr)
	return func() {
		for _, f := range parts {
			f()
		}
	}, nil
}

// filterParts compiles a ConvFilter kernel for each part of images images of the convolution
// c, from dout and img into dw(z), the part's filter gradient.
func filterParts[T float](pool *parallel.Pool, dtype ir.Dtype, c ir.ConvParams, images int, dout, img []T, dw func(z int) []T, pr products[T]) []func() {
	in, out := c.C*c.H*c.W, c.Cout*c.OH*c.OW
	var parts []func()
	for z := 0; z*images < c.B; z++ {
		b0, b1 := z*images, min(c.B, (z+1)*images)
		q := c
		q.B = b1 - b0
		views := [][]T{dout[b0*out : b1*out], img[b0*in : b1*in], dw(z)}
		pl := ir.Launch{Op: ir.ConvFilter, Dtype: dtype, Args: make([]int, 3), Ints: q.Ints()}
		parts = append(parts, convKernel(pool, pl, ir.ConvPoolParams{Conv: q}, func(i int) []T { return views[i] }, pr))
	}
	return parts
}

// routeFilterKernel compiles a RouteFilter (the CUDA target's): the routed gradient into a
// buffer of its own, then for each part its ConvFilter and, in the last column of each
// channel, the sum of its routed gradient.
func routeFilterKernel[T float](pool *parallel.Pool, l ir.Launch, a func(int) []T, pr products[T]) (func(), error) {
	rp, err := l.RouteFilterParams()
	if err != nil {
		return nil, err
	}
	c := rp.Conv
	K := c.C * c.KH * c.KW
	dpre, filt, P := make([]T, c.B*c.Cout*c.OH*c.OW), make([]T, c.Cout*K), a(3)
	route := poolRouteBack(pool, a(0), a(1), dpre, poolOf(rp.Pool))
	filters := filterParts(pool, l.Dtype, c, rp.Images, dpre, a(2), func(int) []T { return filt }, pr)
	var parts []func()
	for z, filter := range filters {
		b0, b1 := z*rp.Images, min(c.B, (z+1)*rp.Images)
		parts = append(parts, func() {
			filter()
			Pz := P[z*c.Cout*(K+1) : (z+1)*c.Cout*(K+1)]
			for o := range c.Cout {
				copy(Pz[o*(K+1):o*(K+1)+K], filt[o*K:(o+1)*K])
				s := 0.0
				for b := b0; b < b1; b++ {
					for _, v := range dpre[(b*c.Cout+o)*c.OH*c.OW:][:c.OH*c.OW] {
						s += float64(v)
					}
				}
				Pz[o*(K+1)+K] = T(s)
			}
		})
	}
	return func() {
		route()
		for _, f := range parts {
			f()
		}
	}, nil
}

// routeDataKernel compiles a RouteData (the CUDA target's): the routed gradient into a buffer
// of its own, then its ConvData.
func routeDataKernel[T float](pool *parallel.Pool, l ir.Launch, a func(int) []T, pr products[T]) (func(), error) {
	p, err := l.ConvPoolParams()
	if err != nil {
		return nil, err
	}
	c := p.Conv
	dpre := make([]T, c.B*c.Cout*c.OH*c.OW)
	route := poolRouteBack(pool, a(0), a(1), dpre, poolOf(p.Pool))
	views := [][]T{dpre, a(2), a(3)}
	pl := ir.Launch{Op: ir.ConvData, Dtype: l.Dtype, Args: make([]int, 3), Ints: c.Ints()}
	data := convKernel(pool, pl, ir.ConvPoolParams{Conv: c}, func(i int) []T { return views[i] }, pr)
	return func() { route(); data() }, nil
}

// filterSum compiles a FilterSum: each value of the parts summed in order of the parts.
func filterSum[T float](l ir.Launch, a func(int) []T) (func(), error) {
	p, err := l.FilterSumParams()
	if err != nil {
		return nil, err
	}
	P, dw, db := a(0), a(1), a(2)
	n := p.Cout * (p.K + 1)
	return func() {
		for i := range n {
			s := 0.0
			for z := range p.Parts {
				s += float64(P[z*n+i])
			}
			if o, k := i/(p.K+1), i%(p.K+1); k < p.K {
				dw[o*p.K+k] = T(s)
			} else {
				db[o] = T(s)
			}
		}
	}, nil
}

// newConvJob is the job of a fused convolution op with parameters p: its geometry and, at
// unit geometry, its grid over the padded planes.
func newConvJob[T float](op ir.Op, p ir.ConvPoolParams, pr products[T]) *convJob[T] {
	g := convOf(p.Conv.ConvGeom)
	j := &convJob[T]{g: g, cout: p.Conv.Cout, K: g.C * g.kh * g.kw, P: g.OH * g.OW, op: op, mm: pr.mm, mmCols: pr.cols, mmRows: pr.rows, aRows: pr.aRows, unit: g.unit()}
	if op == ir.ConvReLUPool || op == ir.ConvReLUPoolBack {
		j.pool = poolOf(p.Pool)
	}
	j.gw = g.OW
	if j.unit {
		j.Wp, j.plane = g.W+2*g.pw, (g.H+2*g.ph)*(g.W+2*g.pw)
		j.gw = j.Wp
	}
	j.Pg = g.OH * j.gw
	if j.unit {
		// A whole number of 32-value panels: the products' micro-kernels (NR 32 or 16) read
		// every panel in place, none is packed, and the rows' adds (image) have no
		// remainder. The grid's last positions, past the last row, are thrown away like
		// those past OW.
		j.Pg = (j.Pg + 31) &^ 31
		for c := 0; c < g.C; c++ {
			for r := 0; r < g.kh; r++ {
				for q := 0; q < g.kw; q++ {
					j.offs = append(j.offs, c*j.plane+r*j.Wp+q)
				}
			}
		}
		j.offs = append(j.offs, g.C*j.plane+g.kw)
		// The filter gradient transposed ((K+1) x cout) where a kernel reads the taps'
		// rows in place and cout fills its width (the LeNet's second layer: 16): neither
		// operand is packed (filterProduct).
		j.partT = op == ir.ConvReLUPoolBack && pr.aRowsNR > 0 && j.cout%pr.aRowsNR == 0
	}
	var zero T
	_, f32 := any(zero).(float32)
	j.setUnpool(op == ir.ConvReLUPoolBack && f32 && j.pool.halves() && vec.FastUnpool2() && !noUnpool)
	return j
}

// setUnpool sets unpool and what goes with it: gridT's rows ldT apart (the channels rounded
// up to 8 with it, else cout) and the zeros its extra channels are made from.
func (j *convJob[T]) setUnpool(on bool) {
	j.unpool, j.ldT, j.zeros = on, j.cout, nil
	if on {
		j.ldT = (j.cout + 7) &^ 7
		j.zeros = make([]T, j.Pg)
	}
}

// bind gives the job its launch's args buffers, a(i) the i-th.
func (j *convJob[T]) bind(a func(int) []T, args int) {
	j.in, j.w, j.out = a(0), a(1), a(args-1)
	switch j.op {
	case ir.Conv, ir.ConvReLU, ir.ConvReLUPool:
		j.bias = a(2)
		j.wb = make([]T, j.cout*(j.K+1))
	}
	switch j.op {
	case ir.ConvReLU:
		j.mask = a(3)
	case ir.ConvReLUPool:
		j.route = a(3)
	case ir.ConvReLUPoolBack:
		j.route, j.dpooled, j.in, j.w, j.out, j.db = a(0), a(1), a(2), a(3), a(4), a(5)
		if args == 7 {
			j.dimg = a(6)
		}
	}
}

// alloc makes each of the workers' scratch.
func (j *convJob[T]) alloc(workers int) {
	g := j.g
	j.scr = make([]convScratch[T], workers)
	for w := range j.scr {
		s := &j.scr[w]
		if j.unit {
			// The planes, kw zeros (the last row's taps read up to kw−1 past the planes),
			// then Pg ones: the column of the bias in the filter gradient's product.
			s.pad = make([]T, g.C*j.plane+g.kw+j.Pg)
			fill(s.pad[g.C*j.plane+g.kw:], 1)
		}
		if j.direct {
			s.dg, s.dout = make([]T, j.cout*j.dgPlane), make([]T, g.C*j.Pn)
		}
		if !j.unit {
			// The columns, read from the padded image in place at unit geometry.
			s.col = make([]T, (j.K+1)*j.Pg)
			fill(s.col[j.K*j.Pg:], 1)
		}
		s.grid = make([]T, j.cout*j.Pg+vec.PoolSlack) // MaxPool2ReLU reads whole vectors past a plane
		if j.unit && j.op == ir.ConvReLUPoolBack {
			s.gridT = make([]T, j.ldT*j.Pg)
		}
		if j.mask != nil || j.route != nil {
			s.mask = make([]T, j.cout*j.Pg)
		}
	}
}

// warm runs each worker's product once on its own scratch, so that every worker's packing
// buffers have their size before the first step: which worker gets which image changes from
// step to step, and a step must not allocate.
func (j *convJob[T]) warm() {
	K, cout := j.K, j.cout
	for w := range j.scr {
		s := &j.scr[w]
		switch j.op {
		case ir.ConvData:
			j.warmData(w, s)
		case ir.ConvFilter:
			j.filterProduct(w, s, make([]T, j.g.C*j.g.H*j.g.W), j.part[:cout*K], K, false)
		case ir.ConvReLUPoolBack:
			j.filterProduct(w, s, make([]T, j.g.C*j.g.H*j.g.W), j.part[:cout*(K+1)], K+1, false)
			if j.dimg != nil {
				j.warmData(w, s)
			}
		default:
			j.forwardProduct(w, s, make([]T, j.g.C*j.g.H*j.g.W))
		}
	}
}

// forwardProduct is s.grid = filters·columns for one image, the bias by the row of ones. At
// unit geometry the columns are read straight from the padded image (gemm.SgemmRows),
// never laid out.
func (j *convJob[T]) forwardProduct(w int, s *convScratch[T], img []T) {
	if j.unit {
		j.padImage(s, img)
		j.mmRows(w, true, j.cout, j.Pg, j.K+1, j.wb, j.cout, s.pad, j.offs, s.grid, j.Pg, false)
		return
	}
	j.columns(s, img)
	j.mm(w, true, false, j.cout, j.Pg, j.K+1, j.wb, j.cout, s.col, j.Pg, s.grid, j.Pg, false)
}

func (j *convJob[T]) DoWorker(w, i int) {
	g, K, P, cout, Pg := &j.g, j.K, j.P, j.cout, j.Pg
	img := g.C * g.H * g.W
	s := &j.scr[w]
	switch j.op {
	case ir.Conv, ir.ConvReLU, ir.ConvReLUPool:
		j.forwardProduct(w, s, j.in[i*img:][:img])
		if j.route != nil {
			n := cout * j.pool.OH * j.pool.OW
			if pre, ok := any(s.grid).([]float32); ok {
				j.poolGrid32(pre, any(j.route[i*n:][:n]).([]float32), any(j.out[i*n:][:n]).([]float32))
				return
			}
			reluMask(s.mask, s.grid[:len(s.mask)])
			j.poolGrid(s, j.route[i*n:][:n], j.out[i*n:][:n])
			return
		}
		if j.mask != nil {
			reluMask(s.mask, s.grid[:len(s.mask)])
			j.fromGrid(s.mask, j.mask[i*cout*P:][:cout*P])
		}
		j.fromGrid(s.grid, j.out[i*cout*P:][:cout*P])
	case ir.ConvData:
		if j.direct {
			j.toDataGrid(j.in[i*cout*P:][:cout*P], s.dg)
			j.dataProduct(w, s, j.out[i*img:][:img])
			return
		}
		j.toGrid(j.in[i*cout*P:][:cout*P], s.grid)
		j.mm(w, true, false, K, Pg, cout, j.w, K, s.grid, Pg, s.col, Pg, false)
		rowsIm(g, s.col, j.out[i*img:][:img])
	case ir.ConvFilter:
		part := j.part[i*cout*K:][:cout*K]
		for b := i * filterGroup; b < min(g.B, (i+1)*filterGroup); b++ {
			j.toGrid(j.in[b*cout*P:][:cout*P], s.grid)
			j.filterProduct(w, s, j.w[b*img:][:img], part, K, b > i*filterGroup)
		}
	case ir.ConvReLUPoolBack:
		// Per image: the routed gradient on the grid, its product with the columns and
		// their row of ones (the filter and bias gradients, summed over the group), then
		// its product with the filters (the image gradient).
		part := j.part[i*cout*(K+1):][:cout*(K+1)]
		n := cout * j.pool.OH * j.pool.OW
		for b := i * filterGroup; b < min(g.B, (i+1)*filterGroup); b++ {
			var grid []T
			stride := Pg
			switch {
			case j.direct:
				grid, stride = s.dg[j.dgAt:], j.dgPlane
			case s.gridT == nil || j.unpool: // the filter gradient's product reads grid, or gridT made from it
				grid = s.grid
			}
			j.routeGrid(j.route[b*n:][:n], j.dpooled[b*n:][:n], grid, stride, s.gridT)
			j.filterProduct(w, s, j.in[b*img:][:img], part, K+1, b > i*filterGroup)
			switch {
			case j.direct:
				j.dataProduct(w, s, j.dimg[b*img:][:img])
			case j.dimg != nil:
				j.mm(w, true, false, K, Pg, cout, j.w, K, s.grid, Pg, s.col, Pg, false)
				rowsIm(g, s.col, j.dimg[b*img:][:img])
			}
		}
	}
}

// sumBackGroups adds the groups' filter and bias gradients, in group order.
func (j *convJob[T]) sumBackGroups(groups int) {
	K1 := j.K + 1
	if j.partT {
		cout := j.cout
		for o := 0; o < cout; o++ {
			dw := j.out[o*j.K:][:j.K]
			for k := range dw {
				dw[k] = j.part[k*cout+o]
			}
			db := j.part[j.K*cout+o]
			for i := 1; i < groups; i++ {
				pt := j.part[i*K1*cout:][:K1*cout]
				for k := range dw {
					dw[k] += pt[k*cout+o]
				}
				db += pt[j.K*cout+o]
			}
			j.db[o] = db
		}
		return
	}
	for o := 0; o < j.cout; o++ {
		dw := j.out[o*j.K:][:j.K]
		copy(dw, j.part[o*K1:][:j.K])
		db := j.part[o*K1+j.K]
		for i := 1; i < groups; i++ {
			row := j.part[(i*j.cout+o)*K1:][:K1]
			addTo(dw, row[:j.K])
			db += row[j.K]
		}
		j.db[o] = db
	}
}

// routeCodes are the routes as values, by place and mask.
var routeCodes = [8]float32{0, 1, 2, 3, 4, 5, 6, 7}

// routeGrid puts one image's pooled gradient on the grid, at each window's routed place
// times the mask the route carries (PoolRouteBack), zeros elsewhere: on grid ([cout, Pg]),
// on gridT (its transpose, [Pg, ldT]), or both; either may be nil but grid when j.unpool
// (gridT is then made from it). grid's planes are stride apart (Pg, or the image gradient's
// dgPlane).
func (j *convJob[T]) routeGrid(route, dpooled, grid []T, stride int, gridT []T) {
	p, gw, cout := &j.pool, j.gw, j.cout
	if j.unpool {
		g32 := any(grid).([]float32)
		// Every place of every window written (vec.Unpool2), so nothing is cleared: what
		// no window covers (past 2·OW in a row, past 2·OH rows, the planes' margins) is
		// zero from alloc, and nothing else writes it. gridT, where there is one, is then
		// grid transposed, 8 channels at a time.
		n := p.OH * p.OW
		r32, d32 := any(route).([]float32), any(dpooled).([]float32)
		for o := 0; o < cout; o++ {
			vec.Unpool2(g32[o*stride:], r32[o*n:], d32[o*n:], gw, p.OH, p.OW)
		}
		if gridT != nil {
			t32 := any(gridT).([]float32)
			var cols [8][]float32
			for o0 := 0; o0 < cout; o0 += 8 {
				for c := range cols {
					if o0+c < cout {
						cols[c] = g32[(o0+c)*stride:][:j.Pg]
					} else {
						cols[c] = any(j.zeros).([]float32)
					}
				}
				gemm.Interleave8(t32[o0:], j.ldT, &cols, j.Pg)
			}
		}
		return
	}
	clear(grid)
	clear(gridT)
	if p.halves() {
		// By table, without a branch on the route: its place in the window as an offset on
		// the grid (row, column) and its mask; a row of windows at a time, each write's
		// place from the row's start.
		var at, atT [8]int
		var open [8]T
		for r := range 8 {
			at[r] = (r>>1&1)*gw + r&1
			atT[r] = at[r] * cout
			if r < 4 {
				open[r] = 1
			}
		}
		n := p.OH * p.OW
		for o := 0; o < cout; o++ {
			for y := 0; y < p.OH; y++ {
				rt, dp := route[o*n+y*p.OW:][:p.OW], dpooled[o*n+y*p.OW:][:p.OW]
				if grid != nil {
					row := grid[o*stride+2*y*gw:]
					for x, r := range rt {
						if place := uint(int(r)); place < 8 { // else no maximum in the window
							row[2*x+at[place]] = open[place] * dp[x]
						}
					}
				}
				if gridT != nil {
					row := gridT[2*y*gw*cout+o:]
					for x, r := range rt {
						if place := uint(int(r)); place < 8 {
							row[2*x*cout+atT[place]] = open[place] * dp[x]
						}
					}
				}
			}
		}
		return
	}
	kk := p.kh * p.kw
	for o := 0; o < cout; o++ {
		for y := 0; y < p.OH; y++ {
			rt, dp := route[(o*p.OH+y)*p.OW:][:p.OW], dpooled[(o*p.OH+y)*p.OW:][:p.OW]
			for x, r := range rt {
				place := int(r)
				var m T = 1
				if place >= kk {
					place, m = place-kk, 0
				}
				ih, iw := y*p.sh-p.ph+place/p.kw, x*p.sw-p.pw+place%p.kw
				if place < 0 || ih < 0 || ih >= p.H || iw < 0 || iw >= p.W {
					continue
				}
				at, v := ih*gw+iw, m*dp[x]
				if grid != nil {
					grid[o*stride+at] += v
				}
				if gridT != nil {
					gridT[at*cout+o] += v
				}
			}
		}
	}
}

// planDirect decides whether the image gradient is one product (unit geometry: ConvData,
// and ConvReLUPoolBack when it has one) and lays out its planes. The image gradient's value
// at position p of a padded plane (Hp x Wp) is Σ over (o, r, q) of w[o, c, r, q] times the
// output gradient at p − r·Wp − q: the output gradient on the grid (rows Wp wide, zeros past
// OW, and OW + kw − 1 = Wp) read at those offsets from a plane with (kh−1)·Wp + kw − 1 zeros
// before it and zeros after its OH rows. So B's row (o, r, q) starts at o·dgPlane + dgAt −
// r·Wp − q (gemm.SgemmRows reads it in place), A is the filters, and the product is the
// padded image's gradient, channels by positions, in one pass over k = cout·kh·kw; the
// columns' product (K x positions over cout) and their sum back into the planes took twice
// as long on the LeNet's second layer.
func (j *convJob[T]) planDirect() {
	g := &j.g
	j.direct = j.unit && (j.op == ir.ConvData || j.op == ir.ConvReLUPoolBack && j.dimg != nil)
	if !j.direct {
		return
	}
	j.Pn = ((g.H+2*g.ph)*j.Wp + 31) &^ 31
	j.dgAt = (g.kh-1)*j.Wp + g.kw - 1
	j.dgPlane = j.dgAt + j.Pn
	for o := 0; o < j.cout; o++ {
		for r := 0; r < g.kh; r++ {
			for q := 0; q < g.kw; q++ {
				j.offsD = append(j.offsD, o*j.dgPlane+j.dgAt-r*j.Wp-q)
			}
		}
	}
	j.wd = make([]T, j.cout*j.K)
}

// filtersForData lays the filters out as the image gradient's A: wd[(o·kh + r)·kw + q, c] =
// w[o, c, r, q].
func (j *convJob[T]) filtersForData() {
	g := &j.g
	taps := g.kh * g.kw
	for o := 0; o < j.cout; o++ {
		for c := 0; c < g.C; c++ {
			for t, v := range j.w[(o*g.C+c)*taps:][:taps] {
				j.wd[(o*taps+t)*g.C+c] = v
			}
		}
	}
}

// toDataGrid copies one image's output gradient (cout, OH, OW) into the planes of dg (the
// rest of them zero).
func (j *convJob[T]) toDataGrid(x, dg []T) {
	g := &j.g
	clear(dg)
	for o := 0; o < j.cout; o++ {
		for y := 0; y < g.OH; y++ {
			copy(dg[o*j.dgPlane+j.dgAt+y*j.Wp:][:g.OW], x[(o*g.OH+y)*g.OW:])
		}
	}
}

// dataProduct is one image's gradient from the output gradient in s.dg (planDirect): the
// product over the padded planes, then their inside copied out.
func (j *convJob[T]) dataProduct(w int, s *convScratch[T], img []T) {
	g := &j.g
	j.mmRows(w, true, g.C, j.Pn, j.cout*g.kh*g.kw, j.wd, g.C, s.dg, j.offsD, s.dout, j.Pn, false)
	for c := 0; c < g.C; c++ {
		for h := 0; h < g.H; h++ {
			copy(img[(c*g.H+h)*g.W:][:g.W], s.dout[c*j.Pn+(h+g.ph)*j.Wp+g.pw:])
		}
	}
}

// warmData runs the image gradient's product once on worker w's scratch (see warm).
func (j *convJob[T]) warmData(w int, s *convScratch[T]) {
	if j.direct {
		j.mmRows(w, true, j.g.C, j.Pn, len(j.offsD), j.wd, j.g.C, s.dg, j.offsD, s.dout, j.Pn, false)
		return
	}
	K, cout, Pg := j.K, j.cout, j.Pg
	j.mm(w, true, false, K, Pg, cout, make([]T, cout*K), K, s.grid, Pg, s.col, Pg, false)
}

// columns writes the first K rows of s.col for one image (geometries other than unit, whose
// products read the padded image in place).
func (j *convJob[T]) columns(s *convScratch[T], img []T) { imRows(&j.g, img, s.col) }

// padImage copies one image into the padded planes (unit geometry).
func (j *convJob[T]) padImage(s *convScratch[T], img []T) {
	g := &j.g
	if g.ph == 0 && g.pw == 0 {
		copy(s.pad, img)
		return
	}
	for c := 0; c < g.C; c++ {
		for h := 0; h < g.H; h++ {
			copy(s.pad[c*j.plane+(h+g.ph)*j.Wp+g.pw:][:g.W], img[(c*g.H+h)*g.W:][:g.W])
		}
	}
}

// filterProduct adds (or, first, sets) part += grid·colsᵀ (from s.gridT where there is one)
// for one image: the filter
// gradient, and its bias in a last column when n = K+1. At unit geometry the columns are
// read straight from the padded image, never laid out.
func (j *convJob[T]) filterProduct(w int, s *convScratch[T], img, part []T, n int, acc bool) {
	if j.unit {
		j.padImage(s, img)
		if j.partT {
			// partᵀ += cols·gridT: A's row k (tap k) is the padded image from offs[k], B
			// is gridT in place; the same sums in the same order as the product below.
			j.aRows(w, n, j.cout, j.Pg, s.pad, j.offs[:n], s.gridT, j.ldT, part, j.cout, acc)
			return
		}
		if s.gridT != nil { // the transposed grid is read in place, unpacked
			j.mmCols(w, true, j.cout, n, j.Pg, s.gridT, j.ldT, s.pad, j.offs[:n], part, n, acc)
		} else {
			j.mmCols(w, false, j.cout, n, j.Pg, s.grid, j.Pg, s.pad, j.offs[:n], part, n, acc)
		}
		return
	}
	j.columns(s, img)
	j.mm(w, false, true, j.cout, n, j.Pg, s.grid, j.Pg, s.col, j.Pg, part, n, acc)
}

// poolGrid pools one image's activation on the grid in 2x2 windows at stride 2 (the only
// pooling the lowering fuses), writing each window's maximum and its route.
func (j *convJob[T]) poolGrid(s *convScratch[T], route, pooled []T) {
	OH, OW, gw := j.pool.OH, j.pool.OW, j.gw
	for o := 0; o < j.cout; o++ {
		act, mask := s.grid[o*j.Pg:][:j.Pg], s.mask[o*j.Pg:][:j.Pg]
		for y := 0; y < OH; y++ {
			r0, r1 := act[2*y*gw:][:2*OW], act[(2*y+1)*gw:][:2*OW]
			m0, m1 := mask[2*y*gw:][:2*OW], mask[(2*y+1)*gw:][:2*OW]
			pr, rr := pooled[(o*OH+y)*OW:][:OW], route[(o*OH+y)*OW:][:OW]
			for x := range pr {
				a, b, c, e := r0[2*x], r0[2*x+1], r1[2*x], r1[2*x+1]
				m := max4(a, b, c, e)
				t := firstMax(a, b, c, e, m)
				pr[x] = m
				// The place, plus 4 where the mask there is 0: the four masks as bits, no
				// load from a place that depends on t.
				bits := int(m0[2*x]) | int(m0[2*x+1])<<1 | int(m1[2*x])<<2 | int(m1[2*x+1])<<3
				rr[x] = T(routeCodes[t+4-4*(bits>>t&1)])
			}
		}
	}
}

// poolGrid32 is the ReLU and poolGrid at once for float32, straight from the products on
// the grid, on SIMD (vec.MaxPool2ReLU): a channel a call.
func (j *convJob[T]) poolGrid32(pre, route, pooled []float32) {
	OH, OW := j.pool.OH, j.pool.OW
	for o := 0; o < j.cout; o++ {
		vec.MaxPool2ReLU(pooled[o*OH*OW:][:OH*OW], route[o*OH*OW:][:OH*OW], pre[o*j.Pg:], j.gw, OH, OW)
	}
}

// toGrid copies one image's output gradient (cout, OH, OW) onto the grid; the grid's
// positions past OW stay zero.
func (j *convJob[T]) toGrid(x, grid []T) {
	g := &j.g
	if j.gw == g.OW {
		copy(grid, x)
		return
	}
	for o := 0; o < j.cout; o++ {
		for y := 0; y < g.OH; y++ {
			copy(grid[o*j.Pg+y*j.gw:][:g.OW], x[(o*g.OH+y)*g.OW:])
		}
	}
}

// fromGrid copies one image's output off the grid.
func (j *convJob[T]) fromGrid(grid, x []T) {
	g := &j.g
	if j.gw == g.OW {
		copy(x, grid)
		return
	}
	for o := 0; o < j.cout; o++ {
		for y := 0; y < g.OH; y++ {
			copy(x[(o*g.OH+y)*g.OW:][:g.OW], grid[o*j.Pg+y*j.gw:])
		}
	}
}

// sumGroups adds the groups' filter gradients, in group order.
func (j *convJob[T]) sumGroups(groups int) {
	n := j.cout * j.K
	copy(j.out, j.part[:n])
	for i := 1; i < groups; i++ {
		addTo(j.out[:n], j.part[i*n:][:n])
	}
}

// reluMask sets mask = (x ≥ 0) as 1 or 0, then x = x ⊙ mask, as the Binary launches that
// ConvReLU replaces compute them.
func reluMask[T float](mask, x []T) {
	if f, ok := any(x).([]float32); ok {
		m := any(mask).([]float32)
		vec.GeZeroMask(m, f)
		vec.MaskMul(f, m, f)
		return
	}
	mask = mask[:len(x)]
	for i, v := range x {
		mask[i] = 0
		if v >= 0 {
			mask[i] = 1
		}
		x[i] = v * mask[i]
	}
}

func fill[T float](x []T, v T) {
	for i := range x {
		x[i] = v
	}
}

// addTo is dst += src.
func addTo[T float](dst, src []T) {
	switch d := any(dst).(type) {
	case []float32:
		vec.Add(d, d, any(src).([]float32))
	default:
		src = src[:len(dst)]
		for i, v := range src {
			dst[i] += v
		}
	}
}

// span is the range [lo, hi) of output columns x whose input column x·sw − pw + q·dw falls
// inside the image.
func (g *conv) span(q int) (lo, hi int) {
	off := q*g.dw - g.pw // iw = x·sw + off
	lo = max(0, ceilDiv(-off, g.sw))
	hi = min(g.OW, max(0, ceilDiv(g.W-off, g.sw)))
	return lo, max(lo, hi)
}

// ceilDiv is ⌈a/b⌉ for b > 0 and any a.
func ceilDiv(a, b int) int {
	if a <= 0 {
		return -(-a / b)
	}
	return (a + b - 1) / b
}

// imRows writes one image's columns as rows: row (c·kh + r)·kw + q holds, for each output
// position y·OW + x, pixel (c, y·sh − ph + r·dh, x·sw − pw + q·dw), or 0 outside the image.
func imRows[T float](g *conv, img, col []T) {
	P := g.OH * g.OW
	for c := 0; c < g.C; c++ {
		plane := img[c*g.H*g.W:][:g.H*g.W]
		for r := 0; r < g.kh; r++ {
			for q := 0; q < g.kw; q++ {
				row := col[((c*g.kh+r)*g.kw+q)*P:][:P]
				lo, hi := g.span(q)
				off := q*g.dw - g.pw
				for y := 0; y < g.OH; y++ {
					out := row[y*g.OW:][:g.OW]
					ih := y*g.sh - g.ph + r*g.dh
					if ih < 0 || ih >= g.H {
						clear(out)
						continue
					}
					clear(out[:lo])
					clear(out[hi:])
					src := plane[ih*g.W:][:g.W]
					if g.sw == 1 {
						copy(out[lo:hi], src[lo+off:])
						continue
					}
					for x := lo; x < hi; x++ {
						out[x] = src[x*g.sw+off]
					}
				}
			}
		}
	}
}

// rowsIm sums one image's column rows back where imRows took them: each pixel's terms in
// order of (c, r, q), then y.
func rowsIm[T float](g *conv, col, img []T) {
	P := g.OH * g.OW
	clear(img)
	for c := 0; c < g.C; c++ {
		plane := img[c*g.H*g.W:][:g.H*g.W]
		for r := 0; r < g.kh; r++ {
			for q := 0; q < g.kw; q++ {
				row := col[((c*g.kh+r)*g.kw+q)*P:][:P]
				lo, hi := g.span(q)
				off := q*g.dw - g.pw
				if lo >= hi {
					continue
				}
				for y := 0; y < g.OH; y++ {
					ih := y*g.sh - g.ph + r*g.dh
					if ih < 0 || ih >= g.H {
						continue
					}
					in := row[y*g.OW:][:g.OW]
					dst := plane[ih*g.W:][:g.W]
					if g.sw == 1 {
						addTo(dst[lo+off:hi+off], in[lo:hi])
						continue
					}
					for x := lo; x < hi; x++ {
						dst[x*g.sw+off] += in[x]
					}
				}
			}
		}
	}
}

// f32Products are the products on the packed GEMM, each worker with its own packing buffers.
func f32Products(workers int) products[float32] {
	ws := make([]*gemm.Workspace, workers)
	for w := range ws {
		ws[w] = gemm.NewWorkspace()
	}
	return products[float32]{
		mm: func(w int, ta, tb bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			ws[w].Sgemm(serial, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, gemm.Epilogue{Accumulate: acc})
		},
		cols: func(w int, ta bool, m, n, k int, a []float32, lda int, b []float32, off []int, c []float32, ldc int, acc bool) {
			ws[w].SgemmCols(serial, ta, m, n, k, a, lda, b, off, c, ldc, gemm.Epilogue{Accumulate: acc})
		},
		rows: func(w int, ta bool, m, n, k int, a []float32, lda int, b []float32, off []int, c []float32, ldc int, acc bool) {
			ws[w].SgemmRows(serial, ta, m, n, k, a, lda, b, off, c, ldc, gemm.Epilogue{Accumulate: acc})
		},
		aRows: func(w int, m, n, k int, a []float32, off []int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			ws[w].SgemmARows(m, n, k, a, off, b, ldb, c, ldc, acc)
		},
		aRowsNR: aRowsNR(),
	}
}

// noARows and noUnpool, set by tests, make the convolutions compiled next compute their
// filter gradients through gemm.SgemmCols alone, as where the GEMM has no rows kernel, and
// scatter the routed gradient place by place, as where vec.Unpool2 is not vectorised.
var noARows, noUnpool bool

// aRowsNR is gemm.ARowsNR unless noARows.
func aRowsNR() int {
	if noARows {
		return 0
	}
	return gemm.ARowsNR()
}

// refProducts are the products in plain loops (float64 programs).
func refProducts[T float]() products[T] {
	return products[T]{mm: refMatmul[T], cols: refColsMatmul[T], rows: refRowsMatmul[T]}
}

// refRowsMatmul is the rows product in plain loops: each element's terms in order of k.
func refRowsMatmul[T float](w int, ta bool, m, n, k int, a []T, lda int, b []T, off []int, c []T, ldc int, acc bool) {
	for i := 0; i < m; i++ {
		for jj := 0; jj < n; jj++ {
			var s T
			if acc {
				s = c[i*ldc+jj]
			}
			for p := 0; p < k; p++ {
				at := i*lda + p
				if ta {
					at = p*lda + i
				}
				s += a[at] * b[off[p]+jj]
			}
			c[i*ldc+jj] = s
		}
	}
}

// refColsMatmul is colsMatmul in plain loops: each element's terms in order of k.
func refColsMatmul[T float](w int, ta bool, m, n, k int, a []T, lda int, b []T, off []int, c []T, ldc int, acc bool) {
	for i := 0; i < m; i++ {
		for jj := 0; jj < n; jj++ {
			var s T
			if acc {
				s = c[i*ldc+jj]
			}
			col := b[off[jj]:][:k]
			for p, v := range col {
				if ta {
					s += a[p*lda+i] * v
				} else {
					s += a[i*lda+p] * v
				}
			}
			c[i*ldc+jj] = s
		}
	}
}

// refMatmul is matmul in plain loops (float64 programs): each element's terms in order of k.
func refMatmul[T float](w int, ta, tb bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, acc bool) {
	for i := 0; i < m; i++ {
		for jj := 0; jj < n; jj++ {
			var s T
			if acc {
				s = c[i*ldc+jj]
			}
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+jj
				if ta {
					ai = p*lda + i
				}
				if tb {
					bi = jj*ldb + p
				}
				s += a[ai] * b[bi]
			}
			c[i*ldc+jj] = s
		}
	}
}

// poolRouteBack sends each pooled gradient to its window's routed place, times the mask the
// route carries: one plane of images a piece of work.
func poolRouteBack[T float](pool *parallel.Pool, route, dpooled, dx []T, g pool2) func() {
	hw, ohw, kk := g.H*g.W, g.OH*g.OW, g.kh*g.kw
	if g.halves() {
		return forEach(pool, g.B*g.C, max(1, chunk/max(1, hw)), func(lo, hi int) {
			for bc := lo; bc < hi; bc++ {
				d := dx[bc*hw:][:hw]
				clear(d)
				for oh := 0; oh < g.OH; oh++ {
					rt, dp := route[bc*ohw+oh*g.OW:][:g.OW], dpooled[bc*ohw+oh*g.OW:][:g.OW]
					rows := [2][]T{d[2*oh*g.W:][:2*g.OW], d[(2*oh+1)*g.W:][:2*g.OW]}
					for ow, r := range rt {
						place := int(r)
						if uint(place) >= 8 {
							continue // no maximum in the window
						}
						var m T = 1
						if place >= 4 {
							m = 0
						}
						rows[place>>1&1][2*ow+place&1] = m * dp[ow]
					}
				}
			}
		})
	}
	return forEach(pool, g.B*g.C, max(1, chunk/max(1, hw)), func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			d := dx[bc*hw:][:hw]
			clear(d)
			rt, dp := route[bc*ohw:][:ohw], dpooled[bc*ohw:][:ohw]
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					place := int(rt[oh*g.OW+ow])
					var m T = 1
					if place >= kk {
						place, m = place-kk, 0
					}
					ih, iw := oh*g.sh-g.ph+place/g.kw, ow*g.sw-g.pw+place%g.kw
					if place < 0 || ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
						continue // no maximum in the window
					}
					d[ih*g.W+iw] += m * dp[oh*g.OW+ow]
				}
			}
		}
	})
}
