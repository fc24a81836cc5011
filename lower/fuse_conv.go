package lower

import (
	"fmt"

	"github.com/graphtrain/graphtrain/ir"
)

// fuseConv rewrites each convolution of a lowered program into the fused launches of a
// target with FuseConv: Im2col → GemmBias → Gather4 (channels second) becomes Conv;
// Gather4 (channels last) → Gemm with the filters → Col2im becomes ConvData; the product
// of that Gather4's transpose with Im2col's columns becomes ConvFilter. Then fuseReLU and
// fusePool fold the ReLU, the 2x2 pooling and their gradients around a Conv into
// ConvReLU, ConvReLUPool and ConvReLUPoolBack where the program has them. Launches whose
// output nothing reads any more (the columns, the channels-last gradient) are dropped,
// then the buffers no launch uses. A convolution of any other shape is left as it is.
func (l *lowering) fuseConv() {
	f := &convFuser{p: l.p, writer: map[int]int{}, refs: map[int]int{}, drop: make([]bool, len(l.p.Launches)), limit: l.target.ConvIndexLimit}
	for i, ln := range f.p.Launches {
		f.writer[ln.Args[len(ln.Args)-1]] = i
		for _, b := range ln.Args {
			f.refs[b]++
		}
	}
	for k := range f.p.Launches {
		switch ln := &f.p.Launches[k]; ln.Op {
		case ir.Gather4: // Im2col → GemmBias → channels second: Conv
			f.conv(ln)
		case ir.Gemm: // (channels last)ᵀ × columns: ConvFilter
			f.filter(ln)
		case ir.GemmSplit: // the same product in parts along K, and the sum of the parts
			f.filterParts(k)
		case ir.Col2im: // channels last × filters → Col2im: ConvData
			f.data(ln)
		}
	}
	l.fuseReLU(f.drop)
	l.fusePool(f.drop)
	l.dropLaunches(f.drop)
}

// convFuser finds the convolutions of a program: who writes each buffer, how many launches
// name it, and the launches the fused ones make redundant.
type convFuser struct {
	p      *ir.Program
	writer map[int]int // buffer -> the launch whose output it is
	refs   map[int]int // buffer -> launches that name it
	drop   []bool
	limit  int // the target's ConvIndexLimit
}

// fits reports whether the image, the output and the filters of a convolution of geometry g
// and cout output channels each hold fewer values than the target's ConvIndexLimit.
func (f *convFuser) fits(g ir.ConvGeom, cout int) bool {
	if f.limit == 0 {
		return true
	}
	sizes := []int64{int64(g.B) * int64(g.C) * int64(g.H) * int64(g.W), int64(g.B) * int64(cout) * int64(g.OH) * int64(g.OW),
		int64(cout) * int64(g.C) * int64(g.KH) * int64(g.KW)}
	for _, n := range sizes {
		if n >= int64(f.limit) {
			return false
		}
	}
	return true
}

// producer is the launch of op that writes buffer b, or nil.
func (f *convFuser) producer(b int, op ir.Op) *ir.Launch {
	if i, ok := f.writer[b]; ok && f.p.Launches[i].Op == op {
		return &f.p.Launches[i]
	}
	return nil
}

// geometry is the Im2col that writes col, and its geometry, when B·OH·OW = rows and C·kh·kw
// = cols; nil otherwise.
func (f *convFuser) geometry(col, rows, cols int) (*ir.Launch, ir.ConvGeom) {
	im := f.producer(col, ir.Im2col)
	if im == nil {
		return nil, ir.ConvGeom{}
	}
	g, err := im.ConvGeom()
	if err != nil || g.B*g.OH*g.OW != rows || g.C*g.KH*g.KW != cols {
		return nil, ir.ConvGeom{}
	}
	return im, g
}

