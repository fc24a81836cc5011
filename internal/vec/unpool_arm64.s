#include "textflag.h"

// MaxPool2ReLU's backward (unpool.go's Unpool2) on NEON, written by hand; the instructions
// Go's assembler lacks are WORD encodings (the instruction in the comment). Four windows a
// pass, the first body (a multiple of 4) of each row's n; unpool_arm64.go does the rest of a
// row in Go. c = [^7, 4, 3, 1, 2, 1.0 (as bits)].

// func unpool2NEON(grid, route, dpooled *float32, gw, rows, n, body int, c *[8]uint32)
TEXT ·unpool2NEON(SB), NOSPLIT, $0-64
	MOVD grid+0(FP), R0
	MOVD route+8(FP), R1
	MOVD dpooled+16(FP), R2
	MOVD gw+24(FP), R3
	LSL $2, R3, R3
	MOVD rows+32(FP), R4
	MOVD n+40(FP), R5
	LSL $2, R5, R5
	MOVD body+48(FP), R6
	MOVD c+56(FP), R12
	VLD1 (R12), [V27.S4, V28.S4]
	VDUP V27.S[0], V20.S4 // ^7
	VDUP V27.S[1], V21.S4 // 4
	VDUP V27.S[2], V22.S4 // 3
	VDUP V27.S[3], V23.S4 // 1
	VDUP V28.S[0], V24.S4 // 2
	VDUP V28.S[1], V25.S4 // 1.0
	VEOR V26.B16, V26.B16, V26.B16 // 0

unpool2NEON_row:
	MOVD R0, R7      // the row pair's first row
	ADD R3, R0, R8   // its second
	MOVD R1, R9
	MOVD R2, R10
	MOVD R6, R11

unpool2NEON_chunk:
	VLD1.P 16(R9), [V0.S4]  // routes
	VLD1.P 16(R10), [V1.S4] // gradients
	WORD $0x4ea1b802 // FCVTZS V2.4S, V0.4S: t (NaN: 0, out of range: saturated)
	WORD $0x4e20e403 // FCMEQ V3.4S, V0.4S, V0.4S: not NaN
	VAND V20.B16, V2.B16, V4.B16
	VCMEQ V26.S4, V4.S4, V4.S4 // 0 ≤ t < 8
	VAND V3.B16, V4.B16, V4.B16 // and not NaN: a routed place
	VAND V21.B16, V2.B16, V5.B16
	VCMEQ V26.S4, V5.S4, V5.S4 // t & 4 = 0: the ReLU lets it through
	VAND V25.B16, V5.B16, V5.B16 // 1 or 0
	WORD $0x6e25dc21 // FMUL V1.4S, V1.4S, V5.4S: the value, gradient times mask
	VAND V4.B16, V1.B16, V1.B16 // +0 where no place is routed
	VAND V22.B16, V2.B16, V6.B16 // the place, t mod 4
	VCMEQ V26.S4, V6.S4, V7.S4
	VAND V1.B16, V7.B16, V7.B16 // place 0
	VCMEQ V23.S4, V6.S4, V16.S4
	VAND V1.B16, V16.B16, V16.B16 // place 1
	VCMEQ V24.S4, V6.S4, V17.S4
	VAND V1.B16, V17.B16, V17.B16 // place 2
	VCMEQ V22.S4, V6.S4, V18.S4
	VAND V1.B16, V18.B16, V18.B16 // place 3
	// First row: places 0 and 1 interleaved; second row: places 2 and 3.
	VZIP1 V16.S4, V7.S4, V8.S4
	VZIP2 V16.S4, V7.S4, V9.S4
	VST1.P [V8.S4, V9.S4], 32(R7)
	VZIP1 V18.S4, V17.S4, V10.S4
	VZIP2 V18.S4, V17.S4, V11.S4
	VST1.P [V10.S4, V11.S4], 32(R8)
	SUBS $4, R11, R11
	BNE unpool2NEON_chunk
	ADD R3<<1, R0, R0 // the next row pair
	ADD R5, R1, R1
	ADD R5, R2, R2
	SUBS $1, R4, R4
	BNE unpool2NEON_row
	RET
