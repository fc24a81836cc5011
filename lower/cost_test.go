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
// buffers; the CPU's fused program moves fewer bytes than the CUDA target's for the cnn (whose
// backward convolutions are not one launch).
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
		switch l.Op {
		case ir.Gemm, ir.GemmSplit:
			products += per[i].FLOPs
		case ir.GemmBias, ir.GemmMul: // and one add of the bias, or one product, a value
			g, _ := l.GemmParams()
			products += per[i].FLOPs - int64(g.M*g.N)
		case ir.GemmBiasReLU: // and the bias, the mask and the product with it
			g, _ := l.GemmParams()
			products += per[i].FLOPs - 3*int64(g.M*g.N)
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

// cnnSteps lowers the cnn's training step at batch 8192 (Adam) for targets a and b and costs
// both.
func cnnSteps(t *testing.T, a, b lower.Target) (pa, pb *ir.Program, ca, cb ir.Cost) {
	t.Helper()
	cnn := lowertest.Model(t, "cnn")
	pa, _ = lowertest.Lower(t, cnn, 8192, "adam", 1e-3, a)
	pb, _ = lowertest.Lower(t, cnn, 8192, "adam", 1e-3, b)
	ca, _, err1 := pa.Cost()
	cb, _, err2 := pb.Cost()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return pa, pb, ca, cb
}

// TestCUDAConvSaves: at batch 8192 the CUDA target's cnn step (fused convolutions, no column
// matrix) moves at least 3x fewer bytes than the same program with the convolutions as
// im2col, products and transposes and the biases as broadcasts (the CUDA target before the
// fusions), by the cost model.
func TestCUDAConvSaves(t *testing.T) {
	old := lower.Target{Name: "cuda", SplitK: lower.CUDA.SplitK}
	fused, plain, f, p := cnnSteps(t, lower.CUDA, old)
	t.Logf("cnn step at batch 8192, cuda target: %d launches, %.1f MB moved; without the fusions %d launches, %.1f MB (%.2fx)",
		len(fused.Launches), float64(f.Bytes())/1e6, len(plain.Launches), float64(p.Bytes())/1e6, float64(p.Bytes())/float64(f.Bytes()))
	if 3*f.Bytes() > p.Bytes() {
		t.Errorf("the fused program moves %d bytes, the unfused %d: less than 3x fewer", f.Bytes(), p.Bytes())
	}
	for _, l := range fused.Launches {
		if l.Op == ir.Im2col || l.Op == ir.Col2im {
			t.Errorf("launch %s (%s): the fused program lays out columns", l.Op, l.What)
		}
	}
}

// TestCUDARoutesSave: the CUDA target's cnn step reads each convolution's gradient through
// its pooling's route (RouteFilter, with the bias as a tap, FilterSum, RouteData) instead of
// storing the routed gradient (PoolRouteBack) and summing it for the bias (three ReduceSums a
// layer): at batch 8192 no PoolRouteBack is left, there are 8 launches fewer and, by the cost
// model, at least 2x fewer bytes than the same target without FuseRoutes.
func TestCUDARoutesSave(t *testing.T) {
	stored := lower.CUDA
	stored.FuseRoutes = false
	routed, plain, r, p := cnnSteps(t, lower.CUDA, stored)
	t.Logf("cnn step at batch 8192, cuda target: %d launches, %.1f MB moved; the routed gradients stored: %d launches, %.1f MB (%.2fx)",
		len(routed.Launches), float64(r.Bytes())/1e6, len(plain.Launches), float64(p.Bytes())/1e6, float64(p.Bytes())/float64(r.Bytes()))
	count := map[ir.Op]int{}
	for _, l := range routed.Launches {
		count[l.Op]++
	}
	if count[ir.PoolRouteBack] != 0 || count[ir.RouteFilter] != 2 || count[ir.FilterSum] != 2 || count[ir.RouteData] != 1 || count[ir.ConvFilterSplit] != 0 {
		t.Errorf("launches by op %v: want two RouteFilters and FilterSums, one RouteData, no PoolRouteBack", count)
	}
	if len(plain.Launches)-len(routed.Launches) != 8 || 2*r.Bytes() > p.Bytes() {
		t.Errorf("%d launches moving %d bytes, stored %d moving %d: want 8 fewer and 2x fewer bytes", len(routed.Launches), r.Bytes(), len(plain.Launches), p.Bytes())
	}
}
