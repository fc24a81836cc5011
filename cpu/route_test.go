package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestRouteGridHalves: routeGrid's 2x2 windows on buffers a previous image wrote must leave
// no trace of it (the step reuses a worker's grids from image to image). Twice on the same buffers,
// each time bit for bit against the routed gradient built from zeros (the routed place gets
// the gradient times the route's mask, negative gradients and masked routes giving −0,
// routes of 8 and more none), on grid planes with margins, on the transposed grid, and on
// both at once.
func TestRouteGridHalves(t *testing.T) {
	for _, tc := range []struct{ cout, h, w, gw, stride int }{
		{6, 28, 28, 32, 28 * 32},     // the LeNet's first layer: rows past 2·OW
		{16, 10, 10, 14, 14*14 + 60}, // its second, the image gradient's planes
		{3, 11, 9, 13, 11*13 + 7},    // odd sides: a last row and column no window covers
	} {
		for _, which := range []string{"grid", "gridT", "both"} {
			t.Run(fmt.Sprintf("%dx%dx%d/%s", tc.cout, tc.h, tc.w, which), func(t *testing.T) {
				j := &convJob[float32]{cout: tc.cout, gw: tc.gw, pool: pool2{kh: 2, kw: 2, sh: 2, sw: 2, H: tc.h, W: tc.w, OH: tc.h / 2, OW: tc.w / 2}}
				if !j.pool.halves() {
					t.Fatal("not the halves pooling")
				}
				pg := tc.h * tc.gw
				var grid, gridT []float32
				if which != "gridT" {
					grid = make([]float32, tc.cout*tc.stride)
				}
				if which != "grid" {
					gridT = make([]float32, pg*tc.cout)
				}
				r := rand.New(rand.NewSource(int64(tc.cout)))
				for round := range 2 {
					n := tc.cout * j.pool.OH * j.pool.OW
					route, dp := make([]float32, n), make([]float32, n)
					for i := range route {
						route[i] = float32(r.Intn(10)) // 4-7 masked, 8 and 9 no maximum
						dp[i] = float32(r.NormFloat64())
					}
					j.routeGrid(route, dp, grid, tc.stride, gridT)
					wantG, wantT := make([]float32, len(grid)), make([]float32, len(gridT))
					for o := range tc.cout {
						for y := range j.pool.OH {
							for x := range j.pool.OW {
								i := (o*j.pool.OH+y)*j.pool.OW + x
								place := int(route[i])
								if place >= 8 {
									continue
								}
								m := float32(0)
								if place < 4 {
									m = 1
								}
								at := (2*y+place>>1&1)*tc.gw + 2*x + place&1
								if grid != nil {
									wantG[o*tc.stride+at] = m * dp[i]
								}
								if gridT != nil {
									wantT[at*tc.cout+o] = m * dp[i]
								}
							}
						}
					}
					for name, pair := range map[string][2][]float32{"grid": {grid, wantG}, "gridT": {gridT, wantT}} {
						for i := range pair[0] {
							if math.Float32bits(pair[0][i]) != math.Float32bits(pair[1][i]) {
								t.Fatalf("image %d: %s[%d] = %v, want %v", round, name, i, pair[0][i], pair[1][i])
							}
						}
					}
				}
			})
		}
	}
}

// BenchmarkRouteGrid times routeGrid on the LeNet's two backward launches' shapes for one
// image: the first layer's transposed grid (6 channels, 28x28 on rows of 32), the second's
// grid planes and transposed grid (16 channels, 10x10 on rows of 14).
func BenchmarkRouteGrid(b *testing.B) {
	for _, tc := range []struct {
		name                string
		cout, h, gw, stride int
		grid                bool
	}{
		{"conv1_gridT", 6, 28, 32, 0, false},
		{"conv2_both", 16, 10, 14, 14*14 + 60, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			j := &convJob[float32]{cout: tc.cout, gw: tc.gw, pool: pool2{kh: 2, kw: 2, sh: 2, sw: 2, H: tc.h, W: tc.h, OH: tc.h / 2, OW: tc.h / 2}}
			var grid []float32
			if tc.grid {
				grid = make([]float32, tc.cout*tc.stride)
			}
			gridT := make([]float32, tc.h*tc.gw*tc.cout)
			n := tc.cout * (tc.h / 2) * (tc.h / 2)
			route, dp := make([]float32, n), make([]float32, n)
			r := rand.New(rand.NewSource(1))
			for i := range route {
				route[i], dp[i] = float32(r.Intn(8)), float32(r.NormFloat64())
			}
			for range b.N {
				j.routeGrid(route, dp, grid, tc.stride, gridT)
			}
		})
	}
}