// channelsLast is the NCHW buffer that a Gather4 writing buffer b read, when it put the
// channels of (B, Cout, OH, OW) last; -1 otherwise.
func (f *convFuser) channelsLast(b int, g ir.ConvGeom, cout int) int {
	t := f.producer(b, ir.Gather4)
	if t == nil {
		return -1
	}
	B, OH, OW := g.B, g.OH, g.OW
	want := ir.Gather4Params{N: B * cout * OH * OW, Dims: [4]int{B, OH, OW, cout}, Strides: [4]int{cout * OH * OW, OW, 1, OH * OW}}
	if got, err := t.Gather4Params(); err != nil || got != want {
		return -1
	}
	return t.Args[0]
}

// conv makes the Gather4 ln that puts the channels of a GemmBias of Im2col's columns second
// a Conv; of a Gemm (a convolution without a bias, as before a batch norm), a Conv with a
// constant bias of zeros.
func (f *convFuser) conv(ln *ir.Launch) {
	prod := ln.Args[0]
	gb := f.producer(prod, ir.GemmBias)
	if gb == nil {
		gb = f.producer(prod, ir.Gemm)
	}
	if gb == nil || f.refs[prod] != 2 {
		return
	}
	gp, err := gb.GemmParams()
	if err != nil || gp.TransA || !gp.TransB {
		return
	}
	m, cout, kk := gp.M, gp.N, gp.K
	im, g := f.geometry(gb.Args[0], m, kk)
	if im == nil || !f.fits(g, cout) {
		return
	}
	B, OH, OW := g.B, g.OH, g.OW
	want := ir.Gather4Params{N: B * cout * OH * OW, Dims: [4]int{B, cout, OH, OW}, Strides: [4]int{OH * OW * cout, 1, OW * cout, cout}}
	if got, err := ln.Gather4Params(); err != nil || got != want {
		return
	}
	bias := gb.Args[2]
	if gb.Op == ir.Gemm {
		f.p.Buffers = append(f.p.Buffers, ir.Buffer{Name: "zero bias", Kind: ir.Const, Elems: cout, Elem: f.p.Dtype.Size(), Value: make([]float64, cout)})
		bias = len(f.p.Buffers) - 1
	}
	f.drop[f.writer[prod]] = true
	*ln = ir.Launch{Op: ir.Conv, Dtype: ln.Dtype, Role: ln.Role, Node: ln.Node, What: "convolution with bias: " + im.What,
		Args: []int{im.Args[0], gb.Args[1], bias, ln.Args[1]}, Ints: ir.ConvParams{ConvGeom: g, Cout: cout}.Ints()}
}

// filter makes the Gemm ln of a channels-last gradient, transposed, with Im2col's columns a
// ConvFilter.
func (f *convFuser) filter(ln *ir.Launch) {
	gp, err := ln.GemmParams()
	if err != nil || !gp.TransA || gp.TransB {
		return
	}
	cout, kk, m := gp.M, gp.N, gp.K
	im, g := f.geometry(ln.Args[1], m, kk)
	if im == nil || !f.fits(g, cout) {
		return
	}
	dout := f.channelsLast(ln.Args[0], g, cout)
	if dout < 0 {
		return
	}
	*ln = ir.Launch{Op: ir.ConvFilter, Dtype: ln.Dtype, Role: ln.Role, Node: ln.Node, What: "filter gradient: " + ln.What,
		Args: []int{dout, im.Args[0], ln.Args[2]}, Ints: ir.ConvParams{ConvGeom: g, Cout: cout}.Ints()}
}

// filterParts makes the GemmSplit at launch k, a channels-last gradient's transpose times
// Im2col's columns in parts along K, and the ReduceSum of its parts a ConvFilter (which a
// target with SplitK cuts again, in whole images: splitFilters).
func (f *convFuser) filterParts(k int) {
	ln := &f.p.Launches[k]
	sp, err := ln.GemmSplitParams()
	part := ln.Args[2]
	if err != nil || f.refs[part] != 2 {
		return
	}
	for i := k + 1; i < len(f.p.Launches); i++ {
		sum := f.p.Launches[i]
		if sum.Op != ir.ReduceSum || sum.Args[0] != part {
			continue
		}
		rp, err := sum.ReduceSumParams()
		if err != nil || rp != (ir.ReduceSumParams{Outer: 1, Length: (sp.K + sp.KC - 1) / sp.KC, Inner: sp.M * sp.N}) {
			return
		}
		whole := ir.Launch{Op: ir.Gemm, Dtype: ln.Dtype, Role: ln.Role, Node: ln.Node, What: ln.What,
			Args: []int{ln.Args[0], ln.Args[1], sum.Args[1]}, Ints: sp.GemmParams.Ints()}
		f.filter(&whole)
		if whole.Op == ir.ConvFilter {
			*ln = whole
			f.drop[i] = true
		}
		return
	}
}

