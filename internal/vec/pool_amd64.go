package vec

// poolConsts are the constants of the pooling kernels (pool_amd64.s), at fixed offsets:
// the even and odd lanes' indices (0, 64), 1, 2, 3 and 4 in eight lanes each (128, 160,
// 192, 224) and the lanes' numbers (256).
type poolConsts struct {
	even, odd             [16]int32
	one, two, three, four [8]float32
	lane                  [8]int32
}

var pc = func() *poolConsts {
	c := &poolConsts{}
	for i := range c.even {
		c.even[i], c.odd[i] = int32(2*i), int32(2*i+1)
	}
	for i := range c.one {
		c.one[i], c.two[i], c.three[i], c.four[i], c.lane[i] = 1, 2, 3, 4, int32(i)
	}
	return c
}()

//go:noescape
func pool2AVX512(pooled, route, pre *float32, gw, rows, n int, c *poolConsts)

//go:noescape
func pool2AVX2(pooled, route, pre *float32, gw, rows, n int, c *poolConsts)

func pool2SIMD512(pooled, route, pre []float32, gw, rows, n int) {
	pool2AVX512(&pooled[0], &route[0], &pre[0], gw, rows, n, pc)
}

func pool2SIMD256(pooled, route, pre []float32, gw, rows, n int) {
	pool2AVX2(&pooled[0], &route[0], &pre[0], gw, rows, n, pc)
}

// unpoolConsts are the constants of unpool2AVX512 (unpool_amd64.s), at fixed offsets: the
// indices that interleave the first and the last 8 windows' two places (0, 64), then 1, 2,
// 3, 4 and 8 (128-144) and 1.0 (148).
type unpoolConsts struct {
	lo, hi                       [16]int32
	one, two, three, four, eight int32
	fone                         float32
}

var uc = func() *unpoolConsts {
	c := &unpoolConsts{one: 1, two: 2, three: 3, four: 4, eight: 8, fone: 1}
	for i := range 8 {
		c.lo[2*i], c.lo[2*i+1] = int32(i), int32(16+i)
		c.hi[2*i], c.hi[2*i+1] = int32(8+i), int32(24+i)
	}
	return c
}()

//go:noescape
func unpool2AVX512(grid, route, dpooled *float32, gw, rows, n int, c *unpoolConsts)

func unpool2SIMD512(grid, route, dpooled []float32, gw, rows, n int) {
	unpool2AVX512(&grid[0], &route[0], &dpooled[0], gw, rows, n, uc)
}

// unpoolConsts2 are the constants of unpool2AVX2: the lanes' numbers (0), then ^7, 4, 3, 1
// and 2 (32-48) and 1.0 (52).
type unpoolConsts2 struct {
	lane                            [8]int32
	notSeven, four, three, one, two int32
	fone                            float32
}

var uc2 = func() *unpoolConsts2 {
	c := &unpoolConsts2{notSeven: ^7, four: 4, three: 3, one: 1, two: 2, fone: 1}
	for i := range c.lane {
		c.lane[i] = int32(i)
	}
	return c
}()

//go:noescape
func unpool2AVX2(grid, route, dpooled *float32, gw, rows, n int, c *unpoolConsts2)

func unpool2SIMD256(grid, route, dpooled []float32, gw, rows, n int) {
	unpool2AVX2(&grid[0], &route[0], &dpooled[0], gw, rows, n, uc2)
}
