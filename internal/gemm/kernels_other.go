//go:build !amd64

package gemm

func archKernels() []*family { return nil }