// data makes the Col2im ln of the product of a channels-last gradient with the filters a
// ConvData.
func (f *convFuser) data(ln *ir.Launch) {
	dcol := ln.Args[0]
	mm := f.producer(dcol, ir.Gemm)
	if mm == nil || f.refs[dcol] != 2 {
		return
	}
	gp, err := mm.GemmParams()
	if err != nil || gp.TransA || gp.TransB {
		return
	}
	g, err := ln.ConvGeom()
	if err != nil {
		return
	}
	m, kk, cout := gp.M, gp.N, gp.K
	if m != g.B*g.OH*g.OW || kk != g.C*g.KH*g.KW || !f.fits(g, cout) {
		return
	}
	dout := f.channelsLast(mm.Args[0], g, cout)
	if dout < 0 {
		return
	}
	f.drop[f.writer[dcol]] = true
	*ln = ir.Launch{Op: ir.ConvData, Dtype: ln.Dtype, Role: ln.Role, Node: ln.Node, What: "image gradient: " + ln.What,
		Args: []int{dout, mm.Args[1], ln.Args[1]}, Ints: ir.ConvParams{ConvGeom: g, Cout: cout}.Ints()}
}

// fusePool folds a MaxPool of 2x2 windows at stride 2 into the ConvReLU before it
// (ConvReLUPool) and its MaxPoolBackMask into a PoolRouteBack, where only those two read the
// activation and only the second the mask.
func (l *lowering) fusePool(drop []bool) {
	p := l.p
	readers := map[int][]int{}
	for i, ln := range p.Launches {
		if !drop[i] {
			for _, b := range ln.Inputs() {
				readers[b] = append(readers[b], i)
			}
		}
	}
	for i := range p.Launches {
		c := &p.Launches[i]
		if drop[i] || c.Op != ir.ConvReLU {
			continue
		}
		mask, act := c.Args[3], c.Args[4]
		r := readers[act]
		if len(r) != 2 || p.Launches[r[0]].Op != ir.MaxPool || p.Launches[r[1]].Op != ir.MaxPoolBackMask || len(readers[mask]) != 1 || readers[mask][0] != r[1] {
			continue
		}
		mp, mb := &p.Launches[r[0]], &p.Launches[r[1]]
		g, err := mp.PoolGeom()
		gb, errb := mb.PoolGeom()
		cp, errc := c.ConvParams()
		halves := g.KH == 2 && g.KW == 2 && g.PadH == 0 && g.PadW == 0 && g.StrideH == 2 && g.StrideW == 2
		if err != nil || errb != nil || errc != nil || !halves || mb.Args[0] != act || mb.Args[2] != mask || gb != g {
			continue
		}
		pooled := mp.Args[1]
		route := l.newBuf(ir.Buffer{Name: "pooling route: " + mp.What, Kind: ir.Temp, Elems: p.Buffers[pooled].Elems})
		*c = ir.Launch{Op: ir.ConvReLUPool, Dtype: c.Dtype, Role: c.Role, Node: mp.Node, What: c.What + ", " + mp.What,
			Args: []int{c.Args[0], c.Args[1], c.Args[2], route, pooled}, Ints: ir.ConvPoolParams{Conv: cp, Pool: g}.Ints()}
		drop[r[0]] = true
		*mb = ir.Launch{Op: ir.PoolRouteBack, Dtype: mb.Dtype, Role: mb.Role, Node: mb.Node, What: mb.What + ", routed",
			Args: []int{route, mb.Args[1], mb.Args[3]}, Ints: g.Ints()}
		switch {
		case l.target.FuseConvBack:
			l.fuseBack(drop, i, r[1], readers)
		case l.target.FuseRoutes:
			l.fuseRoutes(drop, i, r[1], readers)
		}
	}
}

