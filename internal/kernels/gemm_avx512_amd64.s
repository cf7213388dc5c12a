//go:build !purego

#include "textflag.h"

// kernel14x32AVX512 computes the 14×32 tile c = Ap·Bp + beta·c (beta == 0:
// c is only written). Ap holds k steps of 14 floats, Bp k steps of 32.
// Accumulators: Z0..Z27 (row i in Z(2i), Z(2i+1)); B in Z28, Z29; A
// broadcasts alternate between Z30 and Z31.

// ROW multiplies the broadcast A value at off(SI) into one row's accumulators.
#define ROW(off, bc, acc0, acc1) \
	VBROADCASTSS off(SI), bc \
	VFMADD231PS  Z28, bc, acc0 \
	VFMADD231PS  Z29, bc, acc1

// STEP is one k step: load 32 B values, update all 14 rows.
#define STEP \
	VMOVUPS (DI), Z28 \
	VMOVUPS 64(DI), Z29 \
	ROW(0, Z30, Z0, Z1) \
	ROW(4, Z31, Z2, Z3) \
	ROW(8, Z30, Z4, Z5) \
	ROW(12, Z31, Z6, Z7) \
	ROW(16, Z30, Z8, Z9) \
	ROW(20, Z31, Z10, Z11) \
	ROW(24, Z30, Z12, Z13) \
	ROW(28, Z31, Z14, Z15) \
	ROW(32, Z30, Z16, Z17) \
	ROW(36, Z31, Z18, Z19) \
	ROW(40, Z30, Z20, Z21) \
	ROW(44, Z31, Z22, Z23) \
	ROW(48, Z30, Z24, Z25) \
	ROW(52, Z31, Z26, Z27) 

// STORE0 writes one row; STOREB adds beta·c (beta in Z30) first.
#define STORE0(acc0, acc1) \
	VMOVUPS acc0, (DX) \
	VMOVUPS acc1, 64(DX) \
	ADDQ    R8, DX

#define STOREB(acc0, acc1) \
	VFMADD231PS (DX), Z30, acc0 \
	VFMADD231PS 64(DX), Z30, acc1 \
	VMOVUPS     acc0, (DX) \
	VMOVUPS     acc1, 64(DX) \
	ADDQ        R8, DX

// func kernel14x32AVX512(k int, a, b, c *float32, ldc int, beta float32)
TEXT ·kernel14x32AVX512(SB), NOSPLIT, $0-44
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
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

loop:
	STEP
	ADDQ $56, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  loop

	MOVL  beta+40(FP), AX
	ANDL  $0x7fffffff, AX
	JZ    store0
	VBROADCASTSS beta+40(FP), Z30
	STOREB(Z0, Z1)
	STOREB(Z2, Z3)
	STOREB(Z4, Z5)
	STOREB(Z6, Z7)
	STOREB(Z8, Z9)
	STOREB(Z10, Z11)
	STOREB(Z12, Z13)
	STOREB(Z14, Z15)
	STOREB(Z16, Z17)
	STOREB(Z18, Z19)
	STOREB(Z20, Z21)
	STOREB(Z22, Z23)
	STOREB(Z24, Z25)
	STOREB(Z26, Z27)
	VZEROUPPER
	RET

store0:
	STORE0(Z0, Z1)
	STORE0(Z2, Z3)
	STORE0(Z4, Z5)
	STORE0(Z6, Z7)
	STORE0(Z8, Z9)
	STORE0(Z10, Z11)
	STORE0(Z12, Z13)
	STORE0(Z14, Z15)
	STORE0(Z16, Z17)
	STORE0(Z18, Z19)
	STORE0(Z20, Z21)
	STORE0(Z22, Z23)
	STORE0(Z24, Z25)
	STORE0(Z26, Z27)
	VZEROUPPER
	RET
