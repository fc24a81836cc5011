#include "textflag.h"

// AddWiden's kernels (widen.go), written by hand: acc[i] += float64(x[i]) for n values, n a
// multiple of 16 and > 0. The conversion is exact and each sum one float64 addition, as in
// the Go code: the same bits.

// func addWidenAVX512(acc *float64, x *float32, n int)
TEXT ·addWidenAVX512(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

addWidenAVX512_loop:
	VCVTPS2PD 0(SI), Z0
	VCVTPS2PD 32(SI), Z1
	VADDPD 0(DI), Z0, Z0
	VADDPD 64(DI), Z1, Z1
	VMOVUPD Z0, 0(DI)
	VMOVUPD Z1, 64(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $16, CX
	JNE addWidenAVX512_loop
	VZEROUPPER
	RET

// func addWidenAVX2(acc *float64, x *float32, n int)
TEXT ·addWidenAVX2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

addWidenAVX2_loop:
	VCVTPS2PD 0(SI), Y0
	VCVTPS2PD 16(SI), Y1
	VCVTPS2PD 32(SI), Y2
	VCVTPS2PD 48(SI), Y3
	VADDPD 0(DI), Y0, Y0
	VADDPD 32(DI), Y1, Y1
	VADDPD 64(DI), Y2, Y2
	VADDPD 96(DI), Y3, Y3
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $16, CX
	JNE addWidenAVX2_loop
	VZEROUPPER
	RET