// convBack is what reads a PoolRouteBack's output dpre, the gradient of ConvReLUPool c's
// pre-activation: the ConvFilter, the three ReduceSums of the bias gradient (over the columns,
// the rows, then the images) and the ConvData if there is one (else -1), when nothing else
// reads dpre or the partial sums.
type convBack struct {
	conv, route  ir.Launch // the ConvReLUPool and the PoolRouteBack
	cp           ir.ConvPoolParams
	filter, data int
	sums         []int
	db           int // the bias gradient: the last sum's output
}

// backOf finds the launches that read the output of the PoolRouteBack at launch rb, the
// backward of the ConvReLUPool at launch c; false when they are not exactly a convBack's.
func (l *lowering) backOf(c, rb int, readers map[int][]int) (convBack, bool) {
	p := l.p
	cv, pr := p.Launches[c], p.Launches[rb]
	cp, err := cv.ConvPoolParams()
	if err != nil {
		return convBack{}, false
	}
	dpre := pr.Args[2]
	B, Cout, OH, OW := cp.Conv.B, cp.Conv.Cout, cp.Conv.OH, cp.Conv.OW
	img, w := cv.Args[0], cv.Args[1]
	sameConv := func(ln ir.Launch) bool { q, err := ln.ConvParams(); return err == nil && q == cp.Conv }
	isSum := func(ln ir.Launch, want ir.ReduceSumParams) bool {
		q, err := ln.ReduceSumParams()
		return err == nil && q == want
	}
	b := convBack{conv: cv, route: pr, cp: cp, filter: -1, data: -1}
	for _, i := range readers[dpre] {
		ln := p.Launches[i]
		switch {
		case ln.Op == ir.ConvFilter && ln.Args[1] == img && sameConv(ln):
			b.filter = i
		case ln.Op == ir.ConvData && ln.Args[1] == w && sameConv(ln):
			b.data = i
		case ln.Op == ir.ReduceSum && isSum(ln, ir.ReduceSumParams{Outer: B * Cout * OH, Length: OW, Inner: 1}):
			b.sums = append(b.sums, i)
		case ln.Op == ir.Gather4 && len(readers[ln.Args[1]]) == 0:
			// A transpose that fed the products fuseConv replaced: dropped later.
		default:
			return convBack{}, false
		}
	}
	if b.filter < 0 || len(b.sums) != 1 {
		return convBack{}, false
	}
	// The chain of sums: each read by the next alone.
	for _, want := range []ir.ReduceSumParams{{Outer: B * Cout, Length: OH, Inner: 1}, {Outer: 1, Length: B, Inner: Cout}} {
		out := p.Launches[b.sums[len(b.sums)-1]].Args[1]
		r := readers[out]
		if len(r) != 1 || p.Launches[r[0]].Op != ir.ReduceSum || !isSum(p.Launches[r[0]], want) {
			return convBack{}, false
		}
		b.sums = append(b.sums, r[0])
	}
	b.db = p.Launches[b.sums[2]].Args[1]
	return b, true
}

// fuseBack folds into the PoolRouteBack at launch rb, the backward of ConvReLUPool c, the
// launches that read its gradient dpre (a convBack): one ConvReLUPoolBack.
func (l *lowering) fuseBack(drop []bool, c, rb int, readers map[int][]int) {
	p := l.p
	b, ok := l.backOf(c, rb, readers)
	if !ok {
		return
	}
	cv, pr, cp := b.conv, b.route, b.cp
	args := []int{pr.Args[0], pr.Args[1], cv.Args[0], cv.Args[1], p.Launches[b.filter].Args[2], b.db}
	what := "the backward of " + cv.What + ": filter and bias gradients"
	if b.data >= 0 {
		args = append(args, p.Launches[b.data].Args[2])
		drop[b.data] = true
		what += ", image gradient"
	}
	for _, i := range append(b.sums, b.filter) {
		drop[i] = true
	}
	p.Launches[rb] = ir.Launch{Op: ir.ConvReLUPoolBack, Dtype: pr.Dtype, Role: pr.Role, Node: pr.Node, What: what, Args: args, Ints: cp.Ints()}
}

