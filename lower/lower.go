package lower

import (
	"fmt"
	"math"
	"reflect"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
)

// A Target says what the lowering may decide for the executor that will run the program:
// which ops it may fuse and which products it cuts. The program's ops mean the same on every
// target; a target only picks among equivalent programs.
type Target struct {
	Name string
	// SplitK, when not nil, cuts a product of few output tiles over a long K into partial
	// products and their sum in a fixed order (GemmSplit, then ReduceSum): a GPU runs it on
	// many blocks instead of a few.
	SplitK *SplitK
	// FuseBias fuses a product, the broadcast of a bias row and their sum into one GemmBias.
	FuseBias bool
	// FuseConv fuses each convolution's columns, products and transposes into Conv,
	// ConvData and ConvFilter (needs FuseBias): an executor that runs them image by image
	// keeps each image's columns in cache instead of the whole batch's in memory.
	FuseConv bool
	// FuseConvBack also fuses the backward of a ConvReLUPool (the route scatter, the filter,
	// bias and image gradients) into one ConvReLUPoolBack, for an executor that runs it
	// image by image. Without it they stay PoolRouteBack, ConvFilter (split along the batch
	// by SplitK), the bias's sums and ConvData: a GPU runs each with a grid of its own.
	FuseConvBack bool
	// FuseRoutes, on a target without FuseConvBack, makes the launches that read a
	// PoolRouteBack's output (ConvFilter, the bias's sums, ConvData) read its route and the
	// pooled gradient instead: RouteFilter, FilterSum and RouteData, each with a grid of its
	// own, and the routed gradient never stored.
	FuseRoutes bool
	// FuseDense fuses a GemmBias and the ReLU after it (the mask and the product with it)
	// into one GemmBiasReLU (needs FuseBias), and a Gemm whose output only an elementwise
	// product reads into a GemmMul, for an executor whose products apply them to each value
	// or block of the output as it is computed: two launches fewer a layer forward, one
	// backward.
	FuseDense bool
	// ConvIndexLimit, when not 0, fuses only the convolutions whose buffers (images,
	// outputs, filters) each hold fewer than this many values: a GPU's fused kernels index
	// them with 32-bit integers (CUDA: 2^30, so that an index plus a tile's offset stays
	// below 2^31), and a larger convolution keeps its columns and products.
	ConvIndexLimit int
}

// SplitK is the rule of a target that cuts products along K: a product whose K is longer than
// MinK and whose output has fewer than MaxTiles tiles of Tile x Tile, or, when Wide is not 0,
// both sides at least Wide and fewer than MaxTiles tiles of Wide x Wide (a GPU's kernel for
// such products takes a wide tile a block), is cut into parts of about Chunk along K (a whole
// number of tiles each).
type SplitK struct{ MinK, MaxTiles, Chunk, Tile, Wide int }

// The targets. CUDA's split rule: the cnn's first filter gradient at batch 128 is [6,25] summed
// over 100352 rows, 2 blocks of 6272 tile steps each unsplit, 392 blocks of 32 steps split;
// the mlp's weight gradient at batch 8192 is [784,256] summed over 8192 rows, 52 tiles of
// 64x64 (cuda's gemm_t64 kernels) of 512 tile steps each unsplit, 832 of 32 steps split.
var (
	CUDA = Target{Name: "cuda", SplitK: &SplitK{MinK: 1024, MaxTiles: 256, Chunk: 512, Tile: 16, Wide: 64}, FuseBias: true, FuseConv: true, FuseRoutes: true, FuseDense: true, ConvIndexLimit: 1 << 30}
	CPU  = Target{Name: "cpu", FuseBias: true, FuseConv: true, FuseConvBack: true, FuseDense: true}
)

// maxParts is the most parts a product or a filter gradient is cut into: a GPU's grid
// takes at most 65535 blocks along z, one part each.
const maxParts = 65535

// Images is how many images each part of a filter gradient [cout, kk] summed over b images
// of pix output positions holds, by the rule of Parts: whole images, about Chunk positions
// a part; b (one part) when the gradient has MaxTiles tiles or more or the sum is no longer
// than MinK.
func (s *SplitK) Images(cout, kk, b, pix int) int {
	if s == nil || b*pix <= s.MinK || ceil(cout, s.Tile)*ceil(kk, s.Tile) >= s.MaxTiles {
		return b
	}
	per := max(s.Chunk/pix, ceil(b, maxParts), 1)
	return min(per, b)
}

