package lower

import (
	"fmt"
	"reflect"
	"sort"

	G "gorgonia.org/gorgonia"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
)

// node is what a lowering function gets: the node, its Gorgonia op type, its arguments and
// the op's struct value (to read its parameters).
type node struct {
	*G.Node
	kind string
	ch   []*G.Node
	v    reflect.Value
	l    *lowering
}

// in is the buffer of argument i.
func (n *node) in(i int) int { return n.l.bufOf[n.ch[i].ID()] }

// unsupported is the error for what the lowering cannot do with n.
func (n *node) unsupported(format string, args ...any) error {
	return &UnsupportedError{Op: fmt.Sprintf("%v (%s)", n.Op(), n.kind), Node: n.ID(), Why: fmt.Sprintf(format, args...)}
}

// lowerers maps each Gorgonia op type the lowering knows to the function that appends its
// launches (and gives its value a buffer).
var lowerers = map[string]func(*lowering, *node) error{
	"constantScalar": (*lowering).lowerConstant,
	"sizeOp":         (*lowering).lowerSize,
	"reshapeOp":      (*lowering).lowerReshape,
	"elemBinOp":      (*lowering).lowerBinary,
	"elemUnaryOp":    (*lowering).lowerUnary,
	"linAlgBinOp":    (*lowering).lowerProduct,
	"repeatOp":       (*lowering).lowerGather,
	"transposeOp":    (*lowering).lowerGather,
	"sumOp":          (*lowering).lowerSum,
	"softmaxOp":      (*lowering).lowerSoftmax,
	"softmaxDiffOp":  (*lowering).lowerSoftmax,
	"im2colOp":       (*lowering).lowerIm2col,
	"col2imOp":       (*lowering).lowerIm2col,
	"maxPoolOp":      (*lowering).lowerMaxPool,
	"maxPoolDiffOp":  (*lowering).lowerMaxPool,
	"DropoutOp":      (*lowering).lowerDropout,
	"BNStatsOp":      (*lowering).lowerBNStats,
	"BNOp":           (*lowering).lowerBN,
	"BNParamGradOp":  (*lowering).lowerBNParamGrad,
	"BNBackDataOp":   (*lowering).lowerBNBackData,
	"AugmentOp":      (*lowering).lowerAugment,
}

// lowerNode gives n a buffer and appends the launches that compute it.
func (l *lowering) lowerNode(g *G.Node) error {
	if l.fused(g) {
		l.lowerXent() // both the loss and the gradient of the logits
		return nil
	}
	if l.skip[g.ID()] {
		return nil
	}
	if b := l.bias[g.ID()]; b != nil {
		return l.lowerBias(g, b)
	}
	kind := opType(g)
	if kind == "" {
		return &UnsupportedError{Op: "input node " + g.Name(), Node: g.ID(), Why: "neither a parameter nor x nor y: the lowering has no other inputs"}
	}
	n := &node{Node: g, kind: kind, ch: l.children(g), v: opValue(g), l: l}
	for _, c := range n.ch {
		if _, ok := l.bufOf[c.ID()]; !ok && kind != "sizeOp" { // a size needs only the shape
			return fmt.Errorf("program: node %%%d (%v) uses %%%d before it is computed", g.ID(), g.Op(), c.ID())
		}
	}
	lower, ok := lowerers[kind]
	if !ok {
		return n.unsupported("no kernel for this op")
	}
	return lower(l, n)
}

func (l *lowering) lowerConstant(n *node) error {
	x, err := scalarValue(n.Value())
	if err != nil {
		return n.unsupported("%v", err)
	}
	l.bufOf[n.ID()] = l.newBuf(ir.Buffer{Name: n.Name(), Kind: ir.Const, Elems: 1, Value: []float64{x}})
	return nil
}

func (l *lowering) lowerSize(n *node) error {
	axis, err := intField(n.v, "axis")
	if err != nil {
		return err
	}
	cs := n.ch[0].Shape()
	if axis < 0 || axis >= len(cs) {
		return n.unsupported("axis %d of a %v tensor", axis, cs)
	}
	l.bufOf[n.ID()] = l.newBuf(ir.Buffer{Name: fmt.Sprint(n.Op()), Kind: ir.Const, Elems: 1, Value: []float64{float64(cs[axis])}})
	return nil
}

func (l *lowering) lowerReshape(n *node) error {
	if size(n.ch[0]) != size(n.Node) {
		return n.unsupported("%d elements from %d", size(n.Node), size(n.ch[0]))
	}
	l.bufOf[n.ID()] = n.in(0) // a view: same buffer
	return nil
}

