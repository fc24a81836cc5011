package inspect

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	G "gorgonia.org/gorgonia"

	"github.com/graphtrain/graphtrain/model"
)

// DOT styles, by node role.
const (
	dotParam    = `shape=box, style="filled,bold", fillcolor="#ffd27f"`
	dotInput    = `shape=box, style=filled, fillcolor="#a6d8ff"`
	dotLoss     = `shape=doubleoctagon, style="filled,bold", fillcolor="#ff9c9c"`
	dotOut      = `shape=ellipse, style="filled,bold", fillcolor="#c2f0c2"`
	dotGrad     = `shape=box, style="filled,rounded", fillcolor="#e3c9ff"`
	dotConstant = `shape=plaintext`
	dotOp       = `shape=ellipse`
	dotBackward = `shape=ellipse, style=dashed, color="#7a4fb0"`
)

// WriteDOT writes the net n's expression graph as Graphviz DOT: one node per Gorgonia node,
// labelled with its name (parameters, inputs, constants) or its op, and its shape; an edge
// from each operand to the node that uses it, so the data flows downwards. Parameters,
// inputs (x, y), the output, the loss and the gradients (d loss / d parameter) are styled
// apart; the nodes of the backward pass (those only the gradients need) are dashed. Node ids are "n"
// followed by Gorgonia's node id.
func WriteDOT(w io.Writer, n *model.Net) error {
	role, style := nodeRoles(n)
	backward := backwardNodes(n)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "digraph %q {\n", n.Model.Spec.Kind)
	fmt.Fprintf(bw, "\tlabel=%q;\n\tlabelloc=t;\n\trankdir=TB;\n", fmt.Sprintf("%s graph, batch %d", n.Model.Spec.Kind, n.Batch))
	fmt.Fprintf(bw, "\tnode [fontname=\"Helvetica\", fontsize=10];\n\tedge [color=\"#555555\"];\n")
	for _, x := range n.G.AllNodes() {
		label := nodeLabel(x)
		if r, ok := role[x]; ok {
			label = r + "\n" + label
		}
		fmt.Fprintf(bw, "\t%s [label=%s, %s];\n", DOTID(x), dotQuote(label), nodeStyle(x, style, backward))
	}
	for _, x := range n.G.AllNodes() {
		writeDOTEdges(bw, n.G, x)
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

// nodeRoles names the nodes of n that have a role (the inputs, the output, the loss, the
// parameters and their gradients) and gives each its DOT style.
func nodeRoles(n *model.Net) (role, style map[*G.Node]string) {
	role = map[*G.Node]string{n.X: "input x", n.Y: "targets y", n.Out: "output", n.Loss: "loss"}
	style = map[*G.Node]string{n.X: dotInput, n.Y: dotInput, n.Out: dotOut, n.Loss: dotLoss}
	for i, p := range n.Nodes {
		role[p], style[p] = "parameter", dotParam
		if i < len(n.Grads) && n.Grads[i] != nil {
			g := n.Grads[i]
			role[g], style[g] = "d loss / d "+n.Model.Params[i].Name, dotGrad
		}
	}
	return role, style
}

// backwardNodes are the nodes of the backward pass: those the gradients depend on beyond
// the forward part, which is what the loss depends on (the rest was added by Grad).
func backwardNodes(n *model.Net) map[*G.Node]bool {
	forward := map[*G.Node]bool{}
	reach(n.G, n.Loss, forward, nil)
	backward := map[*G.Node]bool{}
	for _, g := range n.Grads {
		if g != nil {
			reach(n.G, g, backward, forward)
		}
	}
	return backward
}

// reach adds x and the nodes it depends on to seen, not entering the nodes in stop.
func reach(g *G.ExprGraph, x *G.Node, seen, stop map[*G.Node]bool) {
	if stop[x] || seen[x] {
		return
	}
	seen[x] = true
	for _, c := range children(g, x) {
		reach(g, c, seen, stop)
	}
}

// nodeStyle is x's DOT style: its role's (style), else by kind: an input (no op), a
// constant, a node of the backward pass or a forward op.
func nodeStyle(x *G.Node, style map[*G.Node]string, backward map[*G.Node]bool) string {
	if st, ok := style[x]; ok {
		return st
	}
	switch {
	case x.Op() == nil:
		return dotInput
	case isConstant(x):
		return dotConstant
	case backward[x]:
		return dotBackward
	}
	return dotOp
}

// writeDOTEdges writes an edge from each operand of x to x, numbered by position when x
// has more than one.
func writeDOTEdges(bw io.Writer, g *G.ExprGraph, x *G.Node) {
	cs := children(g, x)
	for i, c := range cs {
		if len(cs) > 1 { // operand order matters (A × B, A − B)
			fmt.Fprintf(bw, "\t%s -> %s [headlabel=\"%d\", labelfontsize=8];\n", DOTID(c), DOTID(x), i)
		} else {
			fmt.Fprintf(bw, "\t%s -> %s;\n", DOTID(c), DOTID(x))
		}
	}
}

// DOTID is the DOT node id WriteDOT gives x.
func DOTID(x *G.Node) string { return fmt.Sprintf("n%d", x.ID()) }

// nodeLabel is the op (or the name of a node without one) and the shape.
func nodeLabel(x *G.Node) string {
	what := x.Name()
	if x.Op() != nil && !isConstant(x) {
		// Gorgonia's elementwise ops print "+ false": the flag says whether the result
		// keeps the operands' type (true for comparisons that yield 0/1 numbers).
		what = strings.TrimSuffix(x.Op().String(), " false")
	}
	shape := x.Shape()
	s := "scalar"
	if len(shape) > 0 {
		s = strings.Trim(strings.ReplaceAll(fmt.Sprint([]int(shape)), " ", "×"), "[]")
		s = "[" + s + "]"
	}
	return what + "\n" + s
}

func isConstant(x *G.Node) bool {
	return x.Op() != nil && strings.HasPrefix(fmt.Sprintf("%T", x.Op()), "gorgonia.constant")
}

// children returns x's operands in order.
func children(g *G.ExprGraph, x *G.Node) []*G.Node {
	var res []*G.Node
	it := g.From(x.ID())
	if it == nil {
		return nil
	}
	for it.Next() {
		res = append(res, it.Node().(*G.Node))
	}
	return res
}

// dotQuote quotes s as a DOT string, newlines as \n.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
