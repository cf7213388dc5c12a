package modelfile

import "math"

// HalfToFloat32 converts an IEEE 754 binary16 value to float32 (exactly).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0: // zero or subnormal: mant · 2^-24
		f := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(f) | sign)
	case 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Float32ToHalf converts f to binary16, rounding to nearest even. ok is false
// when a finite f is too large for float16 (the result is then ±inf).
// NaN stays NaN and ±inf stays ±inf.
func Float32ToHalf(f float32) (h uint16, ok bool) {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23) & 0xff
	mant := bits & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00, true
		}
		return sign | 0x7c00, true
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00, false
	}
	if e <= 0 {
		// Subnormal half: significand M (24 bits with the implicit one)
		// shifted right by 14-e, rounded to nearest even.
		if exp == 0 {
			return sign, true // float32 zero or subnormal: far below half's range
		}
		shift := uint(14 - e)
		if shift > 24 {
			return sign, true
		}
		m := mant | 0x800000
		return sign | uint16(roundShift(m, shift)), true
	}
	// Normal: keep 10 mantissa bits, round the 13 dropped ones to even. A
	// carry out of the mantissa correctly bumps the exponent.
	v := uint32(e)<<23 | mant // exponent and mantissa as one integer
	r := roundShift(v, 13)
	if r >= 0x7c00 {
		return sign | 0x7c00, false
	}
	return sign | uint16(r), true
}

// roundShift returns v >> shift rounded to nearest, ties to even.
func roundShift(v uint32, shift uint) uint32 {
	q := v >> shift
	rem := v & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// BFloat16ToFloat32 converts a bfloat16 value (the top half of a float32) to float32.
func BFloat16ToFloat32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}
