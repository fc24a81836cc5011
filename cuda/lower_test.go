package cuda

import (
	"slices"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/lower"
	"github.com/graphtrain/graphtrain/lower/lowertest"
	"github.com/graphtrain/graphtrain/model"
)

// lowerModel is lowertest.Lower for the CUDA target, checked against a device's limits as
// Lower checks it.
func lowerModel(t testing.TB, m *model.Model, batch int, solver string, lr float64) (*Program, *model.Solver) {
	t.Helper()
	p, s := lowertest.Lower(t, m, batch, solver, lr, lower.CUDA)
	if err := checkLimits(p); err != nil {
		t.Fatalf("%s: %v", m.Spec.Kind, err)
	}
	return p, s
}

// TestLowerPrograms lowers each model and compares the program (kernels, buffers, slots, in
// order) with testdata/program_<kind>.txt.
func TestLowerPrograms(t *testing.T) {
	for _, tm := range lowertest.Models(t) {
		p, _ := lowerModel(t, tm.M, tm.Batch, tm.Solver, tm.LR)
		t.Logf("%s: %d launches, kernels %v, %d buffers in %d slots, %d bytes", p.Kind, len(p.Launches), programKernels(p), len(p.Buffers), len(p.Slots), p.Bytes())
		lowertest.Golden(t, "program_"+p.Kind+".txt", p.Dump(describe))
		lowertest.CheckPlan(t, p)
	}
}

// TestLowerDeepMLP lowers a three-hidden-layer mlp and compares its program with
// testdata/program_mlp_deep.txt: one more dense layer is one more product, bias and ReLU
// forward and their gradients backward.
func TestLowerDeepMLP(t *testing.T) {
	m, err := model.NewDeepMLP([]int{24, 16, 12}, 3)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := lowerModel(t, m, 8, "adam", 1e-3)
	t.Logf("deep mlp: %d launches, kernels %v, %d buffers in %d slots, %d bytes", len(p.Launches), programKernels(p), len(p.Buffers), len(p.Slots), p.Bytes())
	lowertest.Golden(t, "program_mlp_deep.txt", p.Dump(describe))
	lowertest.CheckPlan(t, p)
}

// TestConvBeyond32Bits: a convolution whose buffers hold 2^30 values or more is not fused (the
// fused kernels' indices are 32-bit): lowered for a target whose limit the cnn's first
// convolution passes, its columns come back (im2col and products, the kernels of before),
// the second stays fused, and CUDA has a kernel for every launch; a fused launch of such
// sizes has no kernel.
func TestConvBeyond32Bits(t *testing.T) {
	cnn, _ := model.NewCNN(1)
	small := lower.CUDA
	small.ConvIndexLimit = 8 * 6 * 28 * 28 // the first convolution's output at batch 8
	p, _ := lowertest.Lower(t, cnn, 8, "adam", 1e-3, small)
	if err := checkLimits(p); err != nil {
		t.Fatal(err)
	}
	count := map[ir.Op]int{}
	for _, l := range p.Launches {
		count[l.Op]++
	}
	if count[ir.Im2col] != 1 || count[ir.Col2im] != 0 || count[ir.ConvReLUPool] != 1 || count[ir.RouteData] != 1 || count[ir.RouteFilter] != 1 {
		t.Errorf("launches by op %v: want the first convolution's im2col and the second fused", count)
	}
	huge := ir.ConvParams{ConvGeom: ir.ConvGeom{B: 1 << 20, C: 1, H: 64, W: 64, KH: 1, KW: 1, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1, OH: 64, OW: 64}, Cout: 1}
	for _, op := range []ir.Op{ir.Conv, ir.ConvReLU, ir.ConvData, ir.ConvFilter} {
		k := kernelFor(Launch{Op: op, Dtype: ir.Float32, Ints: huge.Ints()})
		if k.supported || !strings.Contains(k.unsupportedW, "32-bit") {
			t.Errorf("%s of 2^32 values: kernel %s, supported %v (%s)", op, k.Name, k.supported, k.unsupportedW)
		}
	}
	pool := ir.ConvPoolParams{Conv: huge, Pool: ir.PoolGeom{B: 1 << 20, C: 1, H: 64, W: 64, KH: 2, KW: 2, StrideH: 2, StrideW: 2, OH: 32, OW: 32}}
	for _, l := range []Launch{{Op: ir.ConvReLUPool, Ints: pool.Ints()}, {Op: ir.RouteData, Ints: pool.Ints()},
		{Op: ir.RouteFilter, Ints: ir.RouteFilterParams{ConvPoolParams: pool, Images: 1 << 10}.Ints()}} {
		l.Dtype = ir.Float32
		if k := kernelFor(l); k.supported || !strings.Contains(k.unsupportedW, "32-bit") {
			t.Errorf("%s of 2^32 values: kernel %s, supported %v (%s)", l.Op, k.Name, k.supported, k.unsupportedW)
		}
	}
}

