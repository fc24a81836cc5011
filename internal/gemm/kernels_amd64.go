package gemm

import "golang.org/x/sys/cpu"

//go:generate go run asmgen.go

// kernAVX2 is the 6x16 AVX2+FMA micro-kernel (kern_amd64.s).
//
//go:noescape
func kernAVX2(k int, a, b, c *float32, ldc int, load int, sa, sb int)

// kernAVX512 is the 12x32 AVX-512F micro-kernel (kern_amd64.s).
//
//go:noescape
func kernAVX512(k int, a, b, c *float32, ldc int, load int, sa, sb int)

// kernAVX512x8 is the 8x32 AVX-512F micro-kernel (kern_amd64.s), for products of 16 rows
// (a convolution's 16 channels: two whole tiles, where 12x32 computes 24 rows).
//
//go:noescape
func kernAVX512x8(k int, a, b, c *float32, ldc int, load int, sa, sb int)

// kernAVX512x6 is the 6x32 AVX-512F micro-kernel (kern_amd64.s), for
// products with 6 or fewer rows (after the optional transposition).
//
//go:noescape
func kernAVX512x6(k int, a, b, c *float32, ldc int, load int, sa, sb int)

// The ...Off kernels read B's row p at b + off[p] (kern_amd64.s).
//
//go:noescape
func kernAVX2Off(k int, a, b, c *float32, ldc int, load int, sa int, off *int)

//go:noescape
func kernAVX512Off(k int, a, b, c *float32, ldc int, load int, sa int, off *int)

//go:noescape
func kernAVX512x8Off(k int, a, b, c *float32, ldc int, load int, sa int, off *int)

//go:noescape
func kernAVX512x6Off(k int, a, b, c *float32, ldc int, load int, sa int, off *int)

// kernAVX512Rows8 is the 8x16 AVX-512F micro-kernel whose A is read in place by rows, row
// i at a + off[i] (kern_amd64.s; SgemmARows).
//
//go:noescape
func kernAVX512Rows8(k int, a *float32, off *int, b, c *float32, ldc int, load int, sb int)

// kernAVX2Rows6 is its 6x16 AVX2+FMA counterpart (kern_amd64.s).
//
//go:noescape
func kernAVX2Rows6(k int, a *float32, off *int, b, c *float32, ldc int, load int, sb int)

func archKernels() []*family {
	var fs []*family
	// x/sys/cpu reports AVX-512 and AVX only when the OS saves the registers.
	if cpu.X86.HasAVX512F {
		fs = append(fs, &family{name: "avx512", tiles: []*kernel{
			{mr: 12, nr: 32, fn: kernAVX512, fnOff: kernAVX512Off},
			{mr: 6, nr: 32, fn: kernAVX512x6, fnOff: kernAVX512x6Off},
			{mr: 8, nr: 32, fn: kernAVX512x8, fnOff: kernAVX512x8Off},
		}, rowsA: &rowsKernel{mr: 8, nr: 16, fn: kernAVX512Rows8}})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		fs = append(fs, &family{name: "avx2", tiles: []*kernel{{mr: 6, nr: 16, fn: kernAVX2, fnOff: kernAVX2Off}},
			rowsA: &rowsKernel{mr: 6, nr: 16, fn: kernAVX2Rows6}})
	}
	return fs
}
