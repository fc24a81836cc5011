#include "textflag.h"

// The 2x2 max pooling's backward (unpool.go's Unpool2), written by hand. Each chunk loads
// the routes and gradients of up to 16 windows of a row (under a mask of the windows
// left), makes the four places' values (the gradient times the route's mask at the routed
// place, zero at the others) and interleaves them into the two grid rows: 2·L values a row,
// stored under masks. c points to unpoolConsts.

// func unpool2AVX512(grid, route, dpooled *float32, gw, rows, n int, c *unpoolConsts)
TEXT ·unpool2AVX512(SB), NOSPLIT, $0-56
	MOVQ grid+0(FP), DI
	MOVQ route+8(FP), SI
	MOVQ dpooled+16(FP), AX
	MOVQ gw+24(FP), R8
	SHLQ $2, R8
	MOVQ rows+32(FP), R9
	MOVQ n+40(FP), R10
	MOVQ c+48(FP), BX
	VMOVDQU32 0(BX), Z28      // the first 8 windows' places, interleaved: 0, 16, 1, 17, ...
	VMOVDQU32 64(BX), Z29     // the last 8's: 8, 24, 9, 25, ...
	VPBROADCASTD 128(BX), Z20 // 1
	VPBROADCASTD 132(BX), Z21 // 2
	VPBROADCASTD 136(BX), Z24 // 3
	VPBROADCASTD 140(BX), Z25 // 4
	VPBROADCASTD 144(BX), Z26 // 8
	VBROADCASTSS 148(BX), Z27 // 1.0
	VPXORD Z23, Z23, Z23

unpool2AVX512_row:
	MOVQ DI, R11         // the row pair's first row
	LEAQ (DI)(R8*1), R12 // its second
	MOVQ R10, R13        // windows left in the row

unpool2AVX512_chunk:
	MOVQ $16, CX
	CMPQ R13, CX
	CMOVQLT R13, CX // CX = the chunk's windows, at most 16
	MOVQ $1, DX
	SHLQ CX, DX
	DECQ DX
	KMOVW DX, K7    // the chunk's windows
	SHLQ $1, CX
	MOVQ $1, DX
	SHLQ CX, DX
	DECQ DX         // 2 values a window: windows 0-7 in the low 16 bits, 8-15 in the next
	KMOVW DX, K5
	SHRQ $16, DX
	KMOVW DX, K6
	SHRQ $1, CX
	VMOVUPS.Z 0(SI), K7, Z0 // routes
	VMOVUPS.Z 0(AX), K7, Z1 // gradients
	VCVTTPS2DQ Z0, Z2       // t (NaN and out of range: 0x80000000)
	VPCMPUD $1, Z26, Z2, K1 // t < 8 (unsigned): a routed place
	VPCMPUD $1, Z25, Z2, K2 // t < 4: the ReLU lets it through
	VMOVUPS.Z Z27, K2, Z3   // 1 or 0
	VMULPS Z3, Z1, Z4       // the value: gradient times the mask
	VPANDD Z24, Z2, Z5       // the place, t mod 4
	VPCMPEQD Z23, Z5, K1, K3 // place 0
	VMOVUPS.Z Z4, K3, Z6
	VPCMPEQD Z20, Z5, K1, K3 // place 1
	VMOVUPS.Z Z4, K3, Z10
	VPCMPEQD Z21, Z5, K1, K3 // place 2
	VMOVUPS.Z Z4, K3, Z11
	VPCMPEQD Z24, Z5, K1, K3 // place 3
	VMOVUPS.Z Z4, K3, Z9
	// First row: places 0 and 1 interleaved; second row: places 2 and 3.
	VMOVDQA32 Z28, Z12
	VPERMI2PS Z10, Z6, Z12
	VMOVDQA32 Z29, Z13
	VPERMI2PS Z10, Z6, Z13
	VMOVDQA32 Z28, Z14
	VPERMI2PS Z9, Z11, Z14
	VMOVDQA32 Z29, Z15
	VPERMI2PS Z9, Z11, Z15
	VMOVUPS Z12, K5, 0(R11)
	VMOVUPS Z13, K6, 64(R11)
	VMOVUPS Z14, K5, 0(R12)
	VMOVUPS Z15, K6, 64(R12)
	LEAQ (SI)(CX*4), SI
	LEAQ (AX)(CX*4), AX
	ADDQ $128, R11
	ADDQ $128, R12
	SUBQ CX, R13
	JG unpool2AVX512_chunk
	LEAQ (DI)(R8*2), DI     // the next row pair
	DECQ R9
	JNE unpool2AVX512_row
	VZEROUPPER
	RET

