//go:build !purego

#include "textflag.h"

// ROWDOT adds the four bytes of row i of the x panel (broadcast) times the
// two W vectors Z0, Z1 to the accumulators of row i.
#define ROWDOT(off, acc0, acc1) \
	VPDPBUSD.BCST off(SI), Z0, acc0 \
	VPDPBUSD.BCST off(SI), Z1, acc1

// ROWOUT writes row i of the tile: (float(acc - comp[i])·ws)·scale[i] + bias.
#define ROWOUT(off, acc0, acc1) \
	VPSUBD.BCST off(R9), acc0, acc0 \
	VPSUBD.BCST off(R9), acc1, acc1 \
	VCVTDQ2PS   acc0, acc0 \
	VCVTDQ2PS   acc1, acc1 \
	VMULPS      Z2, acc0, acc0 \
	VMULPS      Z3, acc1, acc1 \
	VMULPS.BCST off(R8), acc0, acc0 \
	VMULPS.BCST off(R8), acc1, acc1 \
	VADDPS      Z4, acc0, acc0 \
	VADDPS      Z5, acc1, acc1 \
	VMOVUPS     acc0, (DX) \
	VMOVUPS     acc1, 64(DX) \
	ADDQ        R11, DX

// func i8Kernel8x32VNNI(kg int, a *int8, b *uint8, out *float32, ldo int, scale *float32, comp *int32, ws, bias *float32)
// is i8KernelGeneric with AVX-512 VNNI: per group of four columns, the two
// zmm of W's panel (32 rows × 4 unsigned bytes) against the four signed
// bytes of each of the 8 rows of x, broadcast; 16 int32 accumulators.
TEXT ·i8Kernel8x32VNNI(SB), NOSPLIT, $0-72
	MOVQ   kg+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DI
	MOVQ   out+24(FP), DX
	MOVQ   ldo+32(FP), R11
	SHLQ   $2, R11
	MOVQ   scale+40(FP), R8
	MOVQ   comp+48(FP), R9
	MOVQ   ws+56(FP), R10
	MOVQ   bias+64(FP), R12
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
	VMOVUPS (R12), Z4
	VMOVUPS 64(R12), Z5
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

// func i8Kernel4x32VNNI(kg int, a *int8, b *uint8, out *float32, ldo int, scale *float32, comp *int32, ws, bias *float32)
// is i8Kernel8x32VNNI for the first four rows of the x panel (beam 4 of one
// sentence): 8 VPDPBUSD a group instead of 16.
TEXT ·i8Kernel4x32VNNI(SB), NOSPLIT, $0-72
	MOVQ   kg+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DI
	MOVQ   out+24(FP), DX
	MOVQ   ldo+32(FP), R11
	SHLQ   $2, R11
	MOVQ   scale+40(FP), R8
	MOVQ   comp+48(FP), R9
	MOVQ   ws+56(FP), R10
	MOVQ   bias+64(FP), R12
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

loop4:
	VMOVDQU32 (DI), Z0
	VMOVDQU32 64(DI), Z1
	ROWDOT(0, Z16, Z17)
	ROWDOT(4, Z18, Z19)
	ROWDOT(8, Z20, Z21)
	ROWDOT(12, Z22, Z23)
	ADDQ      $32, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       loop4

	VMOVUPS (R10), Z2
	VMOVUPS 64(R10), Z3
	VMOVUPS (R12), Z4
	VMOVUPS 64(R12), Z5
	ROWOUT(0, Z16, Z17)
	ROWOUT(4, Z18, Z19)
	ROWOUT(8, Z20, Z21)
	ROWOUT(12, Z22, Z23)
	VZEROUPPER
	RET

// func i8Kernel1x32VNNI(kg int, a *int8, b *uint8, out *float32, scale *float32, comp *int32, ws, bias *float32)
// is i8Kernel8x32VNNI for the first row of the x panel only (one sentence,
// greedy): two VPDPBUSD a group instead of 16, so it runs at the speed W
// streams from memory.
TEXT ·i8Kernel1x32VNNI(SB), NOSPLIT, $0-64
	MOVQ   kg+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DI
	MOVQ   out+24(FP), DX
	MOVQ   scale+32(FP), R8
	MOVQ   comp+40(FP), R9
	MOVQ   ws+48(FP), R10
	MOVQ   bias+56(FP), R12
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17

