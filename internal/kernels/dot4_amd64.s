//go:build !purego

#include "textflag.h"

// Dot products of 4 vectors x_i with several rows w_j of a matrix, reading
// each row once for all four: the x·Wᵀ product for a few rows of x.

// RED4 reduces the four 8-float accumulators a, b, c, d (Y0..Y15 only) to
// [Σa, Σb, Σc, Σd] in the X register of a, clobbering b, c and X15.
#define RED4(ya, yb, yc, yd, xa) \
	VHADDPS      yb, ya, ya \
	VHADDPS      yd, yc, yc \
	VHADDPS      yc, ya, ya \
	VEXTRACTF128 $1, ya, X15 \
	VADDPS       X15, xa, xa

// HALVE adds the upper 256 bits of a Z accumulator to its lower half.
#define HALVE(z, y) \
	VEXTRACTF64X4 $1, z, Y24 \
	VADDPS        Y24, y, y

// func dot4x4AVX512(k int, x *float32, ldx int, w *float32, ldw int, out *float32)
// sets out[4i+j] = x[i*ldx : i*ldx+k]·w[j*ldw : j*ldw+k] for i, j < 4; k is
// a multiple of 16. Accumulator of (i, j) is Z(4i+j); x_i in Z16+i, w_j in Z20+j.
TEXT ·dot4x4AVX512(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), R9
	MOVQ ldx+16(FP), R8
	MOVQ w+24(FP), R13
	MOVQ ldw+32(FP), DI
	MOVQ out+40(FP), DX
	SHLQ $2, R8
	SHLQ $2, DI
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R13)(DI*1), R14
	LEAQ (R14)(DI*1), R15
	LEAQ (R15)(DI*1), BX
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
	XORQ AX, AX

loop:
	CMPQ    AX, CX
	JGE     done
	VMOVUPS (R9)(AX*4), Z16
	VMOVUPS (R10)(AX*4), Z17
	VMOVUPS (R11)(AX*4), Z18
	VMOVUPS (R12)(AX*4), Z19
	VMOVUPS (R13)(AX*4), Z20
	VMOVUPS (R14)(AX*4), Z21
	VMOVUPS (R15)(AX*4), Z22
	VMOVUPS (BX)(AX*4), Z23
	VFMADD231PS Z20, Z16, Z0
	VFMADD231PS Z21, Z16, Z1
	VFMADD231PS Z22, Z16, Z2
	VFMADD231PS Z23, Z16, Z3
	VFMADD231PS Z20, Z17, Z4
	VFMADD231PS Z21, Z17, Z5
	VFMADD231PS Z22, Z17, Z6
	VFMADD231PS Z23, Z17, Z7
	VFMADD231PS Z20, Z18, Z8
	VFMADD231PS Z21, Z18, Z9
	VFMADD231PS Z22, Z18, Z10
	VFMADD231PS Z23, Z18, Z11
	VFMADD231PS Z20, Z19, Z12
	VFMADD231PS Z21, Z19, Z13
	VFMADD231PS Z22, Z19, Z14
	VFMADD231PS Z23, Z19, Z15
	ADDQ $16, AX
	JMP  loop

done:
	HALVE(Z0, Y0)
	HALVE(Z1, Y1)
	HALVE(Z2, Y2)
	HALVE(Z3, Y3)
	HALVE(Z4, Y4)
	HALVE(Z5, Y5)
	HALVE(Z6, Y6)
	HALVE(Z7, Y7)
	HALVE(Z8, Y8)
	HALVE(Z9, Y9)
	HALVE(Z10, Y10)
	HALVE(Z11, Y11)
	HALVE(Z12, Y12)
	HALVE(Z13, Y13)
	HALVE(Z14, Y14)
	HALVE(Z15, Y15)
	// Last row first: RED4 clobbers X15, the accumulator of (3, 3).
	RED4(Y12, Y13, Y14, Y15, X12)
	VMOVUPS X12, 48(DX)
	RED4(Y8, Y9, Y10, Y11, X8)
	VMOVUPS X8, 32(DX)
	RED4(Y4, Y5, Y6, Y7, X4)
	VMOVUPS X4, 16(DX)
	RED4(Y0, Y1, Y2, Y3, X0)
	VMOVUPS X0, 0(DX)
	VZEROUPPER
	RET

