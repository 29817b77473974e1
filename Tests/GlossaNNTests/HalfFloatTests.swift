import Testing
@testable import GlossaNN

@Suite struct HalfFloatTests {
    @Test func everyHalfSurvivesARoundTripThroughFloat() {
        var mismatches: [UInt16] = []
        for bits in UInt16.min...UInt16.max {
            let value = HalfFloat.float(fromHalfBits: bits)
            let back = HalfFloat.halfBits(from: value)
            if value.isNaN {
                if !HalfFloat.float(fromHalfBits: back).isNaN { mismatches.append(bits) }
            } else if back != bits {
                mismatches.append(bits)
            }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test func knownConversions() {
        #expect(HalfFloat.float(fromHalfBits: 0x0001) == 0x1p-24)  // smallest subnormal
        #expect(HalfFloat.float(fromHalfBits: 0x03FF) == 0x3FFp-24)  // largest subnormal
        #expect(HalfFloat.float(fromHalfBits: 0x0400) == 0x1p-14)  // smallest normal
        #expect(HalfFloat.float(fromHalfBits: 0x7BFF) == 65504)
        #expect(HalfFloat.float(fromHalfBits: 0x7C00) == .infinity)
        #expect(HalfFloat.float(fromHalfBits: 0xFC00) == -.infinity)
        #expect(HalfFloat.float(fromHalfBits: 0x7E00).isNaN)
        #expect(HalfFloat.float(fromHalfBits: 0x8000).sign == .minus)

        #expect(HalfFloat.halfBits(from: 65519) == 0x7BFF)  // below the halfway point to 65536
        #expect(HalfFloat.halfBits(from: 65520) == 0x7C00)  // the tie rounds to even: infinity
        #expect(HalfFloat.halfBits(from: 0x1p-25) == 0x0000)  // tie between 0 and 2^-24 goes to 0
        #expect(HalfFloat.halfBits(from: 0x1.8p-25) == 0x0001)
        #expect(HalfFloat.halfBits(from: 0x3p-25) == 0x0002)  // 1.5 × 2^-24 ties to even 2
        #expect(HalfFloat.halfBits(from: 0x1.ffcp-15) == 0x0400)  // rounds up out of the subnormals
        #expect(HalfFloat.halfBits(from: 0x1p-130) == 0x0000)
        #expect(HalfFloat.halfBits(from: -0x1p-130) == 0x8000)
        #expect(HalfFloat.halfBits(from: .nan) & 0x7E00 == 0x7E00)
        #expect(HalfFloat.float(fromBFloat16Bits: 0x3F80) == 1)
        #expect(HalfFloat.float(fromBFloat16Bits: 0x0001) == 0x1p-133)
    }

    #if !(os(macOS) && arch(x86_64))
    /// Checks against the platform's own Float16 wherever it exists.
    @Test func matchesTheStandardLibraryFloat16() {
        var mismatches: [UInt32] = []
        for pattern in stride(from: UInt32(0), to: UInt32.max - 40_000, by: 40_009) {
            let value = Float(bitPattern: pattern)
            if value.isNaN { continue }
            if HalfFloat.halfBits(from: value) != Float16(value).bitPattern { mismatches.append(pattern) }
        }
        for bits in UInt16.min...UInt16.max where !Float16(bitPattern: bits).isNaN {
            if HalfFloat.float(fromHalfBits: bits) != Float(Float16(bitPattern: bits)) { mismatches.append(UInt32(bits)) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }
    #endif
}
