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

// TestDenseFusions: on the CPU and CUDA targets each hidden dense layer's product, bias and
// ReLU are one gemm_bias_relu, with no mask (ew_binary ≥) left in the forward pass, and the
// gradient of each dense layer's input times the derivative of the activation before it (the
// ReLU's mask, the xor net's sigmoid's) one gemm_mul, with no product of a gemm's output left.
// TestHostProgramMatchesTapeMachine checks the numbers of both.
func TestDenseFusions(t *testing.T) {
	want := map[string][2]int{"xor": {0, 1}, "mlp": {1, 1}, "cnn": {2, 2}}
	for _, tm := range lowertest.Models(t) {
		for _, target := range []lower.Target{lower.CPU, lower.CUDA} {
			p, _ := lowertest.Lower(t, tm.M, tm.Batch, tm.Solver, tm.LR, target)
			var got [2]int
			masks, products := 0, 0
			gemmOut := map[int]bool{}
			for _, l := range p.Launches {
				switch l.Op {
				case ir.GemmBiasReLU:
					got[0]++
				case ir.GemmMul:
					got[1]++
				case ir.Gemm:
					gemmOut[l.Args[2]] = true
				}
				if bp, err := l.BinaryParams(); err == nil && l.Role == ir.Forward && bp.Op == ir.Ge {
					masks++
				}
				if isMul(l) && (gemmOut[l.Args[0]] || gemmOut[l.Args[1]]) {
					products++
				}
			}
			w := want[tm.M.Spec.Kind]
			if got != w || masks != 0 || products != 0 {
				t.Errorf("%s on %s: %d gemm_bias_relu, %d gemm_mul, %d masks in the forward pass and %d products of a gemm's output, want %v and 0, 0",
					tm.M.Spec.Kind, target.Name, got[0], got[1], masks, products, w)
			}
		}
	}
}

// isMul reports whether l is an elementwise product of two buffers.
func isMul(l ir.Launch) bool {
	bp, err := l.BinaryParams()
	return err == nil && bp.Op == ir.Mul && bp.SA == 1 && bp.SB == 1
}
