package gemm

//go:generate go run asmgen_neon.go

// kernNEON is the 8x12 NEON micro-kernel (kern_arm64.s).
//
//go:noescape
func kernNEON(k int, a, b, c *float32, ldc int, load int, sa, sb int)

// kernNEONx4 is the 4x16 NEON micro-kernel (kern_arm64.s), for products
// with 4 or fewer rows (after the optional transposition).
//
//go:noescape
func kernNEONx4(k int, a, b, c *float32, ldc int, load int, sa, sb int)

// archKernels offers NEON unconditionally: ASIMD is mandatory on arm64.
func archKernels() []*family {
	return []*family{{name: "neon", tiles: []*kernel{
		{mr: 8, nr: 12, fn: kernNEON},
		{mr: 4, nr: 16, fn: kernNEONx4},
	}}}
}
