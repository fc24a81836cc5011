package cuda

import (
	"fmt"
	"math"
	"reflect"
	"sort"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"graphtrain/graph"
)

// Operation codes shared with kernels/elementwise.cu (ew_binary's and ew_unary's op).
var (
	binaryCodes = map[string]int64{"+": 0, "-": 1, "⊙": 2, "÷": 3, "^": 4, "<": 5, ">": 6, "<=": 7, ">=": 8, "==": 9, "!=": 10}
	unaryCodes  = map[string]int64{
		"abs": 0, "sign": 1, "ceil": 2, "floor": 3, "sin": 4, "cos": 5, "exp": 6, "ln": 7, "log2": 8,
		"neg": 9, "square": 10, "sqrt": 11, "inv": 12, "invSqrt": 13, "cube": 14, "tanh": 15,
		"sigmoid": 16, "log1p": 17, "expm1": 18, "softplus": 19,
	}
)

// Launch geometry.
const (
	blockThreads  = 256 // elementwise kernels: one thread per element
	reduceThreads = 128 // reduce_sum: one block per output element
	gemmTile      = 16  // gemm: one 16x16 block per 16x16 tile of C
)

// Lower compiles net (built with gradients) and one update by s into a Program: the forward
// pass, the backward pass and the optimizer's fused update of every parameter, as kernel
// launches over planned buffers. An op with no kernel is an error that names it.
func Lower(net *graph.Net, s *graph.Solver) (*Program, error) {
	if net.Grads == nil {
		return nil, fmt.Errorf("cuda: the %s net was built without gradients", net.Model.Spec.Kind)
	}
	if len(net.Nodes) != len(net.Model.Params) || len(net.Grads) != len(net.Nodes) {
		return nil, fmt.Errorf("cuda: %d nodes and %d gradients for %d parameters", len(net.Nodes), len(net.Grads), len(net.Model.Params))
	}
	l := &lowering{net: net, bufOf: map[int64]int{}}
	switch dt := net.X.Dtype(); dt {
	case tensor.Float32:
		l.suffix, l.elem = "_f32", 4
	case tensor.Float64:
		l.suffix, l.elem = "_f64", 8
	default:
		return nil, fmt.Errorf("cuda: dtype %v: only float32 and float64 have kernels", dt)
	}
	l.p = &Program{Kind: net.Model.Spec.Kind, Dtype: net.X.Dtype().String(), Batch: net.Batch, Step: -1}

	for i, n := range net.Nodes {
		id := l.newBuf(Buffer{Name: net.Model.Params[i].Name, Kind: Param, Elems: n.Shape().TotalSize(), Index: i})
		l.bufOf[n.ID()] = id
		l.p.Params = append(l.p.Params, id)
	}
	l.p.X = l.newBuf(Buffer{Name: "x", Kind: Input, Elems: net.X.Shape().TotalSize()})
	l.p.Y = l.newBuf(Buffer{Name: "y", Kind: Input, Elems: net.Y.Shape().TotalSize()})
	l.bufOf[net.X.ID()], l.bufOf[net.Y.ID()] = l.p.X, l.p.Y

	l.xent = l.findXent()
	order, err := l.schedule()
	if err != nil {
		return nil, err
	}
	for _, n := range order {
		if _, done := l.bufOf[n.ID()]; done {
			continue
		}
		if err := l.lowerNode(n); err != nil {
			return nil, err
		}
	}
	l.p.Out, l.p.Loss = l.bufOf[net.Out.ID()], l.bufOf[net.Loss.ID()]
	for _, g := range net.Grads {
		l.p.Grads = append(l.p.Grads, l.bufOf[g.ID()])
	}
	if err := l.lowerUpdate(s); err != nil {
		return nil, err
	}
	// lossSum += loss, so that the mean loss of an epoch is read back once, not every step.
	l.p.LossSum = l.newBuf(Buffer{Name: "loss sum", Kind: Accum, Elems: 1})
	l.p.Launches = append(l.p.Launches, Launch{Kernel: "ew_binary" + l.suffix, Op: "accumulate loss", Node: -1,
		Args: []int{l.p.LossSum, l.p.Loss, l.p.LossSum}, Ints: []int64{1, 1, 1, 0}, Grid: [3]int{1, 1, 1}, Block: [3]int{1, 1, 1}})
	if err := l.p.checkLimits(); err != nil {
		return nil, err
	}
	l.plan()
	return l.p, nil
}