// TestWideProductsByShape: a product takes the _t64 kernel (64x64 tiles) where its C has many
// tiles and both sides fill one, the 16x16 one elsewhere: at batch 128 none of the mlp's
// products, at batch 8192 its first layer (with its ReLU), the gradient of the hidden layer
// (8192x256, times the ReLU's mask) and the first weights' gradient (784x256, 52 wide tiles, split along K in 16 parts: 832
// blocks), not the 10-wide output layer nor its weights' gradient; one grid block per tile
// and part either way.
func TestWideProductsByShape(t *testing.T) {
	mlp, _ := model.NewMLP(256, 1)
	for _, c := range []struct {
		batch int
		want  map[string]int // kernels of the program's products: how many
	}{
		{128, map[string]int{"gemm_bias_relu_f32": 1, "gemm_bias_f32": 1, "gemm_mul_f32": 1, "gemm_f32": 2}},
		{8192, map[string]int{"gemm_bias_relu_t64_f32": 1, "gemm_bias_f32": 1, "gemm_mul_t64_f32": 1, "gemm_split_t64_f32": 1, "gemm_split_f32": 1}},
	} {
		p, _ := lowerModel(t, mlp, c.batch, "adam", 1e-3)
		got := map[string]int{}
		for _, l := range p.Launches {
			switch l.Op {
			case ir.Gemm, ir.GemmBias, ir.GemmBiasReLU, ir.GemmMul, ir.GemmSplit:
			default:
				continue
			}
			k := kernelFor(l)
			got[k.Name]++
			g, err := l.GemmParams()
			if l.Op == ir.GemmSplit {
				var sp ir.GemmSplitParams
				sp, err = l.GemmSplitParams()
				g = sp.GemmParams
			}
			if err != nil {
				t.Fatal(err)
			}
			tile := gemmTile
			if strings.Contains(k.Name, "_t64_") {
				tile = gemmWide
			}
			parts := 1
			if l.Op == ir.GemmSplit {
				sp, _ := l.GemmSplitParams()
				parts = blocks(g.K, sp.KC)
			}
			if k.Grid != [3]int{blocks(g.M, tile), blocks(g.N, tile), parts} || k.Block != [3]int{16, 16, 1} {
				t.Errorf("batch %d, %s %dx%d: grid %v block %v", c.batch, k.Name, g.M, g.N, k.Grid, k.Block)
			}
		}
		for name, n := range c.want {
			if got[name] != n {
				t.Errorf("batch %d: %d products on %s, want %d (all: %v)", c.batch, got[name], name, n, got)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("batch %d: products on %v, want %v", c.batch, got, c.want)
		}
	}
}

// TestFilterKernelsByShape: the cnn's filter gradients (read through their routes) take the
// _c8 kernel for its first layer (6 channels, 25 taps and the bias's) up to 2047 parts and the
// _t4 kernel from 2048 (a part an image: batch 8192), the _k64 kernel for its second (150 taps
// and the bias's), with a block a part and a 16-thread group a part.
func TestFilterKernelsByShape(t *testing.T) {
	cnn, _ := model.NewCNN(1)
	for _, c := range []struct {
		batch int
		want  []string
		grids [][3]int
	}{
		{128, []string{"route_filter_k64_f32", "route_filter_c8_f32"}, [][3]int{{3, 1, 26}, {1, 1, 128}}},
		{2047, []string{"route_filter_k64_f32", "route_filter_c8_f32"}, [][3]int{{3, 1, 410}, {1, 1, 2047}}},
		{2048, []string{"route_filter_k64_f32", "route_filter_t4_f32"}, [][3]int{{3, 1, 410}, {1, 1, 256}}},
		{8192, []string{"route_filter_k64_f32", "route_filter_t4_f32"}, [][3]int{{3, 1, 1639}, {1, 1, 1024}}},
	} {
		p, _ := lowerModel(t, cnn, c.batch, "adam", 1e-3)
		var got []string
		var grids [][3]int
		for _, l := range p.Launches {
			if l.Op == ir.RouteFilter {
				k := kernelFor(l)
				got, grids = append(got, k.Name), append(grids, k.Grid)
			}
		}
		if !slices.Equal(got, c.want) || !slices.Equal(grids, c.grids) {
			t.Errorf("batch %d: filter kernels %v, grids %v; want %v, %v", c.batch, got, grids, c.want, c.grids)
		}
	}
}
