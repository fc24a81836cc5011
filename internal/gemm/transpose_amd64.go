package gemm

import "golang.org/x/sys/cpu"

// interleave8AVX is interleave8 for kc a positive multiple of 8, on AVX
// (transpose_amd64.s).
//
//go:noescape
func interleave8AVX(dst *float32, stride int, cols *[8]*float32, n int)

var hasAVX = cpu.X86.HasAVX

// interleave8Asm is interleave8 with its whole blocks of 8 values on AVX; it
// reports false, having done nothing, where the CPU has no AVX.
func interleave8Asm(dst []float32, stride int, cols *[8][]float32, kc int) bool {
	if !hasAVX {
		return false
	}
	n := kc &^ 7
	if n > 0 {
		p := blockColumns(dst, stride, cols, n)
		interleave8AVX(&dst[0], stride, &p, n)
	}
	interleave8Tail(dst, stride, cols, n, kc)
	return true
}
