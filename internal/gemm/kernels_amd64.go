package gemm

import "golang.org/x/sys/cpu"

//go:generate go run asmgen.go

// kernAVX2 is the 6x16 AVX2+FMA micro-kernel (kern_amd64.s).
//
//go:noescape
func kernAVX2(k int, a, b, c *float32, ldc int, load int)

// kernAVX512 is the 12x32 AVX-512F micro-kernel (kern_amd64.s).
//
//go:noescape
func kernAVX512(k int, a, b, c *float32, ldc int, load int)

func archKernels() []*kernel {
	var ks []*kernel
	avx512 := &kernel{name: "avx512", mr: 12, nr: 32, fn: kernAVX512}
	avx2 := &kernel{name: "avx2", mr: 6, nr: 16, fn: kernAVX2}
	// x/sys/cpu reports AVX-512 and AVX only when the OS saves the registers.
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2)
	}
	return ks
}
