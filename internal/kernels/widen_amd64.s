//go:build !purego

#include "textflag.h"

// PFD is the prefetch distance in bytes.
#define PFD 2048

// Widening of low-precision weights to float32 (MulQ8T, MulF16T): each
// func(dst *float32, src *T, n int) sets dst[i] = float32(src[i]) for
// i < n; n is a positive multiple of the lanes (16 for AVX-512, 8 for AVX2).

// func widenQ8AVX512(dst *float32, src *int8, n int)
// A cache line (64 values) per iteration, prefetching PFD bytes ahead: a
// lone stream of int8 weights needs it to approach memory bandwidth.
TEXT ·widenQ8AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

line:
	CMPQ       CX, $64
	JLT        tail
	PREFETCHT0 PFD(SI)
	VPMOVSXBD  (SI), Z0
	VPMOVSXBD  16(SI), Z1
	VPMOVSXBD  32(SI), Z2
	VPMOVSXBD  48(SI), Z3
	VCVTDQ2PS  Z0, Z0
	VCVTDQ2PS  Z1, Z1
	VCVTDQ2PS  Z2, Z2
	VCVTDQ2PS  Z3, Z3
	VMOVUPS    Z0, (DI)
	VMOVUPS    Z1, 64(DI)
	VMOVUPS    Z2, 128(DI)
	VMOVUPS    Z3, 192(DI)
	ADDQ       $64, SI
	ADDQ       $256, DI
	SUBQ       $64, CX
	JMP        line

tail:
	TESTQ     CX, CX
	JZ        done
	VPMOVSXBD (SI), Z0
	VCVTDQ2PS Z0, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $16, SI
	ADDQ      $64, DI
	SUBQ      $16, CX
	JMP       tail

done:
	VZEROUPPER
	RET

// func widenF16AVX512(dst *float32, src *uint16, n int)
// A cache line (32 values) per iteration, prefetching PFD bytes ahead.
TEXT ·widenF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

line:
	CMPQ       CX, $32
	JLT        tail
	PREFETCHT0 PFD(SI)
	VCVTPH2PS  (SI), Z0
	VCVTPH2PS  32(SI), Z1
	VMOVUPS    Z0, (DI)
	VMOVUPS    Z1, 64(DI)
	ADDQ       $64, SI
	ADDQ       $128, DI
	SUBQ       $32, CX
	JMP        line

tail:
	TESTQ     CX, CX
	JZ        done
	VCVTPH2PS (SI), Z0
	VMOVUPS   Z0, (DI)

done:
	VZEROUPPER
	RET

// func widenQ8AVX2(dst *float32, src *int8, n int)
TEXT ·widenQ8AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX

loop:
	VPMOVSXBD (SI), Y0
	VCVTDQ2PS Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $8, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       loop
	VZEROUPPER
	RET

// func widenF16F16C(dst *float32, src *uint16, n int) (AVX + F16C)
TEXT ·widenF16F16C(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX

loop:
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       loop
	VZEROUPPER
	RET