// checkLimits says which launch, if any, asks for more than a CUDA device gives: a grid of at
// most 2^31-1 x 65535 x 65535 blocks of at most 1024 threads. Lowering is the place to say
// it, naming the batch, rather than a failed launch mid-training.
func (p *Program) checkLimits() error {
	for i, l := range p.Launches {
		g, b := l.Grid, l.Block
		if g[0] < 1 || g[1] < 1 || g[2] < 1 || g[0] > 1<<31-1 || g[1] > 65535 || g[2] > 65535 || b[0]*b[1]*b[2] > 1024 || b[0]*b[1]*b[2] < 1 {
			return fmt.Errorf("cuda: the %s program at batch %d needs launch %d (%s for %s) to run a grid of %v blocks of %v threads, beyond a CUDA device's limits (2147483647 x 65535 x 65535 blocks, 1024 threads): use a smaller --batch", p.Kind, p.Batch, i, l.Kernel, l.Op, g, b)
		}
	}
	return nil
}

type lowering struct {
	net    *graph.Net
	p      *Program
	bufOf  map[int64]int // node id -> buffer id
	suffix string        // kernel name suffix for the dtype: "_f32" or "_f64"
	elem   int           // bytes per element
	xent   *xent         // the softmax cross-entropy fused into one kernel, or nil
}

// xent is a softmax cross-entropy that the lowering computes with one fused kernel
// (softmax_xent) and a sum, instead of the nine launches of Gorgonia's nodes for the loss
// and the gradient of the logits: log softmax, the product with the targets, the sum, the
// scaling, the gradient's seed and broadcasts, and log softmax's backward.
type xent struct {
	logits, y, loss, dlogits *G.Node
	c                        float64 // loss = c·Σ(y ⊙ log softmax(logits))
}

// findXent recognises loss = Σ(y ⊙ LogSoftMax(logits)) ⊙ c, with c a constant and logits a
// matrix (what graph.softmaxCrossEntropy builds), and the softmaxDiffOp node that Grad made
// for the gradient of the logits. It returns nil for a graph of any other shape, which is
// then lowered node by node.
func (l *lowering) findXent() *xent {
	only := func(n *G.Node, kind string) bool { return n != nil && opType(n) == kind }
	mul := func(n *G.Node) bool { return only(n, "elemBinOp") && binOpSymbol(n) == "⊙" }
	loss := l.net.Loss
	if !mul(loss) {
		return nil
	}
	ch := l.children(loss)
	if len(ch) != 2 {
		return nil
	}
	sum, k := ch[0], ch[1]
	if only(sum, "constantScalar") {
		sum, k = k, sum
	}
	if !only(k, "constantScalar") || !only(sum, "sumOp") {
		return nil
	}
	c, err := scalarValue(k.Value())
	if err != nil {
		return nil
	}
	prod := l.children(sum)
	if len(prod) != 1 || !mul(prod[0]) || len(prod[0].Shape()) != 2 || size(sum) != 1 {
		return nil
	}
	ch = l.children(prod[0])
	if len(ch) != 2 {
		return nil
	}
	sm := ch[1]
	if ch[1].ID() == l.net.Y.ID() {
		sm = ch[0]
	} else if ch[0].ID() != l.net.Y.ID() {
		return nil
	}
	if !only(sm, "softmaxOp") {
		return nil
	}
	v := opValue(sm)
	axis, err1 := intField(v, "axis")
	isLog, err2 := boolField(v, "isLog")
	in := l.children(sm)
	if err1 != nil || err2 != nil || !isLog || (axis != -1 && axis != 1) || len(in) != 1 || !in[0].Shape().Eq(l.net.Y.Shape()) {
		return nil
	}
	x := &xent{logits: in[0], y: l.net.Y, loss: loss, c: c}
	for _, n := range l.net.G.AllNodes() {
		if !only(n, "softmaxDiffOp") {
			continue
		}
		if ch := l.children(n); len(ch) == 3 && ch[0].ID() == x.logits.ID() && ch[1].ID() == sm.ID() {
			if x.dlogits != nil {
				return nil
			}
			x.dlogits = n
		}
	}
	if x.dlogits == nil {
		return nil
	}
	return x
}

