package lower

import (
	"slices"

	"graphtrain/ir"
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
	p := l.p
	writer := map[int]int{} // buffer -> the launch whose output it is
	refs := map[int]int{}   // buffer -> launches that name it
	for i, ln := range p.Launches {
		writer[ln.Args[len(ln.Args)-1]] = i
		for _, b := range ln.Args {
			refs[b]++
		}
	}
	// producer is the launch of op that writes buffer b, or nil.
	producer := func(b int, op ir.Op) *ir.Launch {
		if i, ok := writer[b]; ok && p.Launches[i].Op == op {
			return &p.Launches[i]
		}
		return nil
	}
	// geometry is the Im2col that writes col, with B·OH·OW = rows and C·kh·kw = cols.
	geometry := func(col, rows, cols int) *ir.Launch {
		im := producer(col, ir.Im2col)
		if im == nil || len(im.Ints) != 14 {
			return nil
		}
		g := im.Ints
		if int(g[0]*g[12]*g[13]) != rows || int(g[1]*g[4]*g[5]) != cols {
			return nil
		}
		return im
	}
	// channelsLast is the NCHW buffer that a Gather4 writing buffer b read, when it put the
	// channels of (B, Cout, OH, OW) last; -1 otherwise.
	channelsLast := func(b int, g []int64, cout int64) int {
		t := producer(b, ir.Gather4)
		if t == nil {
			return -1
		}
		B, OH, OW := g[0], g[12], g[13]
		if !slices.Equal(t.Ints, []int64{B * cout * OH * OW, B, OH, OW, cout, cout * OH * OW, OW, 1, OH * OW}) {
			return -1
		}
		return t.Args[0]
	}
	withCout := func(g []int64, cout int64) []int64 { return append(slices.Clone(g), cout) }
	drop := make([]bool, len(p.Launches))
	for k := range p.Launches {
		ln := &p.Launches[k]
		switch ln.Op {
		case ir.Gather4: // Im2col → GemmBias → channels second: Conv
			prod := ln.Args[0]
			gb := producer(prod, ir.GemmBias)
			if gb == nil || refs[prod] != 2 || !slices.Equal(gb.Ints[3:], []int64{0, 1}) {
				continue
			}
			m, cout, kk := gb.Ints[0], gb.Ints[1], gb.Ints[2]
			im := geometry(gb.Args[0], int(m), int(kk))
			if im == nil {
				continue
			}
			B, OH, OW := im.Ints[0], im.Ints[12], im.Ints[13]
			if !slices.Equal(ln.Ints, []int64{B * cout * OH * OW, B, cout, OH, OW, OH * OW * cout, 1, OW * cout, cout}) {
				continue
			}
			drop[writer[prod]] = true
			*ln = ir.Launch{Op: ir.Conv, Dtype: ln.Dtype, Role: ln.Role, Node: ln.Node, What: "convolution with bias: " + im.What,
				Args: []int{im.Args[0], gb.Args[1], gb.Args[2], ln.Args[1]}, Ints: withCout(im.Ints, cout)}
		case ir.Gemm: // (channels last)ᵀ × columns: ConvFilter
			if !slices.Equal(ln.Ints[3:], []int64{1, 0}) {
				continue
			}
			cout, kk, m := ln.Ints[0], ln.Ints[1], ln.Ints[2]
			im := geometry(ln.Args[1], int(m), int(kk))
			if im == nil {
				continue
			}
			dout := channelsLast(ln.Args[0], im.Ints, cout)
			if dout < 0 {
				continue
			}
			*ln = ir.Launch{Op: ir.ConvFilter, Dtype: ln.Dtype, Role: ln.Role, Node: ln.Node, What: "filter gradient: " + ln.What,
				Args: []int{dout, im.Args[0], ln.Args[2]}, Ints: withCout(im.Ints, cout)}
		case ir.Col2im: // channels last × filters → Col2im: ConvData
			dcol := ln.Args[0]
			mm := producer(dcol, ir.Gemm)
			if mm == nil || refs[dcol] != 2 || !slices.Equal(mm.Ints[3:], []int64{0, 0}) || len(ln.Ints) != 14 {
				continue
			}
			g := ln.Ints
			m, kk, cout := mm.Ints[0], mm.Ints[1], mm.Ints[2]
			if m != g[0]*g[12]*g[13] || kk != g[1]*g[4]*g[5] {
				continue
			}
			dout := channelsLast(mm.Args[0], g, cout)
			if dout < 0 {
				continue
			}
			drop[writer[dcol]] = true
			*ln = ir.Launch{Op: ir.ConvData, Dtype: ln.Dtype, Role: ln.Role, Node: ln.Node, What: "image gradient: " + ln.What,
				Args: []int{dout, mm.Args[1], ln.Args[1]}, Ints: withCout(g, cout)}
		}
	}
	l.fuseReLU(drop)
	l.fusePool(drop)
	l.dropLaunches(drop)
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
		g := mp.Ints
		if len(g) != 12 || !slices.Equal(g[4:10], []int64{2, 2, 0, 0, 2, 2}) || mb.Args[0] != act || mb.Args[2] != mask || !slices.Equal(mb.Ints, g) {
			continue
		}
		pooled := mp.Args[1]
		route := l.newBuf(ir.Buffer{Name: "pooling route: " + mp.What, Kind: ir.Temp, Elems: p.Buffers[pooled].Elems})
		*c = ir.Launch{Op: ir.ConvReLUPool, Dtype: c.Dtype, Role: c.Role, Node: mp.Node, What: c.What + ", " + mp.What,
			Args: []int{c.Args[0], c.Args[1], c.Args[2], route, pooled}, Ints: append(slices.Clone(c.Ints), g...)}
		drop[r[0]] = true
		*mb = ir.Launch{Op: ir.PoolRouteBack, Dtype: mb.Dtype, Role: mb.Role, Node: mb.Node, What: mb.What + ", routed",
			Args: []int{route, mb.Args[1], mb.Args[3]}, Ints: g}
		l.fuseBack(drop, i, r[1], readers)
	}
}

