package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/graphtrain/graphtrain/internal/vec"
)

// TestRouteGridHalves: routeGrid's 2x2 windows on buffers a previous image wrote must leave
// no trace of it (the step reuses a worker's grids from image to image), written place by
// place and, where it is vectorised, by vec.Unpool2 (gridT then transposed from grid).
// Twice on the same buffers, each time bit for bit against the routed gradient built from
// zeros (the routed place gets the gradient times the route's mask, negative gradients and
// masked routes giving −0, routes of 8 and more none), on grid planes with margins, on the
// transposed grid, and on both at once.
func TestRouteGridHalves(t *testing.T) {
	for _, tc := range []struct{ cout, h, w, gw, stride int }{
		{6, 28, 28, 32, 28 * 32},     // the LeNet's first layer: rows past 2·OW
		{16, 10, 10, 14, 14*14 + 60}, // its second, the image gradient's planes
		{3, 11, 9, 13, 11*13 + 7},    // odd sides: a last row and column no window covers
	} {
		for _, which := range []string{"grid", "gridT", "both", "unpool grid", "unpool both"} {
			unpool := strings.HasPrefix(which, "unpool")
			if unpool && !vec.FastUnpool2() {
				continue // routeGrid takes vec.Unpool2 only where it is vectorised
			}
			which = strings.TrimPrefix(which, "unpool ")
			t.Run(fmt.Sprintf("%dx%dx%d/%s/unpool=%v", tc.cout, tc.h, tc.w, which, unpool), func(t *testing.T) {
				pg := tc.h * tc.gw
				j := &convJob[float32]{cout: tc.cout, gw: tc.gw, Pg: pg, pool: pool2{kh: 2, kw: 2, sh: 2, sw: 2, H: tc.h, W: tc.w, OH: tc.h / 2, OW: tc.w / 2}}
				j.setUnpool(unpool)
				if !j.pool.halves() {
					t.Fatal("not the halves pooling")
				}
				var grid, gridT []float32
				if which != "gridT" {
					grid = make([]float32, tc.cout*tc.stride)
				}
				if which != "grid" {
					gridT = make([]float32, pg*j.ldT)
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
									wantT[at*j.ldT+o] = m * dp[i]
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
// image (the first layer: 6 channels, 28x28 on rows of 32; the second: 16 channels, 10x10 on
// rows of 14, its grid on the image gradient's planes), as the step runs it: place by place
// (the first layer's onto gridT alone), and with vec.Unpool2 where it is vectorised (grid,
// then gridT from it).
func BenchmarkRouteGrid(b *testing.B) {
	for _, tc := range []struct {
		name                string
		cout, h, gw, stride int
		grid                bool
	}{
		{"conv1", 6, 28, 32, 28 * 32, false},
		{"conv2", 16, 10, 14, 14*14 + 60, true},
	} {
		for _, unpool := range []bool{false, true} {
			if unpool && !vec.FastUnpool2() {
				continue
			}
			b.Run(fmt.Sprintf("%s/unpool=%v", tc.name, unpool), func(b *testing.B) {
				pg := (tc.h*tc.gw + 31) &^ 31
				j := &convJob[float32]{cout: tc.cout, gw: tc.gw, Pg: pg, pool: pool2{kh: 2, kw: 2, sh: 2, sw: 2, H: tc.h, W: tc.h, OH: tc.h / 2, OW: tc.h / 2}}
				j.setUnpool(unpool)
				var grid []float32
				if tc.grid || unpool {
					grid = make([]float32, tc.cout*max(tc.stride, pg))
				}
				stride := max(tc.stride, pg)
				gridT := make([]float32, pg*j.ldT)
				n := tc.cout * (tc.h / 2) * (tc.h / 2)
				route, dp := make([]float32, n), make([]float32, n)
				r := rand.New(rand.NewSource(1))
				for i := range route {
					route[i], dp[i] = float32(r.Intn(8)), float32(r.NormFloat64())
				}
				for range b.N {
					j.routeGrid(route, dp, grid, stride, gridT)
				}
			})
		}
	}
}