// func dot4x2AVX2(k int, x *float32, ldx int, w *float32, ldw int, out *float32)
// sets out[2i+j] = x[i*ldx : i*ldx+k]·w[j*ldw : j*ldw+k] for i < 4, j < 2; k
// is a multiple of 8. Accumulator of (i, j) is Y(2i+j); x_i in Y8+i, w_j in Y12+j.
TEXT ·dot4x2AVX2(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), R9
	MOVQ ldx+16(FP), R8
	MOVQ w+24(FP), R13
	MOVQ ldw+32(FP), DI
	MOVQ out+40(FP), DX
	SHLQ $2, R8
	SHLQ $2, DI
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R13)(DI*1), R14
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX

loop:
	CMPQ    AX, CX
	JGE     done
	VMOVUPS (R9)(AX*4), Y8
	VMOVUPS (R10)(AX*4), Y9
	VMOVUPS (R11)(AX*4), Y10
	VMOVUPS (R12)(AX*4), Y11
	VMOVUPS (R13)(AX*4), Y12
	VMOVUPS (R14)(AX*4), Y13
	VFMADD231PS Y12, Y8, Y0
	VFMADD231PS Y13, Y8, Y1
	VFMADD231PS Y12, Y9, Y2
	VFMADD231PS Y13, Y9, Y3
	VFMADD231PS Y12, Y10, Y4
	VFMADD231PS Y13, Y10, Y5
	VFMADD231PS Y12, Y11, Y6
	VFMADD231PS Y13, Y11, Y7
	ADDQ $8, AX
	JMP  loop

done:
	RED4(Y0, Y1, Y2, Y3, X0)
	VMOVUPS X0, (DX)
	RED4(Y4, Y5, Y6, Y7, X4)
	VMOVUPS X4, 16(DX)
	VZEROUPPER
	RET