func (l *lowering) lowerBinary(n *node) error {
	sym := binOpSymbol(n.Node)
	code, ok := ir.LookupCode(ir.BinaryOps, sym)
	if !ok {
		return n.unsupported("no kernel for the elementwise operator %q", sym)
	}
	if code >= int64(ir.Lt) {
		same, err := boolField(n.v, "retSame")
		if err != nil {
			return err
		}
		if !same {
			return n.unsupported("comparison with a boolean result: no kernel (only numeric 1/0 results)")
		}
	}
	nout := size(n.Node)
	var strides [2]int
	for i := 0; i < 2; i++ {
		switch size(n.ch[i]) {
		case nout:
			strides[i] = 1
		case 1:
			strides[i] = 0
		default:
			return n.unsupported("argument %d has %d elements, the result %d: no broadcasting kernel", i, size(n.ch[i]), nout)
		}
	}
	bp := ir.BinaryParams{N: nout, SA: strides[0], SB: strides[1], Op: ir.BinaryOp(code)}
	l.launch(n.Node, ir.Binary, []int{n.in(0), n.in(1), l.temp(n.Node)}, bp.Ints(), nil)
	return nil
}

func (l *lowering) lowerUnary(n *node) error {
	name := fmt.Sprint(n.Op())
	code, ok := ir.LookupCode(ir.UnaryOps, name)
	if !ok {
		return n.unsupported("no kernel for the elementwise function %q", name)
	}
	l.launch(n.Node, ir.Unary, []int{n.in(0), l.temp(n.Node)}, ir.UnaryParams{N: size(n.Node), F: ir.UnaryOp(code)}.Ints(), nil)
	return nil
}

// product reads a matrix product's shapes: C [M,N] = op(A)·op(B) over K.
func (n *node) product() (p ir.GemmParams, err error) {
	opk, err := intField(n.v, "āBinaryOperator")
	if err != nil {
		return
	}
	if opk != 0 {
		err = n.unsupported("only matrix × matrix has a kernel")
		return
	}
	if p.TransA, err = boolField(n.v, "transA"); err != nil {
		return
	}
	if p.TransB, err = boolField(n.v, "transB"); err != nil {
		return
	}
	as, bs, shape := n.ch[0].Shape(), n.ch[1].Shape(), n.Shape()
	if len(as) != 2 || len(bs) != 2 || len(shape) != 2 {
		err = n.unsupported("shapes %v × %v -> %v: only matrices", as, bs, shape)
		return
	}
	p.M, p.N, p.K = shape[0], shape[1], as[1]
	if p.TransA {
		p.K = as[0]
	}
	return
}

func (l *lowering) lowerProduct(n *node) error {
	g, err := n.product()
	if err != nil {
		return err
	}
	out := l.temp(n.Node)
	parts, kc := l.target.SplitK.Parts(g.M, g.N, g.K)
	if parts == 1 {
		l.launch(n.Node, ir.Gemm, []int{n.in(0), n.in(1), out}, g.Ints(), nil)
		return nil
	}
	// Partial products over slices of K, then their sum in a fixed order.
	part := l.newBuf(ir.Buffer{Name: fmt.Sprintf("%%%d %v: %d partial products", n.ID(), n.Op(), parts), Kind: ir.Temp, Elems: parts * g.M * g.N})
	l.launch(n.Node, ir.GemmSplit, []int{n.in(0), n.in(1), part}, ir.GemmSplitParams{GemmParams: g, KC: kc}.Ints(), nil)
	l.p.Launches = append(l.p.Launches, l.sum(n.ID(), l.role(n.ID()), fmt.Sprint(n.Op()), part, out, 1, parts, g.M*g.N))
	return nil
}

// lowerGather lowers a transpose or a repeat: both are a gather, out[i0,i1,i2,i3] =
// in[Σ ik·stride_k] with the input's strides permuted (transpose) or zeroed along broadcast
// axes (repeat).
func (l *lowering) lowerGather(n *node) error {
	g, err := n.gather()
	if err != nil {
		return err
	}
	l.launch(n.Node, ir.Gather4, []int{n.in(0), l.temp(n.Node)}, g.Ints(), nil)
	return nil
}

