package vec

// unpoolConsts4 are the NEON unpooling kernel's constants: ^7, 4, 3, 1, 2 and 1.0's bits.
var unpoolConsts4 = [8]uint32{^uint32(7), 4, 3, 1, 2, 0x3f800000}

// unpool2NEON is Unpool2 for the first body windows (a multiple of 4) of each row
// (unpool_arm64.s).
//
//go:noescape
func unpool2NEON(grid, route, dpooled *float32, gw, rows, n, body int, c *[8]uint32)

// unpool2N is Unpool2 on NEON, the last n%4 windows of each row in Go: the same bits.
func unpool2N(grid, route, dpooled []float32, gw, rows, n int) {
	body := n &^ 3
	if body > 0 {
		unpool2NEON(&grid[0], &route[0], &dpooled[0], gw, rows, n, body, &unpoolConsts4)
	}
	if body == n {
		return
	}
	for y := 0; y < rows; y++ {
		unpool2Go(grid[2*y*gw+2*body:], route[y*n+body:], dpooled[y*n+body:], gw, 1, n-body)
	}
}
