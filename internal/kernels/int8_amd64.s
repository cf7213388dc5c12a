//go:build !purego

#include "textflag.h"

// ROWDOT adds the four bytes of row i of the x panel (broadcast) times the
// two W vectors Z0, Z1 to the accumulators of row i.
#define ROWDOT(off, acc0, acc1) \
	VPDPBUSD.BCST off(SI), Z0, acc0 \
	VPDPBUSD.BCST off(SI), Z1, acc1

// ROWOUT writes row i of the tile: (float(acc - comp[i])·ws)·scale[i].
#define ROWOUT(off, acc0, acc1) \
	VPSUBD.BCST off(R9), acc0, acc0 \
	VPSUBD.BCST off(R9), acc1, acc1 \
	VCVTDQ2PS   acc0, acc0 \
	VCVTDQ2PS   acc1, acc1 \
	VMULPS      Z2, acc0, acc0 \
	VMULPS      Z3, acc1, acc1 \
	VMULPS.BCST off(R8), acc0, acc0 \
	VMULPS.BCST off(R8), acc1, acc1 \
	VMOVUPS     acc0, (off*32)(DX) \
	VMOVUPS     acc1, (off*32+64)(DX)

// func i8Kernel8x32VNNI(kg int, a *int8, b *uint8, out, scale *float32, comp *int32, ws *float32)
// is i8KernelGeneric with AVX-512 VNNI: per group of four columns, the two
// zmm of W's panel (32 rows × 4 unsigned bytes) against the four signed
// bytes of each of the 8 rows of x, broadcast; 16 int32 accumulators.
TEXT ·i8Kernel8x32VNNI(SB), NOSPLIT, $0-56
	MOVQ   kg+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DI
	MOVQ   out+24(FP), DX
	MOVQ   scale+32(FP), R8
	MOVQ   comp+40(FP), R9
	MOVQ   ws+48(FP), R10
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31

loop:
	VMOVDQU32 (DI), Z0
	VMOVDQU32 64(DI), Z1
	ROWDOT(0, Z16, Z17)
	ROWDOT(4, Z18, Z19)
	ROWDOT(8, Z20, Z21)
	ROWDOT(12, Z22, Z23)
	ROWDOT(16, Z24, Z25)
	ROWDOT(20, Z26, Z27)
	ROWDOT(24, Z28, Z29)
	ROWDOT(28, Z30, Z31)
	ADDQ      $32, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       loop

	VMOVUPS (R10), Z2
	VMOVUPS 64(R10), Z3
	ROWOUT(0, Z16, Z17)
	ROWOUT(4, Z18, Z19)
	ROWOUT(8, Z20, Z21)
	ROWOUT(12, Z22, Z23)
	ROWOUT(16, Z24, Z25)
	ROWOUT(20, Z26, Z27)
	ROWOUT(24, Z28, Z29)
	ROWOUT(28, Z30, Z31)
	VZEROUPPER
	RET