// fused reports whether n is computed by the fused softmax cross-entropy.
func (l *lowering) fused(n *G.Node) bool {
	return l.xent != nil && (n.ID() == l.xent.loss.ID() || n.ID() == l.xent.dlogits.ID())
}

// lowerXent appends the fused softmax cross-entropy: softmax_xent writes each row's term of
// the loss and the gradient of the logits, and a sum of the terms makes the loss.
func (l *lowering) lowerXent() {
	x := l.xent
	rows, cols := x.logits.Shape()[0], x.logits.Shape()[1]
	terms := l.newBuf(Buffer{Name: "softmax cross-entropy: each row's term", Kind: Temp, Elems: rows})
	dx, loss := l.temp(x.dlogits), l.temp(x.loss)
	l.p.Launches = append(l.p.Launches, Launch{
		Kernel: "softmax_xent" + l.suffix, Op: "softmax cross-entropy and its gradient", Node: x.dlogits.ID(),
		Args: []int{l.bufOf[x.logits.ID()], l.bufOf[x.y.ID()], terms, dx}, Ints: i64s(rows, cols), Reals: []float64{x.c},
		Grid: [3]int{blocks(rows, blockThreads), 1, 1}, Block: [3]int{blockThreads, 1, 1},
	}, l.sum(x.loss.ID(), "softmax cross-entropy", terms, loss, 1, rows, 1))
}

func (l *lowering) newBuf(b Buffer) int {
	if b.Elem == 0 {
		b.Elem = l.elem
	}
	l.p.Buffers = append(l.p.Buffers, b)
	return len(l.p.Buffers) - 1
}

