package cuda

import (
	"fmt"
	"strings"
	"testing"

	"graphtrain/graph"
)

// serialSteps is the longest loop one thread of a launch runs: tile steps for a product, loads
// per thread for a sum. Every other kernel does a bounded amount per thread (a 10-class row, a
// 5x5 window). A GPU runs a launch no faster than its slowest thread, and a product of few
// tiles over a long K is few blocks doing all of the work.
func serialSteps(l Launch) int {
	switch l.Kernel[:len(l.Kernel)-4] {
	case "gemm":
		return blocks(int(l.Ints[2]), gemmTile)
	case "gemm_split":
		return blocks(int(l.Ints[5]), gemmTile)
	case "reduce_sum":
		return blocks(int(l.Ints[1]), l.Block[0])
	}
	return 0
}

// TestNoLongSerialLoops: at the default batch and at a large one, no product in the mlp's or
// the cnn's program loops over more than 64 tiles of K in one thread (split-K cuts the rest),
// and no sum makes a thread load more than 256 values.
func TestNoLongSerialLoops(t *testing.T) {
	for _, batch := range []int{128, 1024} {
		mlp, _ := graph.NewMLP(256, 1)
		cnn, _ := graph.NewCNN(1)
		for _, m := range []*graph.Model{mlp, cnn} {
			p, _ := lowerModel(t, m, batch, "adam", 1e-3)
			worst, where := 0, ""
			for i, l := range p.Launches {
				s := serialSteps(l)
				limit := 64
				if l.Kernel[:len(l.Kernel)-4] == "reduce_sum" {
					limit = 256
				}
				if s > limit {
					t.Errorf("%s batch %d: launch %d %s (%s) runs %d steps in a thread, more than %d", m.Spec.Kind, batch, i, l.Kernel, l.Op, s, limit)
				}
				if s > worst {
					worst, where = s, fmt.Sprintf("launch %d %s %v", i, l.Kernel, l.Ints)
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
	cnn, _ := graph.NewCNN(1)
	p, _ := lowerModel(t, cnn, 2048, "adam", 1e-3)
	if err := p.checkLimits(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ grid, block [3]int }{
		{[3]int{1, 65536, 1}, [3]int{16, 16, 1}},
		{[3]int{1, 1, 70000}, [3]int{16, 16, 1}},
		{[3]int{1 << 31, 1, 1}, [3]int{256, 1, 1}},
		{[3]int{1, 1, 1}, [3]int{64, 32, 1}},
	} {
		q := *p
		q.Launches = append([]Launch{{Kernel: "gemm_f32", Op: "A × B", Grid: bad.grid, Block: bad.block}}, p.Launches...)
		if err := q.checkLimits(); err == nil || !strings.Contains(err.Error(), "batch 2048") || !strings.Contains(err.Error(), "--batch") {
			t.Errorf("grid %v block %v: %v", bad.grid, bad.block, err)
		}
	}
}