loop1:
	VMOVDQU32 (DI), Z0
	VMOVDQU32 64(DI), Z1
	ROWDOT(0, Z16, Z17)
	ADDQ      $32, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       loop1

	VMOVUPS (R10), Z2
	VMOVUPS 64(R10), Z3
	VMOVUPS (R12), Z4
	VMOVUPS 64(R12), Z5
	MOVQ    $0, R11
	ROWOUT(0, Z16, Z17)
	VZEROUPPER
	RET

DATA absmask<>+0(SB)/4, $0x7fffffff
GLOBL absmask<>(SB), RODATA|NOPTR, $4

DATA clamp127<>+0(SB)/4, $0x42fe0000 // 127.0
GLOBL clamp127<>(SB), RODATA|NOPTR, $4

// func maxAbsAVX512(x *float32, n int) float32
// returns max|x[i]| for n a positive multiple of 16, or a NaN when x holds
// one (VMAXPS drops NaNs, so they are counted apart in K2).
TEXT ·maxAbsAVX512(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VPBROADCASTD absmask<>(SB), Z3
	VPXORD       Z0, Z0, Z0
	KXORW        K2, K2, K2
	XORQ         AX, AX

loop:
	VPANDD  (SI)(AX*4), Z3, Z1
	VCMPPS  $3, Z1, Z1, K1      // unordered: NaN lanes
	KORW    K1, K2, K2
	VMAXPS  Z1, Z0, Z0
	ADDQ    $16, AX
	CMPQ    AX, CX
	JLT     loop

	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VMOVHLPS      X0, X0, X1
	VMAXPS        X1, X0, X0
	VMOVSHDUP     X0, X1
	VMAXSS        X1, X0, X0
	KORTESTW      K2, K2
	JZ            done
	MOVL          $0x7fc00000, AX // a quiet NaN
	MOVL          AX, ret+16(FP)
	VZEROUPPER
	RET

done:
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

DATA bytes80<>+0(SB)/4, $0x80808080
GLOBL bytes80<>(SB), RODATA|NOPTR, $4

DATA words1<>+0(SB)/4, $0x00010001
GLOBL words1<>(SB), RODATA|NOPTR, $4

// ROWDOT2 adds row i of the x panel (its four bytes broadcast, given the
// signs of W in Y0) times |W| in Y1 to the accumulator of row i: VPSIGNB
// moves W's signs onto x, so VPMADDUBSW multiplies |w| ≤ 128 (unsigned) by
// ±x, |x| ≤ 127 (signed), and its pair sums, at most 2·128·127 = 32512 in
// magnitude, never saturate; VPMADDWD with ones adds the pairs to int32.
#define ROWDOT2(off, acc) \
	VPBROADCASTD off(SI), Y2 \
	VPSIGNB      Y0, Y2, Y2  \
	VPMADDUBSW   Y2, Y1, Y2  \
	VPMADDWD     Y14, Y2, Y2 \
	VPADDD       Y2, acc, acc

// ROWOUT2 writes row i of the 8×8 tile: (float(acc)·ws)·scale[i] + bias.
#define ROWOUT2(off, acc) \
	VCVTDQ2PS    acc, acc     \
	VMULPS       Y12, acc, acc \
	VBROADCASTSS off(R8), Y2  \
	VMULPS       Y2, acc, acc \
	VADDPS       Y13, acc, acc \
	VMOVUPS      acc, (DX)    \
	ADDQ         R11, DX

// I8AVX2ARGS loads the arguments (kg int, a *int8, b *uint8, out *float32,
// ldo int, scale, ws, bias *float32) of the AVX2 8×8 and 4×16 kernels, the
// constants 0x80 bytes (Y15) and int16 ones (Y14), and zeroes the eight
// accumulators Y4–Y11.
#define I8AVX2ARGS \
	MOVQ     kg+0(FP), CX \
	MOVQ     a+8(FP), SI \
	MOVQ     b+16(FP), DI \
	MOVQ     out+24(FP), DX \
	MOVQ     ldo+32(FP), R11 \
	SHLQ     $2, R11 \
	MOVQ     scale+40(FP), R8 \
	MOVQ     ws+48(FP), R10 \
	MOVQ     bias+56(FP), R12 \
	VPBROADCASTD bytes80<>(SB), Y15 \
	VPBROADCASTD words1<>(SB), Y14 \
	VPXOR    Y4, Y4, Y4 \
	VPXOR    Y5, Y5, Y5 \
	VPXOR    Y6, Y6, Y6 \
	VPXOR    Y7, Y7, Y7 \
	VPXOR    Y8, Y8, Y8 \
	VPXOR    Y9, Y9, Y9 \
	VPXOR    Y10, Y10, Y10 \
	VPXOR    Y11, Y11, Y11

// func i8Kernel8x8AVX2(kg int, a *int8, b *uint8, out *float32, ldo int, scale, ws, bias *float32)
// computes 8 rows of x against 8 rows of W: per group of four columns, the
// 32 bytes of the 8 rows of W at b (groups 128 bytes apart, as in a 32-row
// panel) minus 128 (W's values as signed bytes), against the four bytes of
// each row of the x panel a, broadcast. It sums Σ x·w directly, so unlike
// the VNNI kernel it has no compensation to subtract: the same int32.
TEXT ·i8Kernel8x8AVX2(SB), NOSPLIT, $0-64
	I8AVX2ARGS

loop2:
	VPXOR  (DI), Y15, Y0 // w = (w+128) xor 0x80, as signed bytes
	VPABSB Y0, Y1
	ROWDOT2(0, Y4)
	ROWDOT2(4, Y5)
	ROWDOT2(8, Y6)
	ROWDOT2(12, Y7)
	ROWDOT2(16, Y8)
	ROWDOT2(20, Y9)
	ROWDOT2(24, Y10)
	ROWDOT2(28, Y11)
	ADDQ   $32, SI
	ADDQ   $128, DI
	DECQ   CX
	JNZ    loop2

	VMOVUPS (R10), Y12
	VMOVUPS (R12), Y13
	ROWOUT2(0, Y4)
	ROWOUT2(4, Y5)
	ROWOUT2(8, Y6)
	ROWOUT2(12, Y7)
	ROWOUT2(16, Y8)
	ROWOUT2(20, Y9)
	ROWOUT2(24, Y10)
	ROWOUT2(28, Y11)
	VZEROUPPER
	RET

// ONEDOT adds the row of x (its four bytes broadcast in Y8) times the 8
// rows of W at off(DI) to acc, as ROWDOT2 does (signs moved onto x).
#define ONEDOT(off, acc) \
	VPXOR      off(DI), Y15, Y0 \
	VPABSB     Y0, Y1           \
	VPSIGNB    Y0, Y8, Y2       \
	VPMADDUBSW Y2, Y1, Y2       \
	VPMADDWD   Y14, Y2, Y2      \
	VPADDD     Y2, acc, acc

// ONEOUT writes 8 outputs of the row: (float(acc)·ws)·scale + bias.
#define ONEOUT(off, acc) \
	VCVTDQ2PS acc, acc        \
	VMULPS    off(R10), acc, acc \
	VMULPS    Y13, acc, acc   \
	VADDPS    off(R12), acc, acc \
	VMOVUPS   acc, off(DX)

// func i8Kernel1x32AVX2(kg int, a *int8, b *uint8, out *float32, scale, ws, bias *float32)
// is i8Kernel8x8AVX2 for the first row of the x panel against all 32 rows
// of the W panel: out[j] for j < 32 (one sentence, greedy).
TEXT ·i8Kernel1x32AVX2(SB), NOSPLIT, $0-56
	MOVQ         kg+0(FP), CX
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), DI
	MOVQ         out+24(FP), DX
	MOVQ         scale+32(FP), R8
	MOVQ         ws+40(FP), R10
	MOVQ         bias+48(FP), R12
	VPBROADCASTD bytes80<>(SB), Y15
	VPBROADCASTD words1<>(SB), Y14
	VPXOR        Y4, Y4, Y4
	VPXOR        Y5, Y5, Y5
	VPXOR        Y6, Y6, Y6
	VPXOR        Y7, Y7, Y7

