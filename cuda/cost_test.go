package cuda

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/ir"
	"github.com/graphtrain/graphtrain/model"
)

// serialSteps is the longest loop one thread of a launch runs: tile steps for a product (a
// fused convolution's too), loads per thread for a sum. Every other kernel does a bounded amount per thread (a 10-class row, a
// 5x5 window). A GPU runs a launch no faster than its slowest thread, and a product of few
// tiles over a long K is few blocks doing all of the work.
func serialSteps(l Launch) int {
	switch l.Op {
	case ir.Gemm:
		p, _ := l.GemmParams()
		return blocks(p.K, gemmTile)
	case ir.GemmBias:
		p, _ := l.GemmParams()
		return blocks(p.K, gemmTile)
	case ir.GemmSplit:
		p, _ := l.GemmSplitParams()
		return blocks(p.KC, gemmTile)
	case ir.Conv, ir.ConvReLU: // steps of igStep taps
		c, _ := l.ConvParams()
		return blocks(c.C*c.KH*c.KW, igStep)
	case ir.ConvReLUPool:
		c, _ := l.ConvPoolParams()
		return blocks(c.Conv.C*c.Conv.KH*c.Conv.KW, igStep)
	case ir.ConvData: // the output's channels' taps
		c, _ := l.ConvParams()
		return blocks(c.Cout*c.KH*c.KW, igStep)
	case ir.RouteData:
		c, _ := l.ConvPoolParams()
		return blocks(c.Conv.Cout*c.Conv.KH*c.Conv.KW, igStep)
	case ir.ConvFilter, ir.ConvFilterSplit, ir.RouteFilter: // every output position of the batch, or of a part's images
		c, err := l.ConvParams()
		images := c.B
		if sp, e := l.ConvSplitParams(); e == nil {
			c, images = sp.Conv, sp.Images
		} else if rp, e := l.RouteFilterParams(); e == nil {
			c, images = rp.Conv, rp.Images
		} else if err != nil {
			return 0
		}
		step, name := filtTile, kernelFor(l).Name
		if strings.Contains(name, "_k64_") || strings.Contains(name, "_c8_") {
			step = filtWidePos
		}
		return blocks(images*c.OH*c.OW, step)
	case ir.ReduceSum:
		p, _ := l.ReduceSumParams()
		return blocks(p.Length, kernelFor(l).Block[0])
	case ir.FilterSum:
		p, _ := l.FilterSumParams()
		return blocks(p.Parts, kernelFor(l).Block[0])
	}
	return 0
}

// TestNoLongSerialLoops: at the default batch and at a large one (and the cnn at 8192), no
// product in the mlp's or the cnn's program (no fused convolution either) loops over more than 64 tiles of K in one thread (split-K cuts the rest),
// and no sum makes a thread load more than 256 values.
func TestNoLongSerialLoops(t *testing.T) {
	for _, batch := range []int{128, 1024, 8192} {
		mlp, _ := model.NewMLP(256, 1)
		cnn, _ := model.NewCNN(1)
		for _, m := range []*model.Model{mlp, cnn} {
			if batch == 8192 && m == mlp {
				continue // its first weight gradient (784x256 over 8192 rows) has too many tiles to split: not yet
			}
			p, _ := lowerModel(t, m, batch, "adam", 1e-3)
			worst, where := 0, ""
			for i, l := range p.Launches {
				s := serialSteps(l)
				limit := 64
				if l.Op == ir.ReduceSum || l.Op == ir.FilterSum {
					limit = 256
				}
				if s > limit {
					t.Errorf("%s batch %d: launch %d %s (%s) runs %d steps in a thread, more than %d", m.Spec.Kind, batch, i, kernelFor(l).Name, l.What, s, limit)
				}
				if s > worst {
					worst, where = s, fmt.Sprintf("launch %d %s %v", i, kernelFor(l).Name, l.Ints)
				}
			}
			t.Logf("%s batch %d: %d launches, the longest thread loop %d steps (%s)", m.Spec.Kind, batch, len(p.Launches), worst, where)
		}
	}
}

// TestLaunchLimits: the cnn lowers at a batch whose products have far more than 65535 row
// tiles (the rows go on the grid's x), and a launch beyond a device's grid or block limits is
// an error that names the batch and what to do.
func TestLaunchLimits(t *testing.T) {
	cnn, _ := model.NewCNN(1)
	p, _ := lowerModel(t, cnn, 2048, "adam", 1e-3)
	if err := checkLimits(p); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		op   ir.Op
		ints []int64
		grid [3]int
	}{
		{ir.Gemm, ir.GemmParams{M: 16, N: 65536 * 16, K: 1}.Ints(), [3]int{1, 65536, 1}},                                         // too many column tiles
		{ir.GemmSplit, ir.GemmSplitParams{GemmParams: ir.GemmParams{M: 16, N: 16, K: 70000}, KC: 1}.Ints(), [3]int{1, 1, 70000}}, // too many parts
		{ir.Binary, ir.BinaryParams{N: 256 << 31, SA: 1, SB: 1, Op: ir.Add}.Ints(), [3]int{1 << 31, 1, 1}},                       // too many blocks
		{ir.ReduceSum, ir.ReduceSumParams{Outer: 1 << 16, Length: 2, Inner: 1 << 16}.Ints(), [3]int{1 << 32, 1, 1}},              // too many sums
	} {
		q := *p
		q.Launches = append([]Launch{{Op: bad.op, What: "A × B", Node: 1, Ints: bad.ints}}, p.Launches...)
		var le *LaunchLimitError
		err := checkLimits(&q)
		if !errors.As(err, &le) || le.Batch != 2048 || le.Grid != bad.grid || !errors.Is(err, ErrLaunchLimit) || !strings.Contains(err.Error(), "batch 2048") {
			t.Errorf("%s %v: %v", bad.op, bad.ints, err)
		}
	}
}

func i64s(xs ...int) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}
