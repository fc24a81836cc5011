#include "textflag.h"

// func interleave8AVX(dst *float32, stride int, cols *[8]*float32, n int)
//
// For p < n (a positive multiple of 8): dst[p*stride+c] = cols[c][p], c < 8. Each
// pass loads 8 values of each column and writes 8 rows: an 8x8 transpose in
// registers (unpack, shuffle, then swap of 128-bit halves). Written by hand;
// only AVX is needed.
TEXT ·interleave8AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ stride+8(FP), SI
	SHLQ $2, SI
	MOVQ n+24(FP), CX
	MOVQ cols+16(FP), BX
	MOVQ 0(BX), AX
	MOVQ 8(BX), DX
	MOVQ 16(BX), R8
	MOVQ 24(BX), R9
	MOVQ 32(BX), R10
	MOVQ 40(BX), R11
	MOVQ 48(BX), R12
	MOVQ 56(BX), R13
	XORQ BX, BX

loop:
	VMOVUPS (AX)(BX*1), Y0
	VMOVUPS (DX)(BX*1), Y1
	VMOVUPS (R8)(BX*1), Y2
	VMOVUPS (R9)(BX*1), Y3
	VMOVUPS (R10)(BX*1), Y4
	VMOVUPS (R11)(BX*1), Y5
	VMOVUPS (R12)(BX*1), Y6
	VMOVUPS (R13)(BX*1), Y7
	// a0 b0 a1 b1 | a4 b4 a5 b5 and the like.
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	// a0 b0 c0 d0 | a4 b4 c4 d4 and the like.
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	// Rows 0..3 from the low halves, 4..7 from the high ones.
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (DI)
	ADDQ SI, DI
	VMOVUPS Y9, (DI)
	ADDQ SI, DI
	VMOVUPS Y10, (DI)
	ADDQ SI, DI
	VMOVUPS Y11, (DI)
	ADDQ SI, DI
	VMOVUPS Y12, (DI)
	ADDQ SI, DI
	VMOVUPS Y13, (DI)
	ADDQ SI, DI
	VMOVUPS Y14, (DI)
	ADDQ SI, DI
	VMOVUPS Y15, (DI)
	ADDQ SI, DI
	ADDQ $32, BX
	SUBQ $8, CX
	JNZ  loop
	VZEROUPPER
	RET
