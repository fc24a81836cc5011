package gemm

// interleave8NEON is interleave8 for kc a positive multiple of 4, on NEON
// (transpose_arm64.s).
//
//go:noescape
func interleave8NEON(dst *float32, stride int, cols *[8]*float32, n int)

// interleave8Asm is interleave8 with its whole blocks of 4 values on NEON (mandatory on
// arm64), the rest in Go.
func interleave8Asm(dst []float32, stride int, cols *[8][]float32, kc int) bool {
	n := kc &^ 3
	if n > 0 {
		p := blockColumns(dst, stride, cols, n)
		interleave8NEON(&dst[0], stride, &p, n)
	}
	interleave8Tail(dst, stride, cols, n, kc)
	return true
}
