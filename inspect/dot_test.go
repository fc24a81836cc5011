package inspect

import (
	"bytes"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/model"
)

// Every node of the graph, with and without its backward pass, is in the DOT text, and so is
// every edge.
func TestWriteDOTHasEveryNode(t *testing.T) {
	xor, _ := model.NewXOR(3, true, 1)
	mlp, _ := model.NewMLP(5, 1)
	cnn, _ := model.NewCNN(1)
	for _, m := range []*model.Model{xor, mlp, cnn} {
		for _, grad := range []bool{false, true} {
			net, err := m.Build(2, grad)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteDOT(&buf, net); err != nil {
				t.Fatal(err)
			}
			dot := buf.String()
			if !strings.HasPrefix(dot, "digraph ") || !strings.HasSuffix(dot, "}\n") {
				t.Fatalf("%s: not a digraph:\n%.200s", m.Spec.Kind, dot)
			}
			for _, x := range net.G.AllNodes() {
				if !strings.Contains(dot, "\t"+DOTID(x)+" [label=") {
					t.Errorf("%s grad=%v: node %s (%s) missing", m.Spec.Kind, grad, DOTID(x), x.Name())
				}
				for _, c := range children(net.G, x) {
					if !strings.Contains(dot, "\t"+DOTID(c)+" -> "+DOTID(x)) {
						t.Errorf("%s: edge %s -> %s missing", m.Spec.Kind, DOTID(c), DOTID(x))
					}
				}
			}
			for _, p := range m.Params {
				if !strings.Contains(dot, `"parameter\n`+p.Name+`\n`) {
					t.Errorf("%s: parameter %s not labelled", m.Spec.Kind, p.Name)
				}
				if grad != strings.Contains(dot, `d loss / d `+p.Name+`\n`) {
					t.Errorf("%s grad=%v: gradient of %s labelled %v", m.Spec.Kind, grad, p.Name, !grad)
				}
			}
			if !strings.Contains(dot, `"loss\n`) || !strings.Contains(dot, `"input x\nx\n[2×`) || grad != strings.Contains(dot, "style=dashed") {
				t.Errorf("%s grad=%v: loss, input or backward styling missing", m.Spec.Kind, grad)
			}
		}
	}
}