// func unpool2AVX2(grid, route, dpooled *float32, gw, rows, n int, c *unpoolConsts2)
// The same on AVX2, 8 windows a chunk: masks as vectors (VMASKMOVPS loads and stores), the
// places selected by AND, interleaved by VUNPCKLPS/VUNPCKHPS and VPERM2F128.
TEXT ·unpool2AVX2(SB), NOSPLIT, $0-56
	MOVQ grid+0(FP), DI
	MOVQ route+8(FP), SI
	MOVQ dpooled+16(FP), AX
	MOVQ gw+24(FP), R8
	SHLQ $2, R8
	MOVQ rows+32(FP), R9
	MOVQ n+40(FP), R10
	MOVQ c+48(FP), BX
	VMOVDQU 0(BX), Y15       // the lanes' numbers, 0 to 7
	VPBROADCASTD 32(BX), Y14 // ^7
	VPBROADCASTD 36(BX), Y13 // 4
	VPBROADCASTD 40(BX), Y12 // 3
	VPBROADCASTD 44(BX), Y11 // 1
	VPBROADCASTD 48(BX), Y10 // 2
	VBROADCASTSS 52(BX), Y9  // 1.0
	VPXOR Y8, Y8, Y8

unpool2AVX2_row:
	MOVQ DI, R11         // the row pair's first row
	LEAQ (DI)(R8*1), R12 // its second
	MOVQ R10, R13        // windows left in the row

unpool2AVX2_chunk:
	MOVQ $8, CX
	CMPQ R13, CX
	CMOVQLT R13, CX          // CX = the chunk's windows, at most 8
	MOVQ CX, DX
	VMOVD DX, X7
	VPBROADCASTD X7, Y7
	VPCMPGTD Y15, Y7, Y6     // the chunk's windows
	VMASKMOVPS (SI), Y6, Y0  // routes
	VMASKMOVPS (AX), Y6, Y1  // gradients
	SHLQ $1, DX
	VMOVD DX, X7
	VPBROADCASTD X7, Y7
	VPCMPGTD Y15, Y7, Y5     // the stores' first 8 values: 2 a window
	SUBQ $8, DX
	VMOVD DX, X7
	VPBROADCASTD X7, Y7
	VPCMPGTD Y15, Y7, Y4     // the next 8
	VCVTTPS2DQ Y0, Y2        // t (NaN and out of range: 0x80000000)
	VPAND Y14, Y2, Y3
	VPCMPEQD Y8, Y3, Y3      // 0 ≤ t < 8: a routed place
	VPAND Y13, Y2, Y0
	VPCMPEQD Y8, Y0, Y0      // t & 4 = 0: the ReLU lets it through
	VPAND Y9, Y0, Y0         // 1 or 0
	VMULPS Y0, Y1, Y1        // the value: gradient times the mask
	VPAND Y3, Y1, Y1         // +0 where no place is routed
	VPAND Y12, Y2, Y2        // the place, t mod 4
	VPCMPEQD Y8, Y2, Y0
	VPAND Y1, Y0, Y0         // place 0
	VPCMPEQD Y11, Y2, Y3
	VPAND Y1, Y3, Y3         // place 1
	VPCMPEQD Y10, Y2, Y6
	VPAND Y1, Y6, Y6         // place 2
	VPCMPEQD Y12, Y2, Y7
	VPAND Y1, Y7, Y7         // place 3
	// First row: places 0 and 1 interleaved; second row: places 2 and 3.
	VUNPCKLPS Y3, Y0, Y2
	VUNPCKHPS Y3, Y0, Y3
	VPERM2F128 $0x20, Y3, Y2, Y0
	VPERM2F128 $0x31, Y3, Y2, Y1
	VMASKMOVPS Y0, Y5, 0(R11)
	VMASKMOVPS Y1, Y4, 32(R11)
	VUNPCKLPS Y7, Y6, Y2
	VUNPCKHPS Y7, Y6, Y3
	VPERM2F128 $0x20, Y3, Y2, Y0
	VPERM2F128 $0x31, Y3, Y2, Y1
	VMASKMOVPS Y0, Y5, 0(R12)
	VMASKMOVPS Y1, Y4, 32(R12)
	LEAQ (SI)(CX*4), SI
	LEAQ (AX)(CX*4), AX
	ADDQ $64, R11
	ADDQ $64, R12
	SUBQ CX, R13
	JG unpool2AVX2_chunk
	LEAQ (DI)(R8*2), DI     // the next row pair
	DECQ R9
	JNE unpool2AVX2_row
	VZEROUPPER
	RET
