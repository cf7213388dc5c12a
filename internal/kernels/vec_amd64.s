//go:build !purego

#include "textflag.h"

// Vector kernels with AVX2+FMA (used by both amd64 implementations). Each
// processes n floats, n a multiple of 8; the Go wrappers do the tail.

// HSUM reduces the 8 floats of Y0 to their sum in X0 (clobbers X1).
#define HSUM \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVHLPS     X0, X0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVSHDUP    X0, X1 \
	VADDSS       X1, X0, X0

// func sumAVX2(x *float32, n int) float32
TEXT ·sumAVX2(SB), NOSPLIT, $0-20
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX
	SUBQ   $32, CX
	JL     tail

loop32:
	VADDPS (SI)(AX*4), Y0, Y0
	VADDPS 32(SI)(AX*4), Y1, Y1
	VADDPS 64(SI)(AX*4), Y2, Y2
	VADDPS 96(SI)(AX*4), Y3, Y3
	ADDQ   $32, AX
	CMPQ   AX, CX
	JLE    loop32

tail:
	ADDQ $32, CX

loop8:
	CMPQ   AX, CX
	JGE    done
	VADDPS (SI)(AX*4), Y0, Y0
	ADDQ   $8, AX
	JMP    loop8

done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32 (n >= 8)
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVUPS Y0, Y1
	VMOVUPS Y0, Y2
	VMOVUPS Y0, Y3
	XORQ    AX, AX
	SUBQ    $32, CX
	JL      tail

loop32:
	VMAXPS (SI)(AX*4), Y0, Y0
	VMAXPS 32(SI)(AX*4), Y1, Y1
	VMAXPS 64(SI)(AX*4), Y2, Y2
	VMAXPS 96(SI)(AX*4), Y3, Y3
	ADDQ   $32, AX
	CMPQ   AX, CX
	JLE    loop32

tail:
	ADDQ $32, CX

loop8:
	CMPQ   AX, CX
	JGE    done
	VMAXPS (SI)(AX*4), Y0, Y0
	ADDQ   $8, AX
	JMP    loop8

done:
	VMAXPS       Y1, Y0, Y0
	VMAXPS       Y3, Y2, Y2
	VMAXPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VMAXSS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET

// func addAVX2(dst, x *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX

loop8:
	CMPQ    AX, CX
	JGE     done
	VMOVUPS (DI)(AX*4), Y0
	VADDPS  (SI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     loop8

done:
	VZEROUPPER
	RET

// func scaleAVX2(alpha float32, x *float32, n int)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	XORQ         AX, AX

loop8:
	CMPQ    AX, CX
	JGE     done
	VMULPS  (SI)(AX*4), Y15, Y0
	VMOVUPS Y0, (SI)(AX*4)
	ADDQ    $8, AX
	JMP     loop8

done:
	VZEROUPPER
	RET

// Constants of exp (see exp32 in generic.go), each broadcast to 8 lanes.
DATA expc<>+0(SB)/4, $0xc2aeac50
DATA expc<>+4(SB)/4, $0xc2aeac50
DATA expc<>+8(SB)/4, $0xc2aeac50
DATA expc<>+12(SB)/4, $0xc2aeac50
DATA expc<>+16(SB)/4, $0xc2aeac50
DATA expc<>+20(SB)/4, $0xc2aeac50
DATA expc<>+24(SB)/4, $0xc2aeac50
DATA expc<>+28(SB)/4, $0xc2aeac50
DATA expc<>+32(SB)/4, $0x42b0c0a5
DATA expc<>+36(SB)/4, $0x42b0c0a5
DATA expc<>+40(SB)/4, $0x42b0c0a5
DATA expc<>+44(SB)/4, $0x42b0c0a5
DATA expc<>+48(SB)/4, $0x42b0c0a5
DATA expc<>+52(SB)/4, $0x42b0c0a5
DATA expc<>+56(SB)/4, $0x42b0c0a5
DATA expc<>+60(SB)/4, $0x42b0c0a5
DATA expc<>+64(SB)/4, $0x3fb8aa3b
DATA expc<>+68(SB)/4, $0x3fb8aa3b
DATA expc<>+72(SB)/4, $0x3fb8aa3b
DATA expc<>+76(SB)/4, $0x3fb8aa3b
DATA expc<>+80(SB)/4, $0x3fb8aa3b
DATA expc<>+84(SB)/4, $0x3fb8aa3b
DATA expc<>+88(SB)/4, $0x3fb8aa3b
DATA expc<>+92(SB)/4, $0x3fb8aa3b
DATA expc<>+96(SB)/4, $0x3f000000
DATA expc<>+100(SB)/4, $0x3f000000
DATA expc<>+104(SB)/4, $0x3f000000
DATA expc<>+108(SB)/4, $0x3f000000
DATA expc<>+112(SB)/4, $0x3f000000
DATA expc<>+116(SB)/4, $0x3f000000
DATA expc<>+120(SB)/4, $0x3f000000
DATA expc<>+124(SB)/4, $0x3f000000
DATA expc<>+128(SB)/4, $0x3f318000
DATA expc<>+132(SB)/4, $0x3f318000
DATA expc<>+136(SB)/4, $0x3f318000
DATA expc<>+140(SB)/4, $0x3f318000
DATA expc<>+144(SB)/4, $0x3f318000
DATA expc<>+148(SB)/4, $0x3f318000
DATA expc<>+152(SB)/4, $0x3f318000
DATA expc<>+156(SB)/4, $0x3f318000
DATA expc<>+160(SB)/4, $0xb95e8083
DATA expc<>+164(SB)/4, $0xb95e8083
DATA expc<>+168(SB)/4, $0xb95e8083
DATA expc<>+172(SB)/4, $0xb95e8083
DATA expc<>+176(SB)/4, $0xb95e8083
DATA expc<>+180(SB)/4, $0xb95e8083
DATA expc<>+184(SB)/4, $0xb95e8083
DATA expc<>+188(SB)/4, $0xb95e8083
DATA expc<>+192(SB)/4, $0x39506967
DATA expc<>+196(SB)/4, $0x39506967
DATA expc<>+200(SB)/4, $0x39506967
DATA expc<>+204(SB)/4, $0x39506967
DATA expc<>+208(SB)/4, $0x39506967
DATA expc<>+212(SB)/4, $0x39506967
DATA expc<>+216(SB)/4, $0x39506967
DATA expc<>+220(SB)/4, $0x39506967
DATA expc<>+224(SB)/4, $0x3ab743ce
DATA expc<>+228(SB)/4, $0x3ab743ce
DATA expc<>+232(SB)/4, $0x3ab743ce
DATA expc<>+236(SB)/4, $0x3ab743ce
DATA expc<>+240(SB)/4, $0x3ab743ce
DATA expc<>+244(SB)/4, $0x3ab743ce
DATA expc<>+248(SB)/4, $0x3ab743ce
DATA expc<>+252(SB)/4, $0x3ab743ce
DATA expc<>+256(SB)/4, $0x3c088908
DATA expc<>+260(SB)/4, $0x3c088908
DATA expc<>+264(SB)/4, $0x3c088908
DATA expc<>+268(SB)/4, $0x3c088908
DATA expc<>+272(SB)/4, $0x3c088908
DATA expc<>+276(SB)/4, $0x3c088908
DATA expc<>+280(SB)/4, $0x3c088908
DATA expc<>+284(SB)/4, $0x3c088908
DATA expc<>+288(SB)/4, $0x3d2aa9c1
DATA expc<>+292(SB)/4, $0x3d2aa9c1
DATA expc<>+296(SB)/4, $0x3d2aa9c1
DATA expc<>+300(SB)/4, $0x3d2aa9c1
DATA expc<>+304(SB)/4, $0x3d2aa9c1
DATA expc<>+308(SB)/4, $0x3d2aa9c1
DATA expc<>+312(SB)/4, $0x3d2aa9c1
DATA expc<>+316(SB)/4, $0x3d2aa9c1
DATA expc<>+320(SB)/4, $0x3e2aaaaa
DATA expc<>+324(SB)/4, $0x3e2aaaaa
DATA expc<>+328(SB)/4, $0x3e2aaaaa
DATA expc<>+332(SB)/4, $0x3e2aaaaa
DATA expc<>+336(SB)/4, $0x3e2aaaaa
DATA expc<>+340(SB)/4, $0x3e2aaaaa
DATA expc<>+344(SB)/4, $0x3e2aaaaa
DATA expc<>+348(SB)/4, $0x3e2aaaaa
DATA expc<>+352(SB)/4, $0x3f000000
DATA expc<>+356(SB)/4, $0x3f000000
DATA expc<>+360(SB)/4, $0x3f000000
DATA expc<>+364(SB)/4, $0x3f000000
DATA expc<>+368(SB)/4, $0x3f000000
DATA expc<>+372(SB)/4, $0x3f000000
DATA expc<>+376(SB)/4, $0x3f000000
DATA expc<>+380(SB)/4, $0x3f000000
DATA expc<>+384(SB)/4, $0x3f800000
DATA expc<>+388(SB)/4, $0x3f800000
DATA expc<>+392(SB)/4, $0x3f800000
DATA expc<>+396(SB)/4, $0x3f800000
DATA expc<>+400(SB)/4, $0x3f800000
DATA expc<>+404(SB)/4, $0x3f800000
DATA expc<>+408(SB)/4, $0x3f800000
DATA expc<>+412(SB)/4, $0x3f800000
DATA expc<>+416(SB)/4, $0x0000007f
DATA expc<>+420(SB)/4, $0x0000007f
DATA expc<>+424(SB)/4, $0x0000007f
DATA expc<>+428(SB)/4, $0x0000007f
DATA expc<>+432(SB)/4, $0x0000007f
DATA expc<>+436(SB)/4, $0x0000007f
DATA expc<>+440(SB)/4, $0x0000007f
DATA expc<>+444(SB)/4, $0x0000007f
GLOBL expc<>(SB), RODATA|NOPTR, $448

#define LO expc<>+0(SB)
#define HI expc<>+32(SB)
#define LOG2E expc<>+64(SB)
#define HALF expc<>+96(SB)
#define LN2HI expc<>+128(SB)
#define LN2LO expc<>+160(SB)
#define P0 expc<>+192(SB)
#define P1 expc<>+224(SB)
#define P2 expc<>+256(SB)
#define P3 expc<>+288(SB)
#define P4 expc<>+320(SB)
#define P5 expc<>+352(SB)
#define ONE expc<>+384(SB)
#define BIAS expc<>+416(SB)

// func expSubAVX2(x *float32, n int, m float32) float32
TEXT ·expSubAVX2(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Y15
	VXORPS       Y5, Y5, Y5
	XORQ         AX, AX

loop8:
	CMPQ         AX, CX
	JGE          done
	VMOVUPS      (SI)(AX*4), Y0
	VSUBPS       Y15, Y0, Y0
	VCMPPS       $1, LO, Y0, Y1 // Y1 = x < LO: result 0
	VMINPS       HI, Y0, Y0
	VMULPS       LOG2E, Y0, Y2
	VADDPS       HALF, Y2, Y2
	VROUNDPS     $1, Y2, Y2     // n = floor(x·log2e + 1/2)
	VFNMADD231PS LN2HI, Y2, Y0
	VFNMADD231PS LN2LO, Y2, Y0  // r = x - n·ln2
	VMOVUPS      P0, Y3
	VFMADD213PS  P1, Y0, Y3
	VFMADD213PS  P2, Y0, Y3
	VFMADD213PS  P3, Y0, Y3
	VFMADD213PS  P4, Y0, Y3
	VFMADD213PS  P5, Y0, Y3
	VMULPS       Y0, Y0, Y4
	VFMADD213PS  Y0, Y4, Y3     // p·r² + r
	VADDPS       ONE, Y3, Y3
	VCVTPS2DQ    Y2, Y2
	VPADDD       BIAS, Y2, Y2
	VPSLLD       $23, Y2, Y2    // 2^n
	VMULPS       Y2, Y3, Y3
	VANDNPS      Y3, Y1, Y3
	VMOVUPS      Y3, (SI)(AX*4)
	VADDPS       Y3, Y5, Y5
	ADDQ         $8, AX
	JMP          loop8

done:
	VMOVUPS Y5, Y0
	HSUM
	VMOVSS  X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotRows4AVX2(k int, x, m *float32, ld int, out *float32)
// sets out[r] = x·m[r*ld : r*ld+k] for r < 4; k is a multiple of 8.
TEXT ·dotRows4AVX2(SB), NOSPLIT, $0-40
	MOVQ   k+0(FP), CX
	MOVQ   x+8(FP), SI
	MOVQ   m+16(FP), R9
	MOVQ   ld+24(FP), R8
	MOVQ   out+32(FP), DI
	SHLQ   $2, R8
	LEAQ   (R9)(R8*1), R10
	LEAQ   (R10)(R8*1), R11
	LEAQ   (R11)(R8*1), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX

loop8:
	CMPQ        AX, CX
	JGE         done
	VMOVUPS     (SI)(AX*4), Y4
	VFMADD231PS (R9)(AX*4), Y4, Y0
	VFMADD231PS (R10)(AX*4), Y4, Y1
	VFMADD231PS (R11)(AX*4), Y4, Y2
	VFMADD231PS (R12)(AX*4), Y4, Y3
	ADDQ        $8, AX
	JMP         loop8

done:
	// Reduce the four accumulators to four sums in X0.
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DI)
	VZEROUPPER
	RET

// func transpose8AVX2(src *float32, lds int, dst *float32, ldd int, n int)
// transposes 8 rows of n floats (n a multiple of 8, rows lds apart) into n
// rows of 8 floats (ldd apart): dst[c*ldd + r] = src[r*lds + c].
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-40
	MOVQ src+0(FP), SI
	MOVQ lds+8(FP), R8
	MOVQ dst+16(FP), DI
	MOVQ ldd+24(FP), R9
	MOVQ n+32(FP), CX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (R8)(R8*2), R10 // 3·lds
	LEAQ (R9)(R9*2), R11 // 3·ldd
	SHRQ $3, CX

loop:
	TESTQ CX, CX
	JZ    done
	LEAQ  (SI)(R8*4), DX
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R10*1), Y3
	VMOVUPS (DX), Y4
	VMOVUPS (DX)(R8*1), Y5
	VMOVUPS (DX)(R8*2), Y6
	VMOVUPS (DX)(R10*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	LEAQ (DI)(R9*4), DX
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x31, Y4, Y0, Y9
	VMOVUPS    Y8, (DI)
	VMOVUPS    Y9, (DX)
	VPERM2F128 $0x20, Y5, Y1, Y8
	VPERM2F128 $0x31, Y5, Y1, Y9
	VMOVUPS    Y8, (DI)(R9*1)
	VMOVUPS    Y9, (DX)(R9*1)
	VPERM2F128 $0x20, Y6, Y2, Y8
	VPERM2F128 $0x31, Y6, Y2, Y9
	VMOVUPS    Y8, (DI)(R9*2)
	VMOVUPS    Y9, (DX)(R9*2)
	VPERM2F128 $0x20, Y7, Y3, Y8
	VPERM2F128 $0x31, Y7, Y3, Y9
	VMOVUPS    Y8, (DI)(R11*1)
	VMOVUPS    Y9, (DX)(R11*1)
	ADDQ       $32, SI
	LEAQ       (DI)(R9*8), DI
	DECQ       CX
	JMP        loop

done:
	VZEROUPPER
	RET

// EXP16(Z0, Z2, Z3, Z4, K1) sets Z3 = exp(Z0) on 16 lanes, 0 where
// Z0 < LO or is NaN (clobbers Z0, Z2, Z4, K1): the vector form of exp32. K1 marks the lanes
// x >= LO; n = floor(x·log2e + 1/2), r = x - n·ln2 in two parts, and
// exp(r) = p(r)·r² + r + 1 times 2^n built in the exponent bits.
#define EXP16(Z0, Z2, Z3, Z4, K1) \
	VCMPPS.BCST       $13, LO, Z0, K1 \
	VMINPS.BCST       HI, Z0, Z0 \
	VMULPS.BCST       LOG2E, Z0, Z2 \
	VADDPS.BCST       HALF, Z2, Z2 \
	VRNDSCALEPS       $1, Z2, Z2 \
	VFNMADD231PS.BCST LN2HI, Z2, Z0 \
	VFNMADD231PS.BCST LN2LO, Z2, Z0 \
	VBROADCASTSS      P0, Z3 \
	VFMADD213PS.BCST  P1, Z0, Z3 \
	VFMADD213PS.BCST  P2, Z0, Z3 \
	VFMADD213PS.BCST  P3, Z0, Z3 \
	VFMADD213PS.BCST  P4, Z0, Z3 \
	VFMADD213PS.BCST  P5, Z0, Z3 \
	VMULPS            Z0, Z0, Z4 \
	VFMADD213PS       Z0, Z4, Z3 \
	VADDPS.BCST       ONE, Z3, Z3 \
	VCVTPS2DQ         Z2, Z2 \
	VPADDD.BCST       BIAS, Z2, Z2 \
	VPSLLD            $23, Z2, Z2 \
	VMULPS.Z          Z2, Z3, K1, Z3

// func expSubAVX512(x *float32, n int, m float32) float32
// is expSubAVX2 on 16 lanes (n a multiple of 16), with the constants
// broadcast from the same table.
TEXT ·expSubAVX512(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Z15
	VPXORD       Z5, Z5, Z5
	XORQ         AX, AX

loop16:
	CMPQ    AX, CX
	JGE     done
	VMOVUPS (SI)(AX*4), Z0
	VSUBPS  Z15, Z0, Z0
	EXP16(Z0, Z2, Z3, Z4, K1)
	VMOVUPS Z3, (SI)(AX*4)
	VADDPS  Z3, Z5, Z5
	ADDQ    $16, AX
	JMP     loop16

done:
	VEXTRACTF64X4 $1, Z5, Y6
	VADDPS        Y6, Y5, Y0
	HSUM
	VMOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET

// func maxExpSumAVX512(x *float32, n int, st *softmaxState) float32
// folds x[:n] (n a positive multiple of 16) into the 16 lanes of st: lane l
// sees x[i] for i ≡ l (mod 16), st.m[l] is the largest of them so far and
// st.s[l] the sum of exp(x[i]-st.m[l]). The block's lane maxima are taken
// first; lanes whose maximum grows rescale their sum once by exp(old-new),
// then every value adds exp(x-m): x is read from memory once and from L1
// a second time. Returns max(x[:n]).
TEXT ·maxExpSumAVX512(SB), NOSPLIT, $0-28
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	MOVQ    st+16(FP), DI
	VMOVUPS (DI), Z14   // m per lane
	VMOVUPS 64(DI), Z5  // s per lane
	VMOVUPS (SI), Z6    // the block's lane maxima
	MOVQ    $16, AX

maxloop:
	CMPQ   AX, CX
	JGE    maxdone
	VMAXPS (SI)(AX*4), Z6, Z6
	ADDQ   $16, AX
	JMP    maxloop

maxdone:
	VMAXPS   Z14, Z6, Z15
	VCMPPS   $0x1e, Z14, Z15, K2 // K2 = new m > old m
	KORTESTW K2, K2
	JZ       same
	VSUBPS   Z15, Z14, Z0
	EXP16(Z0, Z2, Z3, Z4, K1)    // exp(old - new); 0 where both are -Inf
	VMULPS   Z3, Z5, Z5
	VMOVUPS  Z15, (DI)

same:
	XORQ AX, AX
	MOVQ CX, DX
	SUBQ $32, DX
	VPXORD Z13, Z13, Z13

exploop2:
	CMPQ    AX, DX
	JG      exploop
	VMOVUPS (SI)(AX*4), Z0
	VMOVUPS 64(SI)(AX*4), Z8
	VSUBPS  Z15, Z0, Z0
	VSUBPS  Z15, Z8, Z8
	EXP16(Z0, Z2, Z3, Z4, K1)
	EXP16(Z8, Z9, Z10, Z11, K3)
	VADDPS  Z3, Z5, Z5
	VADDPS  Z10, Z13, Z13
	ADDQ    $32, AX
	JMP     exploop2

exploop:
	CMPQ    AX, CX
	JGE     expdone
	VMOVUPS (SI)(AX*4), Z0
	VSUBPS  Z15, Z0, Z0
	EXP16(Z0, Z2, Z3, Z4, K1)
	VADDPS  Z3, Z5, Z5
	ADDQ    $16, AX
	JMP     exploop

expdone:
	VADDPS        Z13, Z5, Z5
	VMOVUPS       Z5, 64(DI)
	VEXTRACTF64X4 $1, Z6, Y7
	VMAXPS        Y7, Y6, Y6
	VEXTRACTF128  $1, Y6, X7
	VMAXPS        X7, X6, X6
	VMOVHLPS      X6, X6, X7
	VMAXPS        X7, X6, X6
	VMOVSHDUP     X6, X7
	VMAXSS        X7, X6, X6
	VMOVSS        X6, ret+24(FP)
	VZEROUPPER
	RET

DATA signbit<>+0(SB)/4, $0x80000000
GLOBL signbit<>(SB), RODATA|NOPTR, $4

// func siluAVX512(out, x *float32, n int)
// sets out[i] = x·sigmoid(x) for n a positive multiple of 16: e = exp(−|x|)
// by EXP16 (ExpSub's arithmetic), then x/(1+e) where x ≥ 0 and x·e/(1+e)
// elsewhere (NaN included), each rounded as in Go.
TEXT ·siluAVX512(SB), NOSPLIT, $0-24
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VPBROADCASTD signbit<>(SB), Z15
	VPXORD       Z14, Z14, Z14
	XORQ         AX, AX

siluloop:
	VMOVUPS     (SI)(AX*4), Z6
	VPORD       Z15, Z6, Z0        // −|x|
	EXP16(Z0, Z2, Z3, Z4, K1)      // e
	VADDPS.BCST ONE, Z3, Z7        // 1 + e
	VMULPS      Z3, Z6, Z8         // x·e
	VCMPPS      $13, Z14, Z6, K2   // x >= 0 (false for NaN)
	VMOVAPS     Z6, K2, Z8         // x where x >= 0
	VDIVPS      Z7, Z8, Z8
	VMOVUPS     Z8, (DI)(AX*4)
	ADDQ        $16, AX
	CMPQ        AX, CX
	JLT         siluloop
	VZEROUPPER
	RET

// func dotHeadsAVX2(x, y *float32, hd, heads int, out *float32)
// sets out[h] to the dot product of the h-th of heads consecutive runs of
// hd floats (hd a positive multiple of 8) of x and y: four accumulators of
// 8 lanes over 32 floats a step, then 8 at a time into the first, summed
// (Y0+Y1)+(Y2+Y3) and across lanes by HSUM. Dot is one head.
TEXT ·dotHeadsAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ hd+16(FP), R8
	MOVQ heads+24(FP), R9
	MOVQ out+32(FP), DX

head:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX
	MOVQ   R8, CX
	SUBQ   $32, CX
	JL     tail

loop32:
	VMOVUPS     (SI)(AX*4), Y4
	VMOVUPS     32(SI)(AX*4), Y5
	VMOVUPS     64(SI)(AX*4), Y6
	VMOVUPS     96(SI)(AX*4), Y7
	VFMADD231PS (DI)(AX*4), Y4, Y0
	VFMADD231PS 32(DI)(AX*4), Y5, Y1
	VFMADD231PS 64(DI)(AX*4), Y6, Y2
	VFMADD231PS 96(DI)(AX*4), Y7, Y3
	ADDQ        $32, AX
	CMPQ        AX, CX
	JLE         loop32

tail:
	ADDQ $32, CX

loop8:
	CMPQ        AX, CX
	JGE         done
	VMOVUPS     (SI)(AX*4), Y4
	VFMADD231PS (DI)(AX*4), Y4, Y0
	ADDQ        $8, AX
	JMP         loop8

done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM
	VMOVSS X0, (DX)
	ADDQ   $4, DX
	LEAQ   (SI)(R8*4), SI
	LEAQ   (DI)(R8*4), DI
	DECQ   R9
	JNZ    head
	VZEROUPPER
	RET

// func axpyHeadsAVX2(alpha, x, y *float32, hd, heads int)
// adds alpha[h]·x to y on the h-th of heads consecutive runs of hd floats
// (hd a positive multiple of 8), one FMA per value. Axpy is one head.
TEXT ·axpyHeadsAVX2(SB), NOSPLIT, $0-40
	MOVQ alpha+0(FP), R10
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ hd+24(FP), R8
	MOVQ heads+32(FP), R9

head:
	VBROADCASTSS (R10), Y15
	XORQ         AX, AX
	MOVQ         R8, CX
	SUBQ         $32, CX
	JL           tail

loop32:
	VMOVUPS     (DI)(AX*4), Y0
	VMOVUPS     32(DI)(AX*4), Y1
	VMOVUPS     64(DI)(AX*4), Y2
	VMOVUPS     96(DI)(AX*4), Y3
	VFMADD231PS (SI)(AX*4), Y15, Y0
	VFMADD231PS 32(SI)(AX*4), Y15, Y1
	VFMADD231PS 64(SI)(AX*4), Y15, Y2
	VFMADD231PS 96(SI)(AX*4), Y15, Y3
	VMOVUPS     Y0, (DI)(AX*4)
	VMOVUPS     Y1, 32(DI)(AX*4)
	VMOVUPS     Y2, 64(DI)(AX*4)
	VMOVUPS     Y3, 96(DI)(AX*4)
	ADDQ        $32, AX
	CMPQ        AX, CX
	JLE         loop32

tail:
	ADDQ $32, CX

loop8:
	CMPQ        AX, CX
	JGE         done
	VMOVUPS     (DI)(AX*4), Y0
	VFMADD231PS (SI)(AX*4), Y15, Y0
	VMOVUPS     Y0, (DI)(AX*4)
	ADDQ        $8, AX
	JMP         loop8

done:
	ADDQ $4, R10
	LEAQ (SI)(R8*4), SI
	LEAQ (DI)(R8*4), DI
	DECQ R9
	JNZ  head
	VZEROUPPER
	RET