// func dotRows8AVX512(k int, x, m *float32, ld int, out *float32)
// sets out[r] = x·m[r*ld : r*ld+k] for r < 8; k is a multiple of 16. Eight
// rows in flight keep enough loads outstanding to reach memory bandwidth.
TEXT ·dotRows8AVX512(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ m+16(FP), R9
	MOVQ ld+24(FP), R8
	MOVQ out+32(FP), DX
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R10 // 3·ld
	LEAQ (R9)(R8*4), R11 // row 4
	SHRQ $4, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

loop:
	VMOVUPS     (SI), Z16
	VFMADD231PS (R9), Z16, Z0
	VFMADD231PS (R9)(R8*1), Z16, Z1
	VFMADD231PS (R9)(R8*2), Z16, Z2
	VFMADD231PS (R9)(R10*1), Z16, Z3
	VFMADD231PS (R11), Z16, Z4
	VFMADD231PS (R11)(R8*1), Z16, Z5
	VFMADD231PS (R11)(R8*2), Z16, Z6
	VFMADD231PS (R11)(R10*1), Z16, Z7
	ADDQ        $64, SI
	ADDQ        $64, R9
	ADDQ        $64, R11
	DECQ        CX
	JNZ         loop
	HALVE(Z0, Y0)
	HALVE(Z1, Y1)
	HALVE(Z2, Y2)
	HALVE(Z3, Y3)
	HALVE(Z4, Y4)
	HALVE(Z5, Y5)
	HALVE(Z6, Y6)
	HALVE(Z7, Y7)
	RED4(Y4, Y5, Y6, Y7, X4)
	VMOVUPS X4, 16(DX)
	RED4(Y0, Y1, Y2, Y3, X0)
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET

// func dotRows8Q8AVX512(k int, x *float32, w *int8, ld int, out *float32)
// is dotRows8AVX512 for int8 weights, converted in registers: it sets
// out[r] = x·float32(w[r*ld : r*ld+k]) for r < 8 (k a multiple of 16) with
// the same arithmetic as dotRows8AVX512 on the widened rows. As many bytes
// as it reads are prefetched from the eight rows past its own (the next
// call's when the rows are contiguous): a cache line per 64 bytes read.
TEXT ·dotRows8Q8AVX512(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), R9
	MOVQ ld+24(FP), R8
	MOVQ out+32(FP), DX
	LEAQ (R8)(R8*2), R10 // 3·ld
	LEAQ (R9)(R8*4), R11 // row 4
	LEAQ (R11)(R8*4), BX // row 8: the next call's rows, prefetched
	SHRQ $4, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

loop:
	VMOVUPS     (SI), Z16
	PREFETCHT0  (BX)
	PREFETCHT0  64(BX)
	VPMOVSXBD   (R9), Z17
	VPMOVSXBD   (R9)(R8*1), Z18
	VPMOVSXBD   (R9)(R8*2), Z19
	VPMOVSXBD   (R9)(R10*1), Z20
	VPMOVSXBD   (R11), Z21
	VPMOVSXBD   (R11)(R8*1), Z22
	VPMOVSXBD   (R11)(R8*2), Z23
	VPMOVSXBD   (R11)(R10*1), Z24
	VCVTDQ2PS   Z17, Z17
	VCVTDQ2PS   Z18, Z18
	VCVTDQ2PS   Z19, Z19
	VCVTDQ2PS   Z20, Z20
	VCVTDQ2PS   Z21, Z21
	VCVTDQ2PS   Z22, Z22
	VCVTDQ2PS   Z23, Z23
	VCVTDQ2PS   Z24, Z24
	VFMADD231PS Z17, Z16, Z0
	VFMADD231PS Z18, Z16, Z1
	VFMADD231PS Z19, Z16, Z2
	VFMADD231PS Z20, Z16, Z3
	VFMADD231PS Z21, Z16, Z4
	VFMADD231PS Z22, Z16, Z5
	VFMADD231PS Z23, Z16, Z6
	VFMADD231PS Z24, Z16, Z7
	ADDQ        $64, SI
	ADDQ        $128, BX
	ADDQ        $16, R9
	ADDQ        $16, R11
	DECQ        CX
	JNZ         loop
	HALVE(Z0, Y0)
	HALVE(Z1, Y1)
	HALVE(Z2, Y2)
	HALVE(Z3, Y3)
	HALVE(Z4, Y4)
	HALVE(Z5, Y5)
	HALVE(Z6, Y6)
	HALVE(Z7, Y7)
	RED4(Y4, Y5, Y6, Y7, X4)
	VMOVUPS X4, 16(DX)
	RED4(Y0, Y1, Y2, Y3, X0)
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET

// func dotRows8F16AVX512(k int, x *float32, w *uint16, ld int, out *float32)
// is dotRows8AVX512 for half-float weights, converted in registers: it sets
// out[r] = x·float32(w[r*ld : r*ld+k]) for r < 8 (k a multiple of 16) with
// the same arithmetic as dotRows8AVX512 on the widened rows, prefetching
// like dotRows8Q8AVX512.
TEXT ·dotRows8F16AVX512(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), R9
	MOVQ ld+24(FP), R8
	MOVQ out+32(FP), DX
	SHLQ $1, R8
	LEAQ (R8)(R8*2), R10 // 3·ld
	LEAQ (R9)(R8*4), R11 // row 4
	LEAQ (R11)(R8*4), BX // row 8: the next call's rows, prefetched
	SHRQ $4, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

loop:
	VMOVUPS     (SI), Z16
	PREFETCHT0  (BX)
	PREFETCHT0  64(BX)
	PREFETCHT0  128(BX)
	PREFETCHT0  192(BX)
	VCVTPH2PS   (R9), Z17
	VCVTPH2PS   (R9)(R8*1), Z18
	VCVTPH2PS   (R9)(R8*2), Z19
	VCVTPH2PS   (R9)(R10*1), Z20
	VCVTPH2PS   (R11), Z21
	VCVTPH2PS   (R11)(R8*1), Z22
	VCVTPH2PS   (R11)(R8*2), Z23
	VCVTPH2PS   (R11)(R10*1), Z24
	VFMADD231PS Z17, Z16, Z0
	VFMADD231PS Z18, Z16, Z1
	VFMADD231PS Z19, Z16, Z2
	VFMADD231PS Z20, Z16, Z3
	VFMADD231PS Z21, Z16, Z4
	VFMADD231PS Z22, Z16, Z5
	VFMADD231PS Z23, Z16, Z6
	VFMADD231PS Z24, Z16, Z7
	ADDQ        $64, SI
	ADDQ        $256, BX
	ADDQ        $32, R9
	ADDQ        $32, R11
	DECQ        CX
	JNZ         loop
	HALVE(Z0, Y0)
	HALVE(Z1, Y1)
	HALVE(Z2, Y2)
	HALVE(Z3, Y3)
	HALVE(Z4, Y4)
	HALVE(Z5, Y5)
	HALVE(Z6, Y6)
	HALVE(Z7, Y7)
	RED4(Y4, Y5, Y6, Y7, X4)
	VMOVUPS X4, 16(DX)
	RED4(Y0, Y1, Y2, Y3, X0)
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET
