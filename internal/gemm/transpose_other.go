//go:build !amd64 && !arm64

package gemm

// interleave8Asm reports that there is no assembly version here.
func interleave8Asm(dst []float32, stride int, cols *[8][]float32, kc int) bool { return false }
