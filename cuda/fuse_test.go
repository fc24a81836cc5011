package cuda

import (
	"slices"
	"testing"
)

// TestSoftmaxCrossEntropyFused: the mlp's and the cnn's loss and the gradient of their
// logits are the fused softmax_xent and one sum, none of the nine launches of Gorgonia's
// nodes for them (TestHostProgramMatchesTapeMachine checks the numbers); the xor net, whose
// loss is another, is lowered node by node.
func TestSoftmaxCrossEntropyFused(t *testing.T) {
	for _, tm := range testModels(t) {
		p, _ := lowerModel(t, tm.m, tm.batch, tm.solver, tm.lr)
		ks := p.Kernels()
		fused := slices.ContainsFunc(ks, func(k string) bool { return k == "softmax_xent_f32" || k == "softmax_xent_f64" })
		unfused := slices.ContainsFunc(ks, func(k string) bool { return k == "softmax_f32" || k == "softmax_back_f32" })
		switch tm.m.Spec.Kind {
		case "xor":
			if fused {
				t.Errorf("xor: fused a softmax cross-entropy it does not have: %v", ks)
			}
		default:
			if !fused || unfused {
				t.Errorf("%s: kernels %v, want softmax_xent and no softmax or softmax_back", tm.m.Spec.Kind, ks)
			}
			for i, l := range p.Launches {
				if l.Kernel == "softmax_xent_f32" && (p.Launches[i+1].Kernel != "reduce_sum_f32" || p.Launches[i+1].Args[1] != p.Loss) {
					t.Errorf("%s: the fused kernel's terms are not summed into the loss: %s", tm.m.Spec.Kind, p.Launches[i+1])
				}
			}
		}
	}
}
