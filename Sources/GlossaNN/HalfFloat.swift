/// Bit-level conversions between Float32 and the 16-bit float formats safetensors stores
/// (IEEE 754 binary16 and bfloat16), written out so they behave the same on every platform.
enum HalfFloat {
    /// The Float32 equal to an IEEE binary16 bit pattern; exact for every pattern, NaN payloads kept.
    static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa × 2^-24, exact in Float32.
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    /// The IEEE binary16 bit pattern nearest a Float32, ties to even; overflow gives infinity.
    static func halfBits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            // Infinity stays infinity; NaN stays a (quiet) NaN with its top payload bits.
            return mantissa == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(mantissa >> 13)
        }
        let halfExponent = exponent - 112
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Result is subnormal (or zero): the 24-bit significand shifted into 10 bits.
            let shift = 14 - halfExponent
            if shift > 24 { return sign }
            let significand = mantissa | 0x80_0000
            return sign | UInt16(roundShift(significand, by: UInt32(shift)))
        }
        // A carry out of the mantissa correctly bumps the exponent, up to infinity.
        let rounded = roundShift((UInt32(halfExponent) << 23) | mantissa, by: 13)
        return sign | UInt16(rounded)
    }

    /// The Float32 of a bfloat16 bit pattern (its upper 16 bits).
    static func float(fromBFloat16Bits b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    /// `value >> shift` rounded to nearest, ties to even.
    private static func roundShift(_ value: UInt32, by shift: UInt32) -> UInt32 {
        let kept = value >> shift
        let remainder = value & ((1 << shift) - 1)
        let half: UInt32 = 1 << (shift - 1)
        if remainder > half || (remainder == half && kept & 1 == 1) { return kept + 1 }
        return kept
    }
}