// gather is the parameters of the Gather4 that computes a transpose or a repeat.
func (n *node) gather() (ir.Gather4Params, error) {
	is, shape := n.ch[0].Shape(), n.Shape()
	if len(shape) > 4 {
		return ir.Gather4Params{}, n.unsupported("%d dimensions: the gather kernel takes at most 4", len(shape))
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
	if n.kind == "transposeOp" {
		pat, err := intsField(n.v, "pattern")
		if err != nil {
			return ir.Gather4Params{}, err
		}
		if len(pat) != len(is) || len(pat) != len(shape) {
			return ir.Gather4Params{}, n.unsupported("pattern %v for a %v tensor", pat, is)
		}
		for i, p := range pat {
			str[off+i] = instr[p]
		}
	} else {
		if len(is) != 0 && len(is) != len(shape) {
			return ir.Gather4Params{}, n.unsupported("input %v, output %v: dimensions differ", is, shape)
		}
		for i := range shape {
			if len(is) == 0 || is[i] == 1 {
				continue // broadcast: stride 0
			}
			if is[i] != shape[i] {
				return ir.Gather4Params{}, n.unsupported("repeats axis %d of %v to %v: only axes of size 1 can be repeated", i, is, shape)
			}
			str[off+i] = instr[i]
		}
	}
	return ir.Gather4Params{N: size(n.Node), Dims: dims, Strides: str}, nil
}

func (l *lowering) lowerSum(n *node) error {
	along, err := intsField(n.v, "along")
	if err != nil {
		return err
	}
	is := n.ch[0].Shape()
	ax := append([]int(nil), along...)
	sort.Ints(ax)
	for i := 1; i < len(ax); i++ {
		if ax[i] != ax[i-1]+1 {
			return n.unsupported("sums over axes %v: only adjacent axes have a kernel", along)
		}
	}
	if len(ax) == 0 || ax[0] < 0 || ax[len(ax)-1] >= len(is) {
		return n.unsupported("axes %v of a %v tensor", along, is)
	}
	outer, length, inner := prod(is[:ax[0]]), prod(is[ax[0]:ax[len(ax)-1]+1]), prod(is[ax[len(ax)-1]+1:])
	l.p.Launches = append(l.p.Launches, l.sum(n.ID(), l.role(n.ID()), fmt.Sprint(n.Op()), n.in(0), l.temp(n.Node), outer, length, inner))
	return nil
}

func (l *lowering) lowerSoftmax(n *node) error {
	sv := n.v
	if n.kind == "softmaxDiffOp" {
		var err error
		if sv, err = field(n.v, "softmaxOp"); err != nil {
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
	shape := n.Shape()
	if len(shape) < 2 || (axis != -1 && axis != len(shape)-1) {
		return n.unsupported("softmax over axis %d of %v: only the last axis of a matrix or tensor has a kernel", axis, shape)
	}
	cols := shape[len(shape)-1]
	rows := size(n.Node) / cols
	out := l.temp(n.Node)
	sp := ir.SoftmaxParams{Rows: rows, Cols: cols, Log: isLog}
	if n.kind == "softmaxOp" {
		l.launch(n.Node, ir.Softmax, []int{n.in(0), out}, sp.Ints(), nil)
	} else { // children: x, y = softmax(x), dL/dy
		l.launch(n.Node, ir.SoftmaxBack, []int{n.in(1), n.in(2), out}, sp.Ints(), nil)
	}
	return nil
}

func (l *lowering) lowerIm2col(n *node) error {
	pv := n.v
	if n.kind == "col2imOp" {
		var err error
		if pv, err = field(n.v, "im2colOp"); err != nil {
			return err
		}
	}
	cp, err := readIm2col(pv)
	if err != nil {
		return err
	}
	img, col := n.ch[0].Shape(), n.Shape() // im2col: (B,C,H,W) -> (B,OH,OW,C·kh·kw)
	op := ir.Im2col
	if n.kind == "col2imOp" {
		img, col, op = n.Shape(), n.ch[0].Shape(), ir.Col2im
	}
	if len(img) != 4 || len(col) != 4 || col[3] != img[1]*cp.kh*cp.kw {
		return n.unsupported("image %v and columns %v do not fit a %dx%d kernel", img, col, cp.kh, cp.kw)
	}
	g := ir.ConvGeom{B: img[0], C: img[1], H: img[2], W: img[3], KH: cp.kh, KW: cp.kw, PadH: cp.padH, PadW: cp.padW,
		StrideH: cp.strideH, StrideW: cp.strideW, DilH: cp.dilH, DilW: cp.dilW, OH: col[1], OW: col[2]}
	l.launch(n.Node, op, []int{n.in(0), l.temp(n.Node)}, g.Ints(), nil)
	return nil
}

func (l *lowering) lowerMaxPool(n *node) error {
	cp, err := readMaxPool(n.v)
	if err != nil {
		return err
	}
	img, pooled := n.ch[0].Shape(), n.Shape()
	if n.kind == "maxPoolDiffOp" {
		pooled = n.ch[1].Shape()
	}
	if len(img) != 4 || len(pooled) != 4 {
		return n.unsupported("input %v, pooled %v: want 4 dimensions", img, pooled)
	}
	ints := ir.PoolGeom{B: img[0], C: img[1], H: img[2], W: img[3], KH: cp.kh, KW: cp.kw, PadH: cp.padH, PadW: cp.padW,
		StrideH: cp.strideH, StrideW: cp.strideW, OH: pooled[2], OW: pooled[3]}.Ints()
	out := l.temp(n.Node)
	if n.kind == "maxPoolOp" {
		l.launch(n.Node, ir.MaxPool, []int{n.in(0), out}, ints, nil)
	} else { // children: input, pooled, dL/dpooled
		l.launch(n.Node, ir.MaxPoolBack, []int{n.in(0), n.in(2), out}, ints, nil)
	}
	return nil
}

// biased is a product plus a broadcast bias that a GemmBias computes: sum = prod +
// Repeat(bias), or for a convolution sum = Transpose(Reshape(prod)) + Repeat(Repeat(...(bias)))
// with the bias one value per column of the product (an output channel), which is then the
// GemmBias followed by the transpose.
type biased struct {
	prod, bias *G.Node
	trans      *G.Node // the transpose of the product, or nil
}

// findBiases finds, among the nodes to lower, each sum of a matrix product and a bias row
// broadcast over its rows where nothing else reads the product or the broadcast, and marks
// them to be lowered as one GemmBias.
func (l *lowering) findBiases(order []*G.Node) {
	uses := l.uses(order)
	l.bias, l.skip = map[int64]*biased{}, map[int64]bool{}
	once := func(n *G.Node, kind string) bool { return opType(n) == kind && uses[n.ID()] == 1 }
	for _, n := range order {
		if opType(n) != "elemBinOp" || binOpSymbol(n) != "+" {
			continue
		}
		ch := l.children(n)
		if len(ch) != 2 || !once(ch[1], "repeatOp") {
			continue
		}
		// The bias: the first argument of the chain of repeats, each repeat used once.
		skip := []*G.Node{ch[1]}
		bias := l.children(ch[1])[0]
		for once(bias, "repeatOp") {
			skip = append(skip, bias)
			bias = l.children(bias)[0]
		}
		b := &biased{bias: bias}
		switch {
		case once(ch[0], "linAlgBinOp") && len(n.Shape()) == 2: // a dense layer
			b.prod = ch[0]
		case once(ch[0], "transposeOp") && len(n.Shape()) == 4: // a convolution
			r := l.children(ch[0])[0]
			if !once(r, "reshapeOp") || !once(l.children(r)[0], "linAlgBinOp") {
				continue
			}
			b.trans, b.prod = ch[0], l.children(r)[0]
			skip = append(skip, ch[0], r)
		default:
			continue
		}
		pr := &node{Node: b.prod, kind: "linAlgBinOp", ch: l.children(b.prod), v: opValue(b.prod), l: l}
		g, err := pr.product()
		if err != nil || size(bias) != g.N {
			continue
		}
		if b.trans == nil && (len(bias.Shape()) != 2 || bias.Shape()[0] != 1) {
			continue // a dense layer's bias is a row
		}
		if b.trans != nil {
			// The channels, the product's columns, must become axis 1 of the sum, and the
			// bias vary along that axis alone.
			pat, err := intsField(opValue(b.trans), "pattern")
			bs := bias.Shape()
			if err != nil || len(pat) != 4 || pat[1] != 3 || len(bs) != 4 || bs[0] != 1 || bs[1] != g.N || bs[2] != 1 || bs[3] != 1 {
				continue
			}
		}
		l.bias[n.ID()] = b
		l.skip[b.prod.ID()] = true
		for _, k := range skip {
			l.skip[k.ID()] = true
		}
	}
}

// uses counts, for each node, the nodes to lower that read it, plus one for the output, the
// loss and what the fused softmax cross-entropy reads.
func (l *lowering) uses(order []*G.Node) map[int64]int {
	uses := map[int64]int{}
	for _, n := range order {
		if l.fused(n) || opType(n) == "sizeOp" { // a size reads only its argument's shape
			continue
		}
		for _, c := range l.children(n) {
			uses[c.ID()]++
		}
	}
	uses[l.net.Out.ID()]++
	uses[l.net.Loss.ID()]++
	if l.xent != nil {
		uses[l.xent.logits.ID()]++
		uses[l.xent.y.ID()]++
	}
	return uses
}

// lowerBias appends the GemmBias that computes sum = A·B + Repeat(bias).
func (l *lowering) lowerBias(sum *G.Node, b *biased) error {
	pr := &node{Node: b.prod, kind: "linAlgBinOp", ch: l.children(b.prod), v: opValue(b.prod), l: l}
	g, err := pr.product()
	if err != nil {
		return err
	}
	for _, c := range append(pr.ch, b.bias) {
		if _, ok := l.bufOf[c.ID()]; !ok {
			return fmt.Errorf("program: node %%%d (%v) uses %%%d before it is computed", sum.ID(), sum.Op(), c.ID())
		}
	}
	if b.trans == nil {
		args := []int{pr.in(0), pr.in(1), l.bufOf[b.bias.ID()], l.temp(sum)}
		l.p.Launches = append(l.p.Launches, ir.Launch{Op: ir.GemmBias, Dtype: l.dtype, Role: l.role(sum.ID()), Node: sum.ID(),
			What: fmt.Sprintf("%v + bias", b.prod.Op()), Args: args, Ints: g.Ints()})
		return nil
	}
	// A convolution: the product and its channel's bias, then the transpose to (B, C, H, W).
	tr := &node{Node: b.trans, kind: "transposeOp", ch: l.children(b.trans), v: opValue(b.trans), l: l}
	gp, err := tr.gather()
	if err != nil {
		return err
	}
	biasedProd := l.newBuf(ir.Buffer{Name: fmt.Sprintf("%%%d %v + bias", b.prod.ID(), b.prod.Op()), Kind: ir.Temp, Elems: g.M * g.N})
	args := []int{pr.in(0), pr.in(1), l.bufOf[b.bias.ID()], biasedProd}
	l.p.Launches = append(l.p.Launches, ir.Launch{Op: ir.GemmBias, Dtype: l.dtype, Role: l.role(sum.ID()), Node: b.prod.ID(),
		What: fmt.Sprintf("%v + bias", b.prod.Op()), Args: args, Ints: g.Ints()},
		ir.Launch{Op: ir.Gather4, Dtype: l.dtype, Role: l.role(sum.ID()), Node: sum.ID(),
			What: fmt.Sprintf("%v of the biased product", b.trans.Op()), Args: []int{biasedProd, l.temp(sum)}, Ints: gp.Ints()})
	return nil
}

// lowerDropout is a model.DropoutOp: x and the step in, x with the layer's mask applied out.
func (l *lowering) lowerDropout(n *node) error {
	op, ok := n.Op().(*model.DropoutOp)
	if !ok {
		return n.unsupported("a DropoutOp of type %T", n.Op())
	}
	if n.ch[1] != l.net.Step {
		return n.unsupported("dropout keyed by %s, not the step counter", n.ch[1].Name())
	}
	if !(op.Rate >= 0 && op.Rate < 1) || size(n.Node) > 1<<32-4 {
		return n.unsupported("rate %v on %d values: want a rate in [0, 1) and fewer than 2^32 values", op.Rate, size(n.Node))
	}
	dp := ir.DropoutParams{N: size(n.Node), Layer: op.Layer, Seed: op.Seed, Threshold: ir.DropoutThreshold(op.Rate)}
	l.launch(n.Node, ir.Dropout, []int{n.in(0), n.in(1), l.temp(n.Node)}, dp.Ints(), []float64{op.Scale()})
	return nil
}

// lowerAugment is a model.AugmentOp: the images and the step in, each image moved by its
// transform out (ir.Augment).
func (l *lowering) lowerAugment(n *node) error {
	op, ok := n.Op().(*model.AugmentOp)
	if !ok {
		return n.unsupported("an AugmentOp of type %T", n.Op())
	}
	if n.ch[1] != l.net.Step {
		return n.unsupported("augmentation keyed by %s, not the step counter", n.ch[1].Name())
	}
	p := op.Params(n.ch[0].Shape()[0])
	l.launch(n.Node, ir.Augment, []int{n.in(0), n.in(1), l.temp(n.Node)}, p.Ints(), p.Reals())
	if _, err := l.p.Launches[len(l.p.Launches)-1].AugmentParams(); err != nil {
		return n.unsupported("%v", err)
	}
	return nil
}