// children are n's arguments, in order.
func (l *lowering) children(n *G.Node) []*G.Node {
	var out []*G.Node
	it := l.net.G.From(n.ID())
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

// schedule returns the nodes the loss, the output and the gradients need, in an order where
// every node comes after its arguments. Nodes nothing needs (a gradient of the input
// images, a read statement) are left out.
func (l *lowering) schedule() ([]*G.Node, error) {
	sorted, err := G.Sort(l.net.G)
	if err != nil {
		return nil, fmt.Errorf("cuda: sort the %s graph: %w", l.net.Model.Spec.Kind, err)
	}
	need := map[int64]bool{}
	var mark func(n *G.Node)
	mark = func(n *G.Node) {
		if need[n.ID()] {
			return
		}
		need[n.ID()] = true
		if l.fused(n) { // the fused kernel needs only the logits and the targets
			mark(l.xent.logits)
			mark(l.xent.y)
			return
		}
		for _, c := range l.children(n) {
			mark(c)
		}
	}
	mark(l.net.Loss)
	mark(l.net.Out)
	for _, g := range l.net.Grads {
		mark(g)
	}
	var order []*G.Node
	for i := len(sorted) - 1; i >= 0; i-- { // G.Sort puts the roots first
		if need[sorted[i].ID()] {
			order = append(order, sorted[i])
		}
	}
	return order, nil
}

func (l *lowering) temp(n *G.Node) int {
	id := l.newBuf(Buffer{Name: fmt.Sprintf("%%%d %v", n.ID(), n.Op()), Kind: Temp, Elems: max(1, n.Shape().TotalSize())})
	l.bufOf[n.ID()] = id
	return id
}

func (l *lowering) launch(n *G.Node, kernel string, threads int, args []int, ints []int64, reals []float64) {
	l.p.Launches = append(l.p.Launches, Launch{
		Kernel: kernel + l.suffix, Op: fmt.Sprint(n.Op()), Node: n.ID(), Args: args, Ints: ints, Reals: reals,
		Grid: [3]int{blocks(threads, blockThreads), 1, 1}, Block: [3]int{blockThreads, 1, 1},
	})
}

func blocks(n, per int) int { return max(1, (n+per-1)/per) }

// gemmGrid is the grid of a product [m,n] in parts along K (1 for gemm): a block a 16x16 tile,
// the rows on x, whose limit is 2^31-1 blocks (a conv's product has batch·784 rows), the
// columns on y and the parts on z, whose limits are 65535.
func gemmGrid(m, n, parts int) [3]int {
	return [3]int{blocks(m, gemmTile), blocks(n, gemmTile), parts}
}

// sum is the reduce_sum launch out[o,i] = Σ_k in[o,k,i] over in viewed as [outer, length,
// inner]: a block per output element, sized by reduceBlock.
func (l *lowering) sum(node int64, op string, in, out, outer, length, inner int) Launch {
	return Launch{
		Kernel: "reduce_sum" + l.suffix, Op: op, Node: node,
		Args: []int{in, out}, Ints: i64s(outer, length, inner),
		Grid: [3]int{outer * inner, 1, 1}, Block: reduceBlock(length),
	}
}

// reduceBlock is the block of a reduce_sum over length values: reduceThreads threads, or for a
// short sum the power of two that covers it, at least a warp (the conv biases' gradients sum
// rows of 28 and 10 values, once per output element).
func reduceBlock(length int) [3]int {
	t := 32
	for t < reduceThreads && t < length {
		t *= 2
	}
	return [3]int{t, 1, 1}
}

// Split-K products (gemm_split): a product whose K is longer than splitMinK and whose C has
// fewer than splitMaxTiles tiles is cut into parts of about splitChunk along K, so that it
// runs on many blocks instead of looping over all of K on a few. The cnn's first filter
// gradient at batch 128 is [6,25] summed over 100352 rows: 2 blocks of 6272 tile steps each
// unsplit, 392 blocks of 32 steps split.
const (
	splitMinK     = 1024
	splitMaxTiles = 256
	splitChunk    = 512
)

// splitK is how many parts a product [m,n] over k is cut into along k, and the length of each
// (the last may be shorter): 1 and k when it is not cut.
func splitK(m, n, k int) (parts, kc int) {
	if k <= splitMinK || blocks(m, gemmTile)*blocks(n, gemmTile) >= splitMaxTiles {
		return 1, k
	}
	parts = blocks(k, splitChunk)
	kc = blocks(blocks(k, parts), gemmTile) * gemmTile // a whole number of tiles
	return blocks(k, kc), kc
}

func size(n *G.Node) int { return max(1, n.Shape().TotalSize()) }

func i64s(xs ...int) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}