loop1:
	VPBROADCASTD (SI), Y8
	ONEDOT(0, Y4)
	ONEDOT(32, Y5)
	ONEDOT(64, Y6)
	ONEDOT(96, Y7)
	ADDQ         $32, SI
	ADDQ         $128, DI
	DECQ         CX
	JNZ          loop1

	VBROADCASTSS (R8), Y13
	ONEOUT(0, Y4)
	ONEOUT(32, Y5)
	ONEOUT(64, Y6)
	ONEOUT(96, Y7)
	VZEROUPPER
	RET

// func quantGroupsAVX512(dst *int8, stride int, x *float32, n int, inv float32) int32
// sets the bytes of round-to-nearest-even(x[c]·inv) clamped to [−127, 127]
// for n a positive multiple of 16, in groups of four: group g at
// dst + g·stride (stride 4: one contiguous row; 32: a row of MulI8T's
// packed x panel), and returns their sum.
TEXT ·quantGroupsAVX512(SB), NOSPLIT, $0-44
	MOVQ         dst+0(FP), DI
	MOVQ         stride+8(FP), R8
	LEAQ         (R8)(R8*2), R9 // 3·stride
	LEAQ         (R8)(R9*1), R10 // 4·stride
	MOVQ         x+16(FP), SI
	MOVQ         n+24(FP), CX
	VBROADCASTSS inv+32(FP), Z2
	VBROADCASTSS clamp127<>(SB), Z3
	VXORPS       Z4, Z4, Z4
	VSUBPS       Z3, Z4, Z4     // −127
	VPXORD       Z5, Z5, Z5     // the sum
	XORQ         AX, AX