// Parts is how many parts a product [m,n] over k is cut into along k, and the length of each
// (the last may be shorter): 1 and k when it is not cut.
func (s *SplitK) Parts(m, n, k int) (parts, kc int) {
	if s == nil || k <= s.MinK {
		return 1, k
	}
	few := ceil(m, s.Tile)*ceil(n, s.Tile) < s.MaxTiles
	if s.Wide > 0 && min(m, n) >= s.Wide {
		few = few || ceil(m, s.Wide)*ceil(n, s.Wide) < s.MaxTiles
	}
	if !few {
		return 1, k
	}
	parts = ceil(k, s.Chunk)
	kc = ceil(ceil(k, parts), s.Tile) * s.Tile
	return ceil(k, kc), kc
}

func ceil(n, per int) int { return max(1, (n+per-1)/per) }

// Lower compiles net (built with gradients) and one update by s into a Program for target t:
// the forward pass, the backward pass and the optimizer's fused update of every parameter, as
// launches over planned buffers. An op with no launch is an *UnsupportedError that names it.
func Lower(net *model.Net, s *model.Solver, t Target) (*ir.Program, error) {
	if net.Grads == nil {
		return nil, fmt.Errorf("program: the %s net was built without gradients", net.Model.Spec.Kind)
	}
	if len(net.Nodes) != len(net.Model.Params) || len(net.Grads) != len(net.Nodes) {
		return nil, fmt.Errorf("program: %d nodes and %d gradients for %d parameters", len(net.Nodes), len(net.Grads), len(net.Model.Params))
	}
	l := &lowering{net: net, target: t, bufOf: map[int64]int{}}
	switch dt := net.X.Dtype(); dt {
	case tensor.Float32:
		l.dtype = ir.Float32
	case tensor.Float64:
		l.dtype = ir.Float64
	default:
		return nil, &UnsupportedError{Op: "dtype " + dt.String(), Why: "only float32 and float64 have kernels"}
	}
	l.p = &ir.Program{Kind: net.Model.Spec.Kind, Dtype: l.dtype, Target: t.Name, Batch: net.Batch, Step: -1}
	for i, n := range net.Nodes {
		id := l.newBuf(ir.Buffer{Name: net.Model.Params[i].Name, Kind: ir.Param, Elems: n.Shape().TotalSize(), Index: i})
		l.bufOf[n.ID()] = id
		l.p.Params = append(l.p.Params, id)
	}
	l.p.X = l.newBuf(ir.Buffer{Name: "x", Kind: ir.Input, Elems: net.X.Shape().TotalSize()})
	l.p.Y = l.newBuf(ir.Buffer{Name: "y", Kind: ir.Input, Elems: net.Y.Shape().TotalSize()})
	l.bufOf[net.X.ID()], l.bufOf[net.Y.ID()] = l.p.X, l.p.Y
	if net.Step != nil { // dropout reads the step counter: it is made first
		l.p.Step = l.newBuf(ir.Buffer{Name: "steps", Kind: ir.Step, Elems: 1, Elem: 8})
		l.bufOf[net.Step.ID()] = l.p.Step
	}
	l.xent = l.findXent()
	order, err := l.schedule()
	if err != nil {
		return nil, err
	}
	if t.FuseBias {
		l.findBiases(order)
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
	l.p.LossSum = l.newBuf(ir.Buffer{Name: "loss sum", Kind: ir.Accum, Elems: 1})
	l.p.Launches = append(l.p.Launches, ir.Launch{Op: ir.Binary, Dtype: l.dtype, Role: ir.Loss, What: "accumulate loss", Node: -1,
		Args: []int{l.p.LossSum, l.p.Loss, l.p.LossSum}, Ints: ir.BinaryParams{N: 1, SA: 1, SB: 1, Op: ir.Add}.Ints()})
	if t.FuseConv {
		l.fuseConv()
		if t.SplitK != nil {
			l.splitFilters()
		}
	} else if t.FuseDense {
		drop := make([]bool, len(l.p.Launches))
		l.fuseReLU(drop)
		l.dropLaunches(drop)
	}
	l.plan()
	return l.p, nil
}

// UnsupportedError says that a graph holds something the lowering has no launch for.
type UnsupportedError struct {
	Op   string // the op, as Gorgonia prints it, or what else is unsupported
	Node int64  // its node, or 0
	Why  string
}

func (e *UnsupportedError) Error() string {
	if e.Node != 0 {
		return fmt.Sprintf("program: op %q (node %%%d): %s", e.Op, e.Node, e.Why)
	}
	return fmt.Sprintf("program: %s: %s", e.Op, e.Why)
}

type lowering struct {
	net    *model.Net
	target Target
	p      *ir.Program
	bufOf  map[int64]int // node id -> buffer id
	dtype  ir.Dtype
	xent   *xent             // the softmax cross-entropy fused into one launch, or nil
	bias   map[int64]*biased // sums fused into a GemmBias, by the id of the sum's node
	skip   map[int64]bool    // nodes a fusion computes (or makes unneeded)
	fwd    map[int64]bool    // nodes the output needs: the forward pass
	loss   map[int64]bool    // nodes the loss needs beyond those
}

// xent is a softmax cross-entropy that the lowering computes with one fused launch
// (SoftmaxXent) and a sum, instead of the nine launches of Gorgonia's nodes for the loss and
// the gradient of the logits: log softmax, the product with the targets, the sum, the
// scaling, the gradient's seed and broadcasts, and log softmax's backward.
type xent struct {
	logits, y, loss, dlogits *G.Node
	c                        float64 // loss = c·Σ(y ⊙ log softmax(logits))
}

// findXent recognises loss = Σ(y ⊙ LogSoftMax(logits)) ⊙ c, with c a constant and logits a
// matrix (what model.softmaxCrossEntropy builds), and the softmaxDiffOp node that Grad made
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

// lowerXent appends the fused softmax cross-entropy: SoftmaxXent writes each row's term of
// the loss and the gradient of the logits, and a sum of the terms makes the loss.
func (l *lowering) lowerXent() {
	x := l.xent
	rows, cols := x.logits.Shape()[0], x.logits.Shape()[1]
	terms := l.newBuf(ir.Buffer{Name: "softmax cross-entropy: each row's term", Kind: ir.Temp, Elems: rows})
	dx, loss := l.temp(x.dlogits), l.temp(x.loss)
	l.p.Launches = append(l.p.Launches, ir.Launch{
		Op: ir.SoftmaxXent, Dtype: l.dtype, Role: ir.Loss, What: "softmax cross-entropy and its gradient", Node: x.dlogits.ID(),
		Args: []int{l.bufOf[x.logits.ID()], l.bufOf[x.y.ID()], terms, dx}, Ints: ir.SoftmaxXentParams{Rows: rows, Cols: cols}.Ints(), Reals: []float64{x.c},
	}, l.sum(x.loss.ID(), ir.Loss, "softmax cross-entropy", terms, loss, 1, rows, 1))
}

func (l *lowering) newBuf(b ir.Buffer) int {
	if b.Elem == 0 {
		b.Elem = l.dtype.Size()
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
// images, a read statement) are left out. It also sorts the nodes into the forward pass
// (what the output needs), the loss (what the loss needs beyond that) and the rest, the
// backward pass.
func (l *lowering) schedule() ([]*G.Node, error) {
	sorted, err := G.Sort(l.net.G)
	if err != nil {
		return nil, fmt.Errorf("program: sort the %s graph: %w", l.net.Model.Spec.Kind, err)
	}
	mark := func(need map[int64]bool, roots ...*G.Node) {
		var walk func(n *G.Node)
		walk = func(n *G.Node) {
			if need[n.ID()] {
				return
			}
			need[n.ID()] = true
			if l.fused(n) { // the fused launch needs only the logits and the targets
				walk(l.xent.logits)
				walk(l.xent.y)
				return
			}
			for _, c := range l.children(n) {
				walk(c)
			}
		}
		for _, r := range roots {
			walk(r)
		}
	}
	l.fwd = map[int64]bool{}
	mark(l.fwd, l.net.Out)
	l.loss = map[int64]bool{}
	for id := range l.fwd {
		l.loss[id] = true
	}
	mark(l.loss, l.net.Loss)
	for id := range l.fwd {
		delete(l.loss, id)
	}
	need := map[int64]bool{}
	mark(need, l.net.Loss, l.net.Out)
	mark(need, l.net.Grads...)
	var order []*G.Node
	for i := len(sorted) - 1; i >= 0; i-- { // G.Sort puts the roots first
		if need[sorted[i].ID()] {
			order = append(order, sorted[i])
		}
	}
	return order, nil
}

// role is the part of the step that computes node id.
func (l *lowering) role(id int64) ir.Role {
	switch {
	case l.fwd[id]:
		return ir.Forward
	case l.loss[id]:
		return ir.Loss
	}
	return ir.Backward
}

func (l *lowering) temp(n *G.Node) int {
	id := l.newBuf(ir.Buffer{Name: fmt.Sprintf("%%%d %v", n.ID(), n.Op()), Kind: ir.Temp, Elems: max(1, n.Shape().TotalSize())})
	l.bufOf[n.ID()] = id
	return id
}

// launch appends a launch that computes node n.
func (l *lowering) launch(n *G.Node, op ir.Op, args []int, ints []int64, reals []float64) {
	l.p.Launches = append(l.p.Launches, ir.Launch{
		Op: op, Dtype: l.dtype, Role: l.role(n.ID()), What: fmt.Sprint(n.Op()), Node: n.ID(), Args: args, Ints: ints, Reals: reals,
	})
}

// sum is the ReduceSum launch out[o,i] = Σ_k in[o,k,i] over in viewed as [outer, length,
// inner].
func (l *lowering) sum(node int64, role ir.Role, what string, in, out, outer, length, inner int) ir.Launch {
	return ir.Launch{Op: ir.ReduceSum, Dtype: l.dtype, Role: role, What: what, Node: node, Args: []int{in, out},
		Ints: ir.ReduceSumParams{Outer: outer, Length: length, Inner: inner}.Ints()}
}

func size(n *G.Node) int { return max(1, n.Shape().TotalSize()) }

// lowerUpdate appends the solver's fused update of every parameter, with the formulas of
// model.Solver, and gives the solver state its buffers.
func (l *lowering) lowerUpdate(s *model.Solver) error {
	if s == nil {
		return fmt.Errorf("program: no solver")
	}
	if s.Adam() && l.p.Step < 0 {
		l.p.Step = l.newBuf(ir.Buffer{Name: "steps", Kind: ir.Step, Elems: 1, Elem: 8})
	}
	if l.p.Step >= 0 { // Adam's t, dropout's step
		l.p.Launches = append(l.p.Launches, ir.Launch{Op: ir.StepInc, Dtype: ir.Float64, Role: ir.Update, What: "update", Node: -1, Args: []int{l.p.Step}})
	}
	for i, w := range l.p.Params {
		p := l.net.Model.Params[i]
		g := l.p.Grads[i]
		n := l.p.Buffers[w].Elems
		if l.p.Buffers[g].Elems != n {
			return fmt.Errorf("program: the gradient of %s has %d elements, the parameter %d", p.Name, l.p.Buffers[g].Elems, n)
		}
		if p.Running { // w −= its step, whatever the solver
			l.p.Launches = append(l.p.Launches, ir.Launch{Op: ir.Binary, Dtype: l.dtype, Role: ir.Update, What: "update running " + p.Name, Node: -1,
				Args: []int{w, g, w}, Ints: ir.BinaryParams{N: n, SA: 1, SB: 1, Op: ir.Sub}.Ints()})
			continue
		}
		state := func(slot string) int {
			id := l.newBuf(ir.Buffer{Name: slot + "/" + p.Name, Kind: ir.State, Elems: n, Index: i})
			l.p.State = append(l.p.State, ir.Member{Key: slot + "/" + p.Name, Buffer: id})
			return id
		}
		lr := s.LR
		if s.Rate > 0 {
			lr = s.Rate
		}
		up := ir.Launch{Dtype: l.dtype, Role: ir.Update, What: "update " + s.Kind + " " + p.Name, Node: -1, Ints: ir.UpdateParams{N: n}.Ints()}
		switch s.Kind {
		case "sgd":
			up.Op, up.Args, up.Reals = ir.SGD, []int{w, g}, []float64{lr}
		case "momentum":
			up.Op, up.Args, up.Reals = ir.Momentum, []int{w, g, state("velocity")}, []float64{lr, s.Momentum}
		case "adam", "adamw":
			up.Op, up.Args, up.Reals = ir.Adam, []int{w, g, state("m"), state("v"), l.p.Step}, []float64{lr, s.Beta1, s.Beta2, s.Eps, s.Decay(p)}
		default:
			return &UnsupportedError{Op: "solver " + s.Kind, Why: "no update launch (sgd, momentum, adam, adamw)"}
		}
		l.p.Launches = append(l.p.Launches, up)
	}
	return nil
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