// fuseBack folds into the PoolRouteBack at launch rb, the backward of ConvReLUPool c, the
// launches that read its gradient dpre: the ConvFilter, the three ReduceSums of the bias
// gradient (over the columns, the rows, then the images) and the ConvData if there is one,
// when nothing else reads dpre or the partial sums: one ConvReLUPoolBack.
func (l *lowering) fuseBack(drop []bool, c, rb int, readers map[int][]int) {
	p := l.p
	cv, pr := p.Launches[c], p.Launches[rb]
	dpre := pr.Args[2]
	B, Cout, OH, OW := cv.Ints[0], cv.Ints[14], cv.Ints[12], cv.Ints[13]
	img, w := cv.Args[0], cv.Args[1]
	var filter, data = -1, -1
	sums := []int{}
	for _, i := range readers[dpre] {
		ln := p.Launches[i]
		switch {
		case ln.Op == ir.ConvFilter && ln.Args[1] == img && slices.Equal(ln.Ints, cv.Ints[:15]):
			filter = i
		case ln.Op == ir.ConvData && ln.Args[1] == w && slices.Equal(ln.Ints, cv.Ints[:15]):
			data = i
		case ln.Op == ir.ReduceSum && slices.Equal(ln.Ints, []int64{B * Cout * OH, OW, 1}):
			sums = append(sums, i)
		case ln.Op == ir.Gather4 && len(readers[ln.Args[1]]) == 0:
			// A transpose that fed the products fuseConv replaced: dropped later.
		default:
			return
		}
	}
	if filter < 0 || len(sums) != 1 {
		return
	}
	// The chain of sums: each read by the next alone.
	for _, want := range [][]int64{{B * Cout, OH, 1}, {1, B, Cout}} {
		out := p.Launches[sums[len(sums)-1]].Args[1]
		r := readers[out]
		if len(r) != 1 || p.Launches[r[0]].Op != ir.ReduceSum || !slices.Equal(p.Launches[r[0]].Ints, want) {
			return
		}
		sums = append(sums, r[0])
	}
	db := p.Launches[sums[2]].Args[1]
	args := []int{pr.Args[0], pr.Args[1], img, w, p.Launches[filter].Args[2], db}
	what := "the backward of " + cv.What + ": filter and bias gradients"
	if data >= 0 {
		args = append(args, p.Launches[data].Args[2])
		drop[data] = true
		what += ", image gradient"
	}
	for _, i := range append(sums, filter) {
		drop[i] = true
	}
	p.Launches[rb] = ir.Launch{Op: ir.ConvReLUPoolBack, Dtype: pr.Dtype, Role: pr.Role, Node: pr.Node, What: what, Args: args, Ints: cv.Ints}
}