loop:
	VMULPS    (SI)(AX*4), Z2, Z0
	VMINPS    Z3, Z0, Z0
	VMAXPS    Z4, Z0, Z0
	VCVTPS2DQ Z0, Z0           // nearest even
	VPADDD    Z0, Z5, Z5
	VPMOVSDB  Z0, X1
	VMOVD     X1, (DI)
	VPEXTRD   $1, X1, (DI)(R8*1)
	VPEXTRD   $2, X1, (DI)(R8*2)
	VPEXTRD   $3, X1, (DI)(R9*1)
	ADDQ      R10, DI
	ADDQ      $16, AX
	CMPQ      AX, CX
	JLT       loop

	VEXTRACTI64X4 $1, Z5, Y1
	VPADDD        Y1, Y5, Y5
	VEXTRACTI128  $1, Y5, X1
	VPADDD        X1, X5, X5
	VPSHUFD       $0x4e, X5, X1
	VPADDD        X1, X5, X5
	VPSHUFD       $0xb1, X5, X1
	VPADDD        X1, X5, X5
	VMOVD         X5, AX
	MOVL          AX, ret+40(FP)
	VZEROUPPER
	RET

// ROW4 adds row i of the x panel (four bytes broadcast) times the two W
// vectors (signs in Y0 and Y12, magnitudes in Y1 and Y13) to acc0, acc1.
#define ROW4(off, acc0, acc1) \
	VPBROADCASTD off(SI), Y2 \
	VPSIGNB      Y0, Y2, Y3  \
	VPMADDUBSW   Y3, Y1, Y3  \
	VPMADDWD     Y14, Y3, Y3 \
	VPADDD       Y3, acc0, acc0 \
	VPSIGNB      Y12, Y2, Y3 \
	VPMADDUBSW   Y3, Y13, Y3 \
	VPMADDWD     Y14, Y3, Y3 \
	VPADDD       Y3, acc1, acc1

// OUT4 writes 16 outputs of row i: (float(acc)·ws)·scale[i] + bias.
#define OUT4(off, acc0, acc1) \
	VBROADCASTSS off(R8), Y2    \
	VCVTDQ2PS    acc0, acc0     \
	VCVTDQ2PS    acc1, acc1     \
	VMULPS       (R10), acc0, acc0 \
	VMULPS       32(R10), acc1, acc1 \
	VMULPS       Y2, acc0, acc0 \
	VMULPS       Y2, acc1, acc1 \
	VADDPS       (R12), acc0, acc0 \
	VADDPS       32(R12), acc1, acc1 \
	VMOVUPS      acc0, (DX)     \
	VMOVUPS      acc1, 32(DX)   \
	ADDQ         R11, DX

// func i8Kernel4x16AVX2(kg int, a *int8, b *uint8, out *float32, ldo int, scale, ws, bias *float32)
// is i8Kernel8x8AVX2 for the first four rows of the x panel against 16 rows
// of W (two vectors of each group, b pointing at the first): beam 4 of one
// sentence on a CPU without VNNI.
TEXT ·i8Kernel4x16AVX2(SB), NOSPLIT, $0-64
	I8AVX2ARGS

loop4:
	VPXOR  (DI), Y15, Y0
	VPABSB Y0, Y1
	VPXOR  32(DI), Y15, Y12
	VPABSB Y12, Y13
	ROW4(0, Y4, Y5)
	ROW4(4, Y6, Y7)
	ROW4(8, Y8, Y9)
	ROW4(12, Y10, Y11)
	ADDQ   $32, SI
	ADDQ   $128, DI
	DECQ   CX
	JNZ    loop4

	OUT4(0, Y4, Y5)
	OUT4(4, Y6, Y7)
	OUT4(8, Y8, Y9)
	OUT4(12, Y10, Y11)
	VZEROUPPER
	RET
