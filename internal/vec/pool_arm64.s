#include "textflag.h"

// The 2x2 max pooling with its ReLU and routes (pool.go's MaxPool2ReLU) on NEON, written by
// hand; the instructions Go's assembler lacks are WORD encodings (each from llvm-mc, the
// instruction in the comment). Four windows a pass, the first body (a multiple of 4) of each
// row's n; pool_arm64.go does the rest of a row in Go. c = [1, 2, 3, 4].

// func pool2NEON(pooled, route, pre *float32, gw, rows, n, body int, c *[4]float32)
TEXT ·pool2NEON(SB), NOSPLIT, $0-64
	MOVD pooled+0(FP), R0
	MOVD route+8(FP), R1
	MOVD pre+16(FP), R2
	MOVD gw+24(FP), R3
	LSL $2, R3, R3
	MOVD rows+32(FP), R4
	MOVD n+40(FP), R5
	LSL $2, R5, R5
	MOVD body+48(FP), R6
	MOVD c+56(FP), R12
	VLD1 (R12), [V21.S4]
	VDUP V21.S[0], V16.S4 // 1
	VDUP V21.S[1], V17.S4 // 2
	VDUP V21.S[2], V18.S4 // 3
	VDUP V21.S[3], V19.S4 // 4
	VEOR V20.B16, V20.B16, V20.B16 // 0

pool2NEON_row:
	MOVD R2, R7
	ADD R3, R2, R8
	MOVD R0, R9
	MOVD R1, R10
	MOVD R6, R11

pool2NEON_chunk:
	// a, b from the first row (even and odd values), c, e from the second.
	WORD $0x4cdf88e0 // LD2 {V0.4S, V1.4S}, [X7], #32
	WORD $0x4cdf8902 // LD2 {V2.4S, V3.4S}, [X8], #32
	// Masks (v ≥ 0 as 1 or 0) and activations v·mask.
	WORD $0x6ea0c804 // FCMGE V4.4S, V0.4S, #0.0
	VAND V16.B16, V4.B16, V4.B16
	WORD $0x6e24dc00 // FMUL V0.4S, V0.4S, V4.4S
	WORD $0x6ea0c825 // FCMGE V5.4S, V1.4S, #0.0
	VAND V16.B16, V5.B16, V5.B16
	WORD $0x6e25dc21 // FMUL V1.4S, V1.4S, V5.4S
	WORD $0x6ea0c846 // FCMGE V6.4S, V2.4S, #0.0
	VAND V16.B16, V6.B16, V6.B16
	WORD $0x6e26dc42 // FMUL V2.4S, V2.4S, V6.4S
	WORD $0x6ea0c867 // FCMGE V7.4S, V3.4S, #0.0
	VAND V16.B16, V7.B16, V7.B16
	WORD $0x6e27dc63 // FMUL V3.4S, V3.4S, V7.4S
	// p = mx(mx(a, b), mx(c, e)), mx(x, y) = x > y ? x : y.
	WORD $0x6ea1e408 // FCMGT V8.4S, V0.4S, V1.4S
	WORD $0x6e611c08 // BSL V8.16B, V0.16B, V1.16B
	WORD $0x6ea3e449 // FCMGT V9.4S, V2.4S, V3.4S
	WORD $0x6e631c49 // BSL V9.16B, V2.16B, V3.16B
	WORD $0x6ea9e50a // FCMGT V10.4S, V8.4S, V9.4S
	WORD $0x6e691d0a // BSL V10.16B, V8.16B, V9.16B
	// t and its mask: 3 and e's, then c, b, a where equal to p, the last one set winning.
	WORD $0x4eb21e4b // MOV V11.16B, V18.16B
	WORD $0x4ea71cec // MOV V12.16B, V7.16B
	WORD $0x4e2ae44d // FCMEQ V13.4S, V2.4S, V10.4S
	WORD $0x4ead1dae // MOV V14.16B, V13.16B
	WORD $0x6e6b1e2d // BSL V13.16B, V17.16B, V11.16B
	WORD $0x6e6c1cce // BSL V14.16B, V6.16B, V12.16B
	WORD $0x4e2ae42b // FCMEQ V11.4S, V1.4S, V10.4S
	WORD $0x4eab1d6c // MOV V12.16B, V11.16B
	WORD $0x6e6d1e0b // BSL V11.16B, V16.16B, V13.16B
	WORD $0x6e6e1cac // BSL V12.16B, V5.16B, V14.16B
	WORD $0x4e2ae40d // FCMEQ V13.4S, V0.4S, V10.4S
	WORD $0x4ead1dae // MOV V14.16B, V13.16B
	WORD $0x6e6b1e8d // BSL V13.16B, V20.16B, V11.16B
	WORD $0x6e6c1c8e // BSL V14.16B, V4.16B, V12.16B
	// route = t + 4 − 4·mask.
	WORD $0x4e33d5ad // FADD V13.4S, V13.4S, V19.4S
	WORD $0x4eaece6d // FMLS V13.4S, V19.4S, V14.4S
	VST1.P [V10.S4], 16(R9)
	VST1.P [V13.S4], 16(R10)
	SUBS $4, R11, R11
	BNE pool2NEON_chunk
	ADD R3<<1, R2, R2
	ADD R5, R0, R0
	ADD R5, R1, R1
	SUBS $1, R4, R4
	BNE pool2NEON_row
	RET