// fuseReLU folds the ReLU that follows a Conv (pre ≥ 0 into a mask, pre ⊙ mask) into a
// ConvReLU, and the product of that mask with a MaxPoolBack's output into a
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
	binary := func(i int, op ir.BinaryOp, sa, sb int64) bool {
		ln := p.Launches[i]
		return ln.Op == ir.Binary && len(ln.Ints) == 4 && ln.Ints[1] == sa && ln.Ints[2] == sb && ir.BinaryOp(ln.Ints[3]) == op
	}
	zero := func(b int) bool {
		buf := p.Buffers[b]
		return buf.Kind == ir.Const && len(buf.Value) == 1 && buf.Value[0] == 0
	}
	for i := range p.Launches {
		ln := &p.Launches[i]
		if drop[i] || ln.Op != ir.Conv {
			continue
		}
		pre := ln.Args[3]
		r := readers[pre]
		if len(r) != 2 || !binary(r[0], ir.Ge, 1, 0) || !binary(r[1], ir.Mul, 1, 1) {
			continue
		}
		ge, mul := p.Launches[r[0]], p.Launches[r[1]]
		mask := ge.Args[2]
		if ge.Args[0] != pre || !zero(ge.Args[1]) || !(mul.Args[0] == pre && mul.Args[1] == mask || mul.Args[0] == mask && mul.Args[1] == pre) {
			continue
		}
		drop[r[0]], drop[r[1]] = true, true
		ln.Op, ln.What = ir.ConvReLU, ln.What+", ReLU"
		ln.Args = []int{ln.Args[0], ln.Args[1], ln.Args[2], mask, mul.Args[2]}
	}
	for i := range p.Launches {
		ln := &p.Launches[i]
		if drop[i] || !binary(i, ir.Mul, 1, 1) {
			continue
		}
		for k, mask := range ln.Args[:2] {
			dx := ln.Args[1-k]
			w, ok := writer[dx]
			if !ok || p.Launches[w].Op != ir.MaxPoolBack || len(readers[dx]) != 1 {
				continue
			}
			mp := p.Launches[w]
			drop[w] = true
			*ln = ir.Launch{Op: ir.MaxPoolBackMask, Dtype: ln.Dtype, Role: ln.Role, Node: ln.Node, What: mp.What + ", ReLU's mask",
				Args: []int{mp.Args[0], mp.Args[1], mask, ln.Args[2]}, Ints: mp.Ints}
			break
		}
	}
}

// dropLaunches removes the launches marked in drop, then every Im2col and Gather4 whose
// output no other launch reads (repeatedly), then the temporaries no launch names, and
// renumbers the buffers that remain.
func (l *lowering) dropLaunches(drop []bool) {
	p := l.p
	keep := map[int]bool{p.Out: true, p.Loss: true}
	for _, g := range p.Grads {
		keep[g] = true
	}
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