// lowerNode gives n a buffer and appends the launches that compute it.
func (l *lowering) lowerNode(n *G.Node) error {
	if l.fused(n) {
		l.lowerXent() // both the loss and the gradient of the logits
		return nil
	}
	kind := opType(n)
	if kind == "" {
		return fmt.Errorf("cuda: input node %s is neither a parameter nor x nor y", n.Name())
	}
	ch := l.children(n)
	for _, c := range ch {
		if _, ok := l.bufOf[c.ID()]; !ok {
			return fmt.Errorf("cuda: node %%%d (%v) uses %%%d before it is computed", n.ID(), n.Op(), c.ID())
		}
	}
	in := func(i int) int { return l.bufOf[ch[i].ID()] }
	v := opValue(n)
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("cuda: op %q (%s, node %%%d): "+format, append([]any{fmt.Sprint(n.Op()), kind, n.ID()}, args...)...)
	}
	shape := n.Shape()

	switch kind {
	case "constantScalar":
		x, err := scalarValue(n.Value())
		if err != nil {
			return errorf("%v", err)
		}
		l.bufOf[n.ID()] = l.newBuf(Buffer{Name: n.Name(), Kind: Const, Elems: 1, Value: []float64{x}})

	case "sizeOp":
		axis, err := intField(v, "axis")
		if err != nil {
			return err
		}
		cs := ch[0].Shape()
		if axis < 0 || axis >= len(cs) {
			return errorf("axis %d of a %v tensor", axis, cs)
		}
		l.bufOf[n.ID()] = l.newBuf(Buffer{Name: fmt.Sprint(n.Op()), Kind: Const, Elems: 1, Value: []float64{float64(cs[axis])}})

	case "reshapeOp":
		if size(ch[0]) != size(n) {
			return errorf("%d elements from %d", size(n), size(ch[0]))
		}
		l.bufOf[n.ID()] = in(0) // a view: same buffer

	case "elemBinOp":
		sym := binOpSymbol(n)
		code, ok := binaryCodes[sym]
		if !ok {
			return errorf("no kernel for the elementwise operator %q", sym)
		}
		if code >= binaryCodes["<"] {
			same, err := boolField(v, "retSame")
			if err != nil {
				return err
			}
			if !same {
				return errorf("comparison with a boolean result: no kernel (only numeric 1/0 results)")
			}
		}
		nout := size(n)
		var strides [2]int
		for i := 0; i < 2; i++ {
			switch size(ch[i]) {
			case nout:
				strides[i] = 1
			case 1:
				strides[i] = 0
			default:
				return errorf("argument %d has %d elements, the result %d: no broadcasting kernel", i, size(ch[i]), nout)
			}
		}
		out := l.temp(n)
		l.launch(n, "ew_binary", nout, []int{in(0), in(1), out}, i64s(nout, strides[0], strides[1], int(code)), nil)

	case "elemUnaryOp":
		name := fmt.Sprint(n.Op())
		code, ok := unaryCodes[name]
		if !ok {
			return errorf("no kernel for the elementwise function %q", name)
		}
		out := l.temp(n)
		l.launch(n, "ew_unary", size(n), []int{in(0), out}, i64s(size(n), int(code)), nil)

	case "linAlgBinOp":
		opk, err := intField(v, "āBinaryOperator")
		if err != nil {
			return err
		}
		if opk != 0 {
			return errorf("only matrix × matrix has a kernel")
		}
		ta, err := boolField(v, "transA")
		if err != nil {
			return err
		}
		tb, err := boolField(v, "transB")
		if err != nil {
			return err
		}
		as, bs := ch[0].Shape(), ch[1].Shape()
		if len(as) != 2 || len(bs) != 2 || len(shape) != 2 {
			return errorf("shapes %v × %v -> %v: only matrices", as, bs, shape)
		}
		m, nn, k := shape[0], shape[1], as[1]
		if ta {
			k = as[0]
		}
		out := l.temp(n)
		parts, kc := splitK(m, nn, k)
		if parts == 1 {
			l.p.Launches = append(l.p.Launches, Launch{
				Kernel: "gemm" + l.suffix, Op: fmt.Sprint(n.Op()), Node: n.ID(),
				Args: []int{in(0), in(1), out}, Ints: i64s(m, nn, k, b2i(ta), b2i(tb)),
				Grid: gemmGrid(m, nn, 1), Block: [3]int{gemmTile, gemmTile, 1},
			})
			break
		}
		// Partial products over slices of K, then their sum in a fixed order.
		part := l.newBuf(Buffer{Name: fmt.Sprintf("%%%d %v: %d partial products", n.ID(), n.Op(), parts), Kind: Temp, Elems: parts * m * nn})
		l.p.Launches = append(l.p.Launches, Launch{
			Kernel: "gemm_split" + l.suffix, Op: fmt.Sprint(n.Op()), Node: n.ID(),
			Args: []int{in(0), in(1), part}, Ints: i64s(m, nn, k, b2i(ta), b2i(tb), kc),
			Grid: gemmGrid(m, nn, parts), Block: [3]int{gemmTile, gemmTile, 1},
		}, l.sum(n.ID(), fmt.Sprint(n.Op()), part, out, 1, parts, m*nn))

	case "repeatOp", "transposeOp":
		// Both are a gather: out[i0,i1,i2,i3] = in[Σ ik·stride_k] with the input's strides
		// permuted (transpose) or zeroed along broadcast axes (repeat).
		is := ch[0].Shape()
		if len(shape) > 4 {
			return errorf("%d dimensions: the gather kernel takes at most 4", len(shape))
		}
		instr := rowMajorStrides(is)
		var dims, str [4]int
		for i := range dims {
			dims[i] = 1
		}
		off := 4 - len(shape)
		for i, d := range shape {
			dims[off+i] = d
		}
		if kind == "transposeOp" {
			pat, err := intsField(v, "pattern")
			if err != nil {
				return err
			}
			if len(pat) != len(is) || len(pat) != len(shape) {
				return errorf("pattern %v for a %v tensor", pat, is)
			}
			for i, p := range pat {
				str[off+i] = instr[p]
			}
		} else {
			if len(is) != 0 && len(is) != len(shape) {
				return errorf("input %v, output %v: dimensions differ", is, shape)
			}
			for i := range shape {
				if len(is) == 0 || is[i] == 1 {
					continue // broadcast: stride 0
				}
				if is[i] != shape[i] {
					return errorf("repeats axis %d of %v to %v: only axes of size 1 can be repeated", i, is, shape)
				}
				str[off+i] = instr[i]
			}
		}
		out := l.temp(n)
		l.launch(n, "gather4", size(n), []int{in(0), out}, i64s(size(n), dims[0], dims[1], dims[2], dims[3], str[0], str[1], str[2], str[3]), nil)

	case "sumOp":
		along, err := intsField(v, "along")
		if err != nil {
			return err
		}
		is := ch[0].Shape()
		ax := append([]int(nil), along...)
		sort.Ints(ax)
		for i := 1; i < len(ax); i++ {
			if ax[i] != ax[i-1]+1 {
				return errorf("sums over axes %v: only adjacent axes have a kernel", along)
			}
		}
		if len(ax) == 0 || ax[0] < 0 || ax[len(ax)-1] >= len(is) {
			return errorf("axes %v of a %v tensor", along, is)
		}
		outer, length, inner := prod(is[:ax[0]]), prod(is[ax[0]:ax[len(ax)-1]+1]), prod(is[ax[len(ax)-1]+1:])
		l.p.Launches = append(l.p.Launches, l.sum(n.ID(), fmt.Sprint(n.Op()), in(0), l.temp(n), outer, length, inner))

	case "softmaxOp", "softmaxDiffOp":
		sv := v
		if kind == "softmaxDiffOp" {
			var err error
			if sv, err = field(v, "softmaxOp"); err != nil {
				return err
			}
		}
		axis, err := intField(sv, "axis")
		if err != nil {
			return err
		}
		isLog, err := boolField(sv, "isLog")
		if err != nil {
			return err
		}
		if len(shape) < 2 || (axis != -1 && axis != len(shape)-1) {
			return errorf("softmax over axis %d of %v: only the last axis of a matrix or tensor has a kernel", axis, shape)
		}
		cols := shape[len(shape)-1]
		rows := size(n) / cols
		out := l.temp(n)
		if kind == "softmaxOp" {
			l.launch(n, "softmax", rows, []int{in(0), out}, i64s(rows, cols, b2i(isLog)), nil)
		} else { // children: x, y = softmax(x), dL/dy
			l.launch(n, "softmax_back", rows, []int{in(1), in(2), out}, i64s(rows, cols, b2i(isLog)), nil)
		}

	case "im2colOp", "col2imOp":
		pv := v
		if kind == "col2imOp" {
			var err error
			if pv, err = field(v, "im2colOp"); err != nil {
				return err
			}
		}
		cp, err := readIm2col(pv)
		if err != nil {
			return err
		}
		img, col := ch[0].Shape(), shape // im2col: (B,C,H,W) -> (B,OH,OW,C·kh·kw)
		if kind == "col2imOp" {
			img, col = shape, ch[0].Shape()
		}
		if len(img) != 4 || len(col) != 4 || col[3] != img[1]*cp.kh*cp.kw {
			return errorf("image %v and columns %v do not fit a %dx%d kernel", img, col, cp.kh, cp.kw)
		}
		ints := i64s(img[0], img[1], img[2], img[3], cp.kh, cp.kw, cp.padH, cp.padW, cp.strideH, cp.strideW, cp.dilH, cp.dilW, col[1], col[2])
		out := l.temp(n)
		l.launch(n, kind[:6], size(n), []int{in(0), out}, ints, nil) // one thread per output element

	case "maxPoolOp", "maxPoolDiffOp":
		cp, err := readMaxPool(v)
		if err != nil {
			return err
		}
		img, pooled := ch[0].Shape(), shape
		if kind == "maxPoolDiffOp" {
			pooled = ch[1].Shape()
		}
		if len(img) != 4 || len(pooled) != 4 {
			return errorf("input %v, pooled %v: want 4 dimensions", img, pooled)
		}
		ints := i64s(img[0], img[1], img[2], img[3], cp.kh, cp.kw, cp.padH, cp.padW, cp.strideH, cp.strideW, pooled[2], pooled[3])
		out := l.temp(n)
		if kind == "maxPoolOp" {
			l.launch(n, "maxpool", size(n), []int{in(0), out}, ints, nil)
		} else { // children: input, pooled, dL/dpooled; one thread per input element
			l.launch(n, "maxpool_back", size(n), []int{in(0), in(2), out}, ints, nil)
		}

	default:
		return errorf("no kernel for this op")
	}
	return nil
}

// lowerUpdate appends the solver's fused update of every parameter, with the formulas of
// graph.Solver, and gives the solver state its buffers.
func (l *lowering) lowerUpdate(s *graph.Solver) error {
	if s == nil {
		return fmt.Errorf("cuda: no solver")
	}
	if s.Kind == "adam" {
		l.p.Step = l.newBuf(Buffer{Name: "steps", Kind: Step, Elems: 1, Elem: 8})
		l.p.Launches = append(l.p.Launches, Launch{Kernel: "step_inc", Op: "update", Node: -1, Args: []int{l.p.Step}, Grid: [3]int{1, 1, 1}, Block: [3]int{1, 1, 1}})
	}
	for i, w := range l.p.Params {
		p := l.net.Model.Params[i]
		g := l.p.Grads[i]
		n := l.p.Buffers[w].Elems
		if l.p.Buffers[g].Elems != n {
			return fmt.Errorf("cuda: the gradient of %s has %d elements, the parameter %d", p.Name, l.p.Buffers[g].Elems, n)
		}
		state := func(slot string) int {
			id := l.newBuf(Buffer{Name: slot + "/" + p.Name, Kind: State, Elems: n, Index: i})
			l.p.State = append(l.p.State, Member{Key: slot + "/" + p.Name, Buffer: id})
			return id
		}
		lr := s.LR
		if s.Rate > 0 {
			lr = s.Rate
		}
		up := Launch{Kernel: s.Kind + l.suffix, Op: "update " + s.Kind + " " + p.Name, Node: -1, Ints: []int64{int64(n)},
			Grid: [3]int{blocks(n, blockThreads), 1, 1}, Block: [3]int{blockThreads, 1, 1}}
		switch s.Kind {
		case "sgd":
			up.Args, up.Reals = []int{w, g}, []float64{lr}
		case "momentum":
			up.Args, up.Reals = []int{w, g, state("velocity")}, []float64{lr, s.Momentum}
		case "adam":
			up.Args, up.Reals = []int{w, g, state("m"), state("v"), l.p.Step}, []float64{lr, s.Beta1, s.Beta2, s.Eps}
		default:
			return fmt.Errorf("cuda: solver %q: no update kernel (sgd, momentum, adam)", s.Kind)
		}
		l.p.Launches = append(l.p.Launches, up)
	}
	return nil
}

