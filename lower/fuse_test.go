package lower_test

import (
	"slices"
	"testing"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/lower/lowertest"
)

// TestSoftmaxCrossEntropyFused: the mlp's and the cnn's loss and the gradient of their
// logits are the fused softmax_xent and one sum, none of the nine launches of Gorgonia's
// nodes for them (TestHostProgramMatchesTapeMachine checks the numbers); the xor net, whose
// loss is another, is lowered node by node.
func TestSoftmaxCrossEntropyFused(t *testing.T) {
	for _, tm := range lowertest.Models(t) {
		p, _ := lowertest.Lower(t, tm.M, tm.Batch, tm.Solver, tm.LR, lower.CUDA)
		ks := p.Ops()
		fused := slices.ContainsFunc(ks, func(k string) bool { return k == "softmax_xent/float32" || k == "softmax_xent/float64" })
		unfused := slices.ContainsFunc(ks, func(k string) bool { return k == "softmax/float32" || k == "softmax_back/float32" })
		switch tm.M.Spec.Kind {
		case "xor":
			if fused {
				t.Errorf("xor: fused a softmax cross-entropy it does not have: %v", ks)
			}
		default:
			if !fused || unfused {
				t.Errorf("%s: kernels %v, want softmax_xent and no softmax or softmax_back", tm.M.Spec.Kind, ks)
			}
			for i, l := range p.Launches {
				if l.Op == ir.SoftmaxXent && (p.Launches[i+1].Op != ir.ReduceSum || p.Launches[i+1].Args[1] != p.Loss) {
					t.Errorf("%s: the fused kernel's terms are not summed into the loss: %s", tm.M.Spec.Kind, p.Launches[i+1])
				}
			}
		}
	}
}

// TestDenseReLUFused: on the CPU target each hidden dense layer's product, bias and ReLU
// are one gemm_bias_relu, with no mask (ew_binary ≥) or product with it (⊙) left in the
// forward pass; the CUDA target keeps the three launches (it has no such kernel).
// TestHostProgramMatchesTapeMachine checks the numbers of both.
func TestDenseReLUFused(t *testing.T) {
	hidden := map[string]int{"xor": 0, "mlp": 1, "cnn": 2}
	for _, tm := range lowertest.Models(t) {
		for _, target := range []lower.Target{lower.CPU, lower.CUDA} {
			p, _ := lowertest.Lower(t, tm.M, tm.Batch, tm.Solver, tm.LR, target)
			fused, masks := 0, 0
			for _, l := range p.Launches {
				if l.Op == ir.GemmBiasReLU {
					fused++
				}
				if bp, err := l.BinaryParams(); err == nil && l.Role == ir.Forward && bp.Op == ir.Ge {
					masks++
				}
			}
			want := hidden[tm.M.Spec.Kind]
			if target.Name == "cuda" {
				want = 0
			}
			if fused != want || target.Name == "cpu" && masks != 0 {
				t.Errorf("%s on %s: %d gemm_bias_relu and %d masks in the forward pass, want %d and 0", tm.M.Spec.Kind, target.Name, fused, masks, want)
			}
		}
	}
}
