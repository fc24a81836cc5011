package lower_test

import (
	"testing"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
)

// TestCostCountsProducts: the cost model counts an mlp step's products exactly (the first
// layer's input gradient is never computed), and every launch's bytes are those of its
// buffers; the CPU's fused program moves fewer bytes than the CUDA target's for the cnn.
func TestCostCountsProducts(t *testing.T) {
	const b, h = 8, 32
	m, err := model.NewMLP(h, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := lowertest.Lower(t, m, b, "adam", 1e-3, lower.CUDA)
	total, per, err := p.Cost()
	if err != nil {
		t.Fatal(err)
	}
	var products, bytes int64
	for i, l := range p.Launches {
		if l.Op == ir.Gemm || l.Op == ir.GemmSplit {
			products += per[i].FLOPs
		}
		bytes += per[i].Bytes()
	}
	if want := int64(2*(2*b*784*h) + 3*(2*b*h*10)); products != want {
		t.Errorf("products: %d FLOPs, want %d", products, want)
	}
	if bytes != total.Bytes() || total.FLOPs <= products {
		t.Errorf("total %+v, launches' bytes %d", total, bytes)
	}
	cnn := lowertest.Model(t, "cnn")
	cpu, _ := lowertest.Lower(t, cnn, b, "adam", 1e-3, lower.CPU)
	cuda, _ := lowertest.Lower(t, cnn, b, "adam", 1e-3, lower.CUDA)
	cpuCost, _, err1 := cpu.Cost()
	cudaCost, _, err2 := cuda.Cost()
	if err1 != nil || err2 != nil || cpuCost.Bytes() >= cudaCost.Bytes() {
		t.Errorf("cnn step: cpu %+v, cuda %+v (%v, %v)", cpuCost, cudaCost, err1, err2)
	}
	t.Logf("cnn step at batch %d: cpu %.2f MB moved, %.1f MFLOP; cuda %.2f MB, %.1f MFLOP", b,
		float64(cpuCost.Bytes())/1e6, float64(cpuCost.FLOPs)/1e6, float64(cudaCost.Bytes())/1e6, float64(cudaCost.FLOPs)/1e6)
}
