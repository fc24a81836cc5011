#include "textflag.h"

// AddWiden's NEON kernel (widen.go), written by hand: acc[i] += float64(x[i]) for n values, n
// a multiple of 4 and > 0, 4 a pass. Exact conversions and one float64 addition a value, as
// in the Go code: the same bits. Go's assembler has no FCVTL or FADD on vectors: WORD
// encodings, the instruction in a comment (checked against llvm-mc).

// func addWidenNEON(acc *float64, x *float32, n int)
TEXT ·addWidenNEON(SB), NOSPLIT, $0-24
	MOVD acc+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2

addWidenNEON_loop:
	VLD1.P 16(R1), [V5.S4]
	VLD1 (R0), [V2.D2, V3.D2]
	WORD $0x0e6178a0 // FCVTL V0.2D, V5.2S
	WORD $0x4e6178a1 // FCVTL2 V1.2D, V5.4S
	WORD $0x4e60d440 // FADD V0.2D, V2.2D, V0.2D
	WORD $0x4e61d461 // FADD V1.2D, V3.2D, V1.2D
	VST1.P [V0.D2, V1.D2], 32(R0)
	SUBS $4, R2, R2
	BNE addWidenNEON_loop
	RET
