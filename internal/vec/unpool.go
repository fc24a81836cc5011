package vec

import "fmt"

// Unpool2 is MaxPool2ReLU's backward: it writes every place of the 2x2 windows of a plane
// of rows gw values apart. For window (y, x), y < rows and x < n (2n ≤ gw), with t the
// whole part of route[y·n+x] (toward zero): when 0 ≤ t < 8 (NaN: none), its place t mod 4 (0: grid[2y·gw+2x], 1:
// grid[2y·gw+2x+1], 2: grid[(2y+1)·gw+2x], 3: grid[(2y+1)·gw+2x+1]) gets g·m, g =
// dpooled[y·n+x] and m = 1 if t < 4 else 0 (the ReLU's mask the route carries), and its
// three other places +0; otherwise (no maximum in the window) all four get +0. Nothing
// else of grid is written. Every implementation gives the same bits; Fast reports whether
// the active one is vectorised (the portable one is slower than clearing the plane and
// writing the routed places alone).
func Unpool2(grid, route, dpooled []float32, gw, rows, n int) {
	if rows < 0 || n < 0 || 2*n > gw {
		panic(fmt.Sprintf("vec: Unpool2 of %d rows of %d windows in rows of %d", rows, n, gw))
	}
	if rows == 0 || n == 0 {
		return
	}
	if len(route) < rows*n || len(dpooled) < rows*n || len(grid) < (2*rows-1)*gw+2*n {
		panic(fmt.Sprintf("vec: Unpool2: %d routes, %d gradients, %d values for %d rows of %d windows in rows of %d",
			len(route), len(dpooled), len(grid), rows, n, gw))
	}
	if active.unpool2 == nil {
		unpool2Go(grid, route, dpooled, gw, rows, n)
		return
	}
	active.unpool2(grid, route, dpooled, gw, rows, n)
}

// FastUnpool2 reports whether Unpool2 is vectorised on the active implementation.
func FastUnpool2() bool { return active.unpool2 != nil }

func unpool2Go(grid, route, dpooled []float32, gw, rows, n int) {
	for y := 0; y < rows; y++ {
		r0, r1 := grid[2*y*gw:][:2*n], grid[(2*y+1)*gw:][:2*n]
		for x, r := range route[y*n:][:n] {
			var e [4]float32
			if r > -1 && r < 8 { // NaN neither
				t := int(r)
				var m float32
				if t < 4 {
					m = 1
				}
				e[t&3] = m * dpooled[y*n+x]
			}
			r0[2*x], r0[2*x+1], r1[2*x], r1[2*x+1] = e[0], e[1], e[2], e[3]
		}
	}
}
