//go:build !purego

#include "textflag.h"

// kernel6x16AVX2 computes the 6×16 tile c = Ap·Bp + beta·c (beta == 0: c
// is only written). Ap holds k steps of 6 floats, Bp k steps of 16.
// Accumulators: Y0..Y11 (row i in Y(2i), Y(2i+1)); B in Y12, Y13; A
// broadcasts alternate between Y14 and Y15.

// ROW multiplies the broadcast A value at off(SI) into one row's accumulators.
#define ROW(off, bc, acc0, acc1) \
	VBROADCASTSS off(SI), bc \
	VFMADD231PS  Y12, bc, acc0 \
	VFMADD231PS  Y13, bc, acc1

// STEP is one k step: load 16 B values, update all 6 rows.
#define STEP \
	VMOVUPS (DI), Y12 \
	VMOVUPS 32(DI), Y13 \
	ROW(0, Y14, Y0, Y1) \
	ROW(4, Y15, Y2, Y3) \
	ROW(8, Y14, Y4, Y5) \
	ROW(12, Y15, Y6, Y7) \
	ROW(16, Y14, Y8, Y9) \
	ROW(20, Y15, Y10, Y11) 

// STORE0 writes one row; STOREB adds beta·c (beta in Y14) first.
#define STORE0(acc0, acc1) \
	VMOVUPS acc0, (DX) \
	VMOVUPS acc1, 32(DX) \
	ADDQ    R8, DX

#define STOREB(acc0, acc1) \
	VFMADD231PS (DX), Y14, acc0 \
	VFMADD231PS 32(DX), Y14, acc1 \
	VMOVUPS     acc0, (DX) \
	VMOVUPS     acc1, 32(DX) \
	ADDQ        R8, DX

// func kernel6x16AVX2(k int, a, b, c *float32, ldc int, beta float32)
TEXT ·kernel6x16AVX2(SB), NOSPLIT, $0-44
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

loop:
	STEP
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop

	MOVL  beta+40(FP), AX
	ANDL  $0x7fffffff, AX
	JZ    store0
	VBROADCASTSS beta+40(FP), Y14
	STOREB(Y0, Y1)
	STOREB(Y2, Y3)
	STOREB(Y4, Y5)
	STOREB(Y6, Y7)
	STOREB(Y8, Y9)
	STOREB(Y10, Y11)
	VZEROUPPER
	RET

store0:
	STORE0(Y0, Y1)
	STORE0(Y2, Y3)
	STORE0(Y4, Y5)
	STORE0(Y6, Y7)
	STORE0(Y8, Y9)
	STORE0(Y10, Y11)
	VZEROUPPER
	RET