// plan gives every buffer a slot. Parameters, state, inputs and constants each get their
// own; a temporary lives from the launch that writes it to the last launch that reads it
// (the output and the loss to the end of the step), and temporaries whose lives do not
// overlap share a slot. A launch's output never shares a slot with its inputs.
func (l *lowering) plan() {
	p := l.p
	def := make([]int, len(p.Buffers))
	last := make([]int, len(p.Buffers))
	for i := range def {
		def[i], last[i] = -1, -1
	}
	for i, ln := range p.Launches {
		for _, b := range ln.Args {
			if def[b] < 0 {
				def[b] = i
			}
			last[b] = i
		}
	}
	end := len(p.Launches)
	last[p.Out], last[p.Loss] = end, end
	for i := range p.Buffers {
		p.Buffers[i].Slot = -1
	}
	newSlot := func(b int) {
		p.Slots = append(p.Slots, p.Buffers[b].Bytes())
		p.Buffers[b].Slot = len(p.Slots) - 1
	}
	for i, b := range p.Buffers {
		// The loss too has a slot of its own (4 or 8 bytes): no forward launch run alone
		// (Forward, to validate between steps) can then overwrite the last step's loss.
		if b.Kind != Temp || def[i] < 0 || i == p.Loss {
			newSlot(i)
		}
	}
	var free []int // slots free for reuse
	for i, ln := range p.Launches {
		for _, b := range ln.Args {
			if p.Buffers[b].Kind != Temp || def[b] != i || p.Buffers[b].Slot >= 0 {
				continue
			}
			need := p.Buffers[b].Bytes()
			best := -1 // the smallest free slot that fits, else the largest, grown
			for j, s := range free {
				fits, bestFits := p.Slots[s] >= need, best >= 0 && p.Slots[free[best]] >= need
				switch {
				case best < 0, fits && !bestFits:
					best = j
				case fits && p.Slots[s] < p.Slots[free[best]]:
					best = j
				case !fits && !bestFits && p.Slots[s] > p.Slots[free[best]]:
					best = j
				}
			}
			if best < 0 {
				newSlot(b)
				continue
			}
			s := free[best]
			free = append(free[:best], free[best+1:]...)
			p.Slots[s] = max(p.Slots[s], need)
			p.Buffers[b].Slot = s
		}
		for _, b := range ln.Args {
			if p.Buffers[b].Kind == Temp && last[b] == i && !contains(free, p.Buffers[b].Slot) {
				free = append(free, p.Buffers[b].Slot)
			}
		}
	}
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func rowMajorStrides(s tensor.Shape) []int {
	st := make([]int, len(s))
	acc := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= s[i]
	}
	return st
}

func prod(xs []int) int {
	p := 1
	for _, x := range xs {
		p *= x
	}
	return p
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scalarValue reads a constant node's value (a *G.F64, *G.F32 or the like).
func scalarValue(v G.Value) (float64, error) {
	if v == nil {
		return 0, fmt.Errorf("constant without a value")
	}
	r := reflect.Indirect(reflect.ValueOf(v))
	switch r.Kind() {
	case reflect.Float32, reflect.Float64:
		return r.Float(), nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		return float64(r.Int()), nil
	}
	if t, ok := v.(tensor.Tensor); ok && t.Shape().TotalSize() == 1 {
		switch d := t.Data().(type) {
		case float64:
			return d, nil
		case float32:
			return float64(d), nil
		}
	}
	return math.NaN(), fmt.Errorf("constant of type %T", v)
}