// fuseRoutes makes the PoolRouteBack at launch rb, the backward of ConvReLUPool c, and the
// launches that read its gradient dpre (a convBack) read the route instead, where each
// runs with a grid of its own: a RouteFilter computes the filter and the bias gradients in
// parts of whole images (the target's SplitK.Images, the bias a tap of its own), a
// FilterSum adds the parts where the ConvFilter was, and a RouteData replaces the
// ConvData. dpre, four times the pooled gradient, is never stored, and the bias's three
// sums are gone.
func (l *lowering) fuseRoutes(drop []bool, c, rb int, readers map[int][]int) {
	p := l.p
	b, ok := l.backOf(c, rb, readers)
	if !ok {
		return
	}
	cv, pr, cp := b.conv, b.route, b.cp
	k := cp.Conv.C * cp.Conv.KH * cp.Conv.KW
	rp := ir.RouteFilterParams{ConvPoolParams: cp, Images: cp.Conv.B}
	if s := l.target.SplitK; s != nil {
		rp.Images = s.Images(cp.Conv.Cout, k+1, cp.Conv.B, cp.Conv.OH*cp.Conv.OW)
	}
	route, dpooled := pr.Args[0], pr.Args[1]
	parts := l.newBuf(ir.Buffer{Name: "filter and bias gradients in parts: " + cv.What, Kind: ir.Temp, Elems: rp.Parts() * cp.Conv.Cout * (k + 1)})
	fl := p.Launches[b.filter]
	p.Launches[rb] = ir.Launch{Op: ir.RouteFilter, Dtype: pr.Dtype, Role: pr.Role, Node: pr.Node,
		What: "filter and bias gradients through the route: " + cv.What, Args: []int{route, dpooled, cv.Args[0], parts}, Ints: rp.Ints()}
	p.Launches[b.filter] = ir.Launch{Op: ir.FilterSum, Dtype: fl.Dtype, Role: fl.Role, Node: fl.Node,
		What: "the sum of the parts: " + fl.What, Args: []int{parts, fl.Args[2], b.db},
		Ints: ir.FilterSumParams{Parts: rp.Parts(), Cout: cp.Conv.Cout, K: k}.Ints()}
	if b.data >= 0 {
		dl := &p.Launches[b.data]
		*dl = ir.Launch{Op: ir.RouteData, Dtype: dl.Dtype, Role: dl.Role, Node: dl.Node, What: dl.What + ", through the route",
			Args: []int{route, dpooled, cv.Args[1], dl.Args[2]}, Ints: cp.Ints()}
	}
	for _, i := range b.sums {
		drop[i] = true
	}
}

// fuseReLU folds the ReLU that follows a Conv (pre ≥ 0 into a mask, pre ⊙ mask) into a
// ConvReLU, and the one that follows a GemmBias into a GemmBiasReLU on a target with
// FuseDense, and the product of that mask with a MaxPoolBack's output into a
// MaxPoolBackMask, where nothing else reads pre or the pooled gradient.
func (l *lowering) fuseReLU(drop []bool) {
	p := l.p
	writer, readers := map[int]int{}, map[int][]int{}
	for i, ln := range p.Launches {
		if drop[i] {
			continue
		}
		out := ln.Args[len(ln.Args)-1]
		writer[out] = i
		for _, b := range ln.Inputs() {
			readers[b] = append(readers[b], i)
		}
	}
	zero := func(b int) bool {
		buf := p.Buffers[b]
		return buf.Kind == ir.Const && len(buf.Value) == 1 && buf.Value[0] == 0
	}
	keep := kept(p)
	fused := map[ir.Op]ir.Op{ir.Conv: ir.ConvReLU}
	if l.target.FuseDense {
		fused[ir.GemmBias] = ir.GemmBiasReLU
	}
	for i := range p.Launches {
		ln := &p.Launches[i]
		op, ok := fused[ln.Op]
		if drop[i] || !ok {
			continue
		}
		pre := ln.Args[3] // Conv's out, GemmBias's C
		r := readers[pre]
		if keep[pre] {
			continue
		}
		if len(r) != 2 || !isBinary(p.Launches[r[0]], ir.Ge, 1, 0) || !isBinary(p.Launches[r[1]], ir.Mul, 1, 1) {
			continue
		}
		ge, mul := p.Launches[r[0]], p.Launches[r[1]]
		mask := ge.Args[2]
		if ge.Args[0] != pre || !zero(ge.Args[1]) || !(mul.Args[0] == pre && mul.Args[1] == mask || mul.Args[0] == mask && mul.Args[1] == pre) {
			continue
		}
		drop[r[0]], drop[r[1]] = true, true
		ln.Op, ln.What = op, ln.What+", ReLU"
		ln.Args = []int{ln.Args[0], ln.Args[1], ln.Args[2], mask, mul.Args[2]}
	}
	l.fuseMaskBack(drop, writer, readers)
	if l.target.FuseDense {
		fuseMul(p, drop, writer, readers, keep)
	}
}

// fuseMul folds a Gemm whose output only an elementwise product (of the same size) reads,
// and that product, into a GemmMul in the product's place (the other factor may be written
// after the Gemm ran).
func fuseMul(p *ir.Program, drop []bool, writer map[int]int, readers map[int][]int, keep map[int]bool) {
	for i := range p.Launches {
		ln := &p.Launches[i]
		if drop[i] || !isBinary(*ln, ir.Mul, 1, 1) {
			continue
		}
		bp, _ := ln.BinaryParams()
		for k, prod := range ln.Args[:2] {
			w, ok := writer[prod]
			if !ok || drop[w] || p.Launches[w].Op != ir.Gemm || len(readers[prod]) != 1 || keep[prod] || ln.Args[1-k] == prod {
				continue
			}
			g := p.Launches[w]
			gp, err := g.GemmParams()
			if err != nil || gp.M*gp.N != bp.N || p.Buffers[ln.Args[1-k]].Elems < bp.N {
				continue
			}
			drop[w] = true
			*ln = ir.Launch{Op: ir.GemmMul, Dtype: ln.Dtype, Role: ln.Role, Node: ln.Node, What: g.What + " ⊙",
				Args: []int{g.Args[0], g.Args[1], ln.Args[1-k], ln.Args[2]}, Ints: g.Ints}
			break
		}
	}
}

// kept is the set of buffers the program gives out (the output, the loss, the gradients):
// a fusion must still write them.
func kept(p *ir.Program) map[int]bool {
	k := map[int]bool{p.Out: true, p.Loss: true}
	for _, g := range p.Grads {
		k[g] = true
	}
	return k
}

// isBinary reports whether ln is a Binary launch of op with strides sa and sb.
func isBinary(ln ir.Launch, op ir.BinaryOp, sa, sb int) bool {
	bp, err := ln.BinaryParams()
	return err == nil && bp.SA == sa && bp.SB == sb && bp.Op == op
}

// fuseMaskBack folds the product of a mask with a MaxPoolBack's output, which nothing else
// reads, into a MaxPoolBackMask.
func (l *lowering) fuseMaskBack(drop []bool, writer map[int]int, readers map[int][]int) {
	p := l.p
	for i := range p.Launches {
		ln := &p.Launches[i]
		if drop[i] || !isBinary(*ln, ir.Mul, 1, 1) {
			continue
		}
		for k, mask := range ln.Args[:2] {
			dx := ln.Args[1-k]
			w, ok := writer[dx]
			if !ok || p.Launches[w].Op != ir.MaxPoolBack || len(readers[dx]) != 1 {
				continue
			}
			mp := p.Launches[w]
			g, err := mp.PoolGeom()
			if err != nil {
				continue
			}
			drop[w] = true
			*ln = ir.Launch{Op: ir.MaxPoolBackMask, Dtype: ln.Dtype, Role: ln.Role, Node: ln.Node, What: mp.What + ", ReLU's mask",
				Args: []int{mp.Args[0], mp.Args[1], mask, ln.Args[2]}, Ints: g.Ints()}
			break
		}
	}
}

