#include "textflag.h"

// func interleave8NEON(dst *float32, stride int, cols *[8]*float32, n int)
//
// For p < n (a positive multiple of 4): dst[p*stride+c] = cols[c][p], c < 8. Each pass
// loads 4 values of each column and writes 4 rows of 8: two 4x4 transposes in registers
// (ZIP of 32-bit lanes, then of 64-bit ones). Written by hand.
TEXT ·interleave8NEON(SB), NOSPLIT, $0-32
	MOVD dst+0(FP), R0
	MOVD stride+8(FP), R1
	LSL  $2, R1, R1
	MOVD cols+16(FP), R2
	MOVD n+24(FP), R3
	MOVD 0(R2), R4
	MOVD 8(R2), R5
	MOVD 16(R2), R6
	MOVD 24(R2), R7
	MOVD 32(R2), R8
	MOVD 40(R2), R9
	MOVD 48(R2), R10
	MOVD 56(R2), R11

loop:
	VLD1.P 16(R4), [V0.S4]
	VLD1.P 16(R5), [V1.S4]
	VLD1.P 16(R6), [V2.S4]
	VLD1.P 16(R7), [V3.S4]
	VLD1.P 16(R8), [V4.S4]
	VLD1.P 16(R9), [V5.S4]
	VLD1.P 16(R10), [V6.S4]
	VLD1.P 16(R11), [V7.S4]
	// Columns 0-3: a0 b0 a1 b1, a2 b2 a3 b3, c0 d0 c1 d1, c2 d2 c3 d3; then the rows'
	// first halves: a0 b0 c0 d0 (row 0, V20), a1 b1 c1 d1 (row 1, V22), ...
	VZIP1 V1.S4, V0.S4, V16.S4
	VZIP2 V1.S4, V0.S4, V17.S4
	VZIP1 V3.S4, V2.S4, V18.S4
	VZIP2 V3.S4, V2.S4, V19.S4
	VZIP1 V18.D2, V16.D2, V20.D2
	VZIP2 V18.D2, V16.D2, V22.D2
	VZIP1 V19.D2, V17.D2, V24.D2
	VZIP2 V19.D2, V17.D2, V26.D2
	// Columns 4-7: the rows' second halves (V21, V23, V25, V27).
	VZIP1 V5.S4, V4.S4, V16.S4
	VZIP2 V5.S4, V4.S4, V17.S4
	VZIP1 V7.S4, V6.S4, V18.S4
	VZIP2 V7.S4, V6.S4, V19.S4
	VZIP1 V18.D2, V16.D2, V21.D2
	VZIP2 V18.D2, V16.D2, V23.D2
	VZIP1 V19.D2, V17.D2, V25.D2
	VZIP2 V19.D2, V17.D2, V27.D2
	VST1 [V20.S4, V21.S4], (R0)
	ADD  R1, R0, R0
	VST1 [V22.S4, V23.S4], (R0)
	ADD  R1, R0, R0
	VST1 [V24.S4, V25.S4], (R0)
	ADD  R1, R0, R0
	VST1 [V26.S4, V27.S4], (R0)
	ADD  R1, R0, R0
	SUBS $4, R3, R3
	BNE  loop
	RET
