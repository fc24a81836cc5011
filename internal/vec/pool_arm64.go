package vec

// poolConsts4 are the NEON pooling kernel's constants.
var poolConsts4 = [4]float32{1, 2, 3, 4}

// pool2NEON is MaxPool2ReLU for the first body windows (a multiple of 4) of each row
// (pool_arm64.s).
//
//go:noescape
func pool2NEON(pooled, route, pre *float32, gw, rows, n, body int, c *[4]float32)

// pool2N is MaxPool2ReLU on NEON, the last n%4 windows of each row in Go: the same bits.
func pool2N(pooled, route, pre []float32, gw, rows, n int) {
	body := n &^ 3
	if body > 0 {
		pool2NEON(&pooled[0], &route[0], &pre[0], gw, rows, n, body, &poolConsts4)
	}
	if body == n {
		return
	}
	for y := 0; y < rows; y++ {
		pool2Go(pooled[y*n+body:], route[y*n+body:], pre[2*y*gw+2*body:], gw, 1, n-body)
	}
}