// dropLaunches removes the launches marked in drop, then every Im2col and Gather4 whose
// output no other launch reads (repeatedly), then the temporaries no launch names, and
// renumbers the buffers that remain.
func (l *lowering) dropLaunches(drop []bool) {
	p := l.p
	keep := kept(p)
	for changed := true; changed; {
		changed = false
		refs := map[int]int{}
		for i, ln := range p.Launches {
			if !drop[i] {
				for _, b := range ln.Args {
					refs[b]++
				}
			}
		}
		for i, ln := range p.Launches {
			out := ln.Args[len(ln.Args)-1]
			if !drop[i] && (ln.Op == ir.Im2col || ln.Op == ir.Gather4) && refs[out] == 1 && !keep[out] && p.Buffers[out].Kind == ir.Temp {
				drop[i], changed = true, true
			}
		}
	}
	var launches []ir.Launch
	for i, ln := range p.Launches {
		if !drop[i] {
			launches = append(launches, ln)
		}
	}
	p.Launches = launches

	used := map[int]bool{p.X: true, p.Y: true, p.Out: true, p.Loss: true}
	for _, ln := range p.Launches {
		for _, b := range ln.Args {
			used[b] = true
		}
	}
	id := make([]int, len(p.Buffers))
	var bufs []ir.Buffer
	for i, b := range p.Buffers {
		id[i] = -1
		if b.Kind != ir.Temp || used[i] {
			id[i] = len(bufs)
			bufs = append(bufs, b)
		}
	}
	p.Buffers = bufs
	re := func(b *int) {
		if *b >= 0 {
			*b = id[*b]
		}
	}
	for i := range p.Launches {
		for j := range p.Launches[i].Args {
			re(&p.Launches[i].Args[j])
		}
		for j := range p.Launches[i].Eval { // a subset of Args and parameters
			re(&p.Launches[i].Eval[j])
		}
	}
	for _, b := range []*int{&p.X, &p.Y, &p.Out, &p.Loss, &p.Step, &p.LossSum} {
		re(b)
	}
	for i := range p.Params {
		re(&p.Params[i])
	}
	for i := range p.Grads {
		re(&p.Grads[i])
	}
	for i := range p.State {
		re(&p.State[i].Buffer)
	}
	for n, b := range l.bufOf {
		l.bufOf[n] = id[b]
	}
}

// splitFilters cuts each ConvFilter whose gradient has few tiles and sums many positions, by
// the target's SplitK rule (SplitK.Images), into a ConvFilterSplit over parts of the batch
// and the ReduceSum of its parts in order: many blocks of a GPU share the sum, and its
// order is fixed.
func (l *lowering) splitFilters() {
	p := l.p
	var out []ir.Launch
	for _, ln := range p.Launches {
		c, err := ln.ConvParams()
		if ln.Op != ir.ConvFilter || err != nil {
			out = append(out, ln)
			continue
		}
		kk := c.C * c.KH * c.KW
		sp := ir.ConvSplitParams{Conv: c, Images: l.target.SplitK.Images(c.Cout, kk, c.B, c.OH*c.OW)}
		parts := sp.Parts()
		if parts == 1 || (l.target.ConvIndexLimit != 0 && int64(parts)*int64(c.Cout*kk) >= int64(l.target.ConvIndexLimit)) {
			out = append(out, ln)
			continue
		}
		part := l.newBuf(ir.Buffer{Name: fmt.Sprintf("%s: %d partial gradients", ln.What, parts), Kind: ir.Temp, Elems: parts * c.Cout * kk})
		split := ln
		split.Op, split.Args, split.Ints = ir.ConvFilterSplit, []int{ln.Args[0], ln.Args[1], part}, sp.Ints()
		out = append(out, split, l.sum(ln.Node, ln.Role, ln.What, part, ln.Args[2], 1, parts, c.Cout*kk))
	}
	p.Launches = out
}
