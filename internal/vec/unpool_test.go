package vec

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestUnpool2 checks Unpool2 on every implementation bit for bit against the windows built
// one by one (the routed place gets the gradient times the route's mask, the others +0):
// routes of every place, masked, of no maximum (8 and more, negative, NaN) and not whole;
// gradients negative, zero of both signs, infinite and NaN; rows of 1 to 40 windows (the
// SIMD chunks' ends). What lies outside the windows must keep its sentinel.
func TestUnpool2(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	specialRoutes := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, nan, 2.5, 1e10, -0.5}
	specialGrads := []float32{1.5, -2, 0, float32(math.Copysign(0, -1)), inf, -inf, nan}
	forEachImpl(t, func(name string) {
		r := rand.New(rand.NewSource(3))
		for _, rows := range []int{1, 2, 3} {
			for n := 1; n <= 40; n++ {
				gw := 2*n + r.Intn(5)
				t.Run(fmt.Sprintf("%s/%dx%d/gw%d", name, rows, n, gw), func(t *testing.T) {
					route, dp := make([]float32, rows*n), make([]float32, rows*n)
					for i := range route {
						route[i] = specialRoutes[r.Intn(len(specialRoutes))]
						dp[i] = float32(r.NormFloat64())
						if r.Intn(4) == 0 {
							dp[i] = specialGrads[r.Intn(len(specialGrads))]
						}
					}
					const sentinel = 12345.5
					grid := make([]float32, 2*rows*gw+3)
					for i := range grid {
						grid[i] = sentinel
					}
					want := append([]float32(nil), grid...)
					for y := range rows {
						for x := range n {
							for q := range 4 {
								want[(2*y+q>>1)*gw+2*x+q&1] = 0
							}
							tv := route[y*n+x]
							if !(tv > -1 && tv < 8) { // the whole part 0 to 7
								continue
							}
							place := int(tv)
							m := float32(0)
							if place < 4 {
								m = 1
							}
							want[(2*y+place>>1&1)*gw+2*x+place&1] = m * dp[y*n+x]
						}
					}
					Unpool2(grid, route, dp, gw, rows, n)
					for i := range grid {
						if math.Float32bits(grid[i]) != math.Float32bits(want[i]) {
							t.Fatalf("grid[%d] (row %d, column %d) = %v, want %v", i, i/gw, i%gw, grid[i], want[i])
						}
					}
				})
			}
		}
	})
}

// TestUnpool2Checks: sizes that do not fit panic with a message, before anything is written.
func TestUnpool2Checks(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		grid, route, dp, gw, rows, n int
	}{
		{"windows wider than the row", 16, 4, 4, 3, 1, 2},
		{"short grid", 10, 4, 4, 4, 2, 2},
		{"short routes", 16, 3, 4, 4, 2, 2},
		{"short gradients", 16, 4, 3, 4, 2, 2},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			Unpool2(make([]float32, tc.grid), make([]float32, tc.route), make([]float32, tc.dp), tc.gw, tc.rows, tc.n)
		}()
	}
}
