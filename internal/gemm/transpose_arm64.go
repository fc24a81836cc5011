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
		_ = dst[(n-1)*stride+7] // the assembly writes rows up to n−1
		var p [8]*float32
		for c := range p {
			p[c] = &cols[c][:n][0]
		}
		interleave8NEON(&dst[0], stride, &p, n)
	}
	if n < kc {
		var rest [8][]float32
		for c := range rest {
			rest[c] = cols[c][n:kc]
		}
		interleave8Go(dst[n*stride:], stride, &rest, kc-n)
	}
	return true
}
