package lower

import (
	G "gorgonia.org/gorgonia"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
)

// Batch normalisation's ops (model/batchnorm.go) become one launch each, but for the two
// pairs of ops over the same inputs, which one launch computes together: a channel's mean
// and variance (BatchNormStats), and the gradients of its scale and shift
// (BatchNormBackScale).

// bnParams are the launch parameters of a batch normalisation op on x: [B, C, S].
func bnParams(n *node, x *G.Node) (ir.BatchNormParams, error) {
	s := x.Shape()
	if len(s) < 2 {
		return ir.BatchNormParams{}, n.unsupported("batchnorm of a %v tensor", s)
	}
	p := ir.BatchNormParams{B: s[0], C: s[1], S: 1}
	for _, d := range s[2:] {
		p.S *= d
	}
	if p.B < 1 || p.C < 1 || p.S < 1 {
		return p, n.unsupported("batchnorm of a %v tensor", s)
	}
	return p, nil
}

// partner is the other node of n's pair: an op of the same type over the same arguments for
// which same is true, or nil when the graph has none.
func (l *lowering) partner(n *node, same func(G.Op) bool) *G.Node {
	for _, m := range l.net.G.AllNodes() {
		if m.ID() == n.ID() || opType(m) != n.kind || !same(m.Op()) {
			continue
		}
		ch := l.children(m)
		if len(ch) != len(n.ch) {
			continue
		}
		match := true
		for i := range ch {
			match = match && ch[i].ID() == n.ch[i].ID()
		}
		if match {
			return m
		}
	}
	return nil
}

// pairBufs gives n and its partner their buffers (a temporary of n's size where the graph
// has no partner) and returns them in the order first, second: n's first when nFirst.
func (l *lowering) pairBufs(n *node, partner *G.Node, nFirst bool) (first, second int) {
	mine := l.temp(n.Node)
	other := l.newBuf(ir.Buffer{Name: "unused half of " + n.Name(), Kind: ir.Temp, Elems: size(n.Node)})
	if partner != nil {
		other = l.temp(partner)
	}
	if nFirst {
		return mine, other
	}
	return other, mine
}

// lowerBNStats is a model.BNStatsOp, with its partner (the mean's variance, the variance's
// mean): one BatchNormStats.
func (l *lowering) lowerBNStats(n *node) error {
	op, ok := n.Op().(*model.BNStatsOp)
	if !ok {
		return n.unsupported("a BNStatsOp of type %T", n.Op())
	}
	p, err := bnParams(n, n.ch[0])
	if err != nil {
		return err
	}
	other := l.partner(n, func(o G.Op) bool { s, ok := o.(*model.BNStatsOp); return ok && s.Var != op.Var })
	mean, vr := l.pairBufs(n, other, !op.Var)
	l.launch(n.Node, ir.BatchNormStats, []int{n.in(0), mean, vr}, p.Ints(), nil)
	return nil
}

// lowerBN is a model.BNOp: one BatchNorm.
func (l *lowering) lowerBN(n *node) error {
	op, ok := n.Op().(*model.BNOp)
	if !ok {
		return n.unsupported("a BNOp of type %T", n.Op())
	}
	p, err := bnParams(n, n.ch[0])
	if err != nil {
		return err
	}
	args := []int{n.in(0), n.in(1), n.in(2), n.in(3), n.in(4), l.temp(n.Node)}
	l.launch(n.Node, ir.BatchNorm, args, p.Ints(), []float64{op.Eps})
	if op.Running != [2]string{} { // at evaluation: the running statistics for the batch's
		mean, vr := l.paramBuf(op.Running[0]), l.paramBuf(op.Running[1])
		if mean < 0 || vr < 0 {
			return n.unsupported("running statistics %q: not parameters of the model", op.Running)
		}
		l.p.Launches[len(l.p.Launches)-1].Eval = []int{args[0], mean, vr, args[3], args[4], args[5]}
	}
	return nil
}

// paramBuf is the buffer of the parameter called name, or -1.
func (l *lowering) paramBuf(name string) int {
	for i, p := range l.net.Model.Params {
		if p.Name == name && i < len(l.p.Params) {
			return l.p.Params[i]
		}
	}
	return -1
}

// lowerBNParamGrad is a model.BNParamGradOp, with its partner (the scale's gradient, the
// shift's): one BatchNormBackScale.
func (l *lowering) lowerBNParamGrad(n *node) error {
	op, ok := n.Op().(*model.BNParamGradOp)
	if !ok {
		return n.unsupported("a BNParamGradOp of type %T", n.Op())
	}
	p, err := bnParams(n, n.ch[0])
	if err != nil {
		return err
	}
	other := l.partner(n, func(o G.Op) bool {
		g, ok := o.(*model.BNParamGradOp)
		return ok && g.Shift != op.Shift && g.Eps == op.Eps
	})
	dscale, dshift := l.pairBufs(n, other, !op.Shift)
	l.launch(n.Node, ir.BatchNormBackScale, []int{n.in(0), n.in(1), n.in(2), n.in(3), dscale, dshift}, p.Ints(), []float64{op.Eps})
	return nil
}

// lowerBNBackData is a model.BNBackDataOp: one BatchNormBackData.
func (l *lowering) lowerBNBackData(n *node) error {
	op, ok := n.Op().(*model.BNBackDataOp)
	if !ok {
		return n.unsupported("a BNBackDataOp of type %T", n.Op())
	}
	p, err := bnParams(n, n.ch[0])
	if err != nil {
		return err
	}
	args := make([]int, 0, 8)
	for i := range 7 {
		args = append(args, n.in(i))
	}
	l.launch(n.Node, ir.BatchNormBackData, append(args, l.temp(n.Node)), p.Ints(), []float64{op.Eps})
	return nil
}
