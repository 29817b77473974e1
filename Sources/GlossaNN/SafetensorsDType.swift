/// An element type named in a safetensors header, spelled as the format spells it.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    /// One byte per boolean, 0 or 1.
    case bool = "BOOL"
    /// 4-bit float (E2M1), two per byte.
    case f4 = "F4"
    /// 6-bit float (E2M3).
    case f6E2M3 = "F6_E2M3"
    /// 6-bit float (E3M2).
    case f6E3M2 = "F6_E3M2"
    /// Unsigned 8-bit integer.
    case u8 = "U8"
    /// Signed 8-bit integer.
    case i8 = "I8"
    /// 8-bit float, 5 exponent bits.
    case f8E5M2 = "F8_E5M2"
    /// 8-bit float, 4 exponent bits.
    case f8E4M3 = "F8_E4M3"
    /// 8-bit exponent-only scale.
    case f8E8M0 = "F8_E8M0"
    /// Signed 16-bit integer.
    case i16 = "I16"
    /// Unsigned 16-bit integer.
    case u16 = "U16"
    /// IEEE 754 half precision.
    case f16 = "F16"
    /// bfloat16: the top half of a Float32.
    case bf16 = "BF16"
    /// Signed 32-bit integer.
    case i32 = "I32"
    /// Unsigned 32-bit integer.
    case u32 = "U32"
    /// IEEE 754 single precision.
    case f32 = "F32"
    /// Complex number of two Float32.
    case c64 = "C64"
    /// IEEE 754 double precision.
    case f64 = "F64"
    /// Signed 64-bit integer.
    case i64 = "I64"
    /// Unsigned 64-bit integer.
    case u64 = "U64"

    /// Bits per element; sub-byte types pack several elements into a byte.
    public var bitWidth: Int {
        switch self {
        case .f4: return 4
        case .f6E2M3, .f6E3M2: return 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Whether Glossa can convert elements of this type to Float32.
    public var isLoadable: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64, .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64: return true
        case .f4, .f6E2M3, .f6E3M2, .f8E5M2, .f8E4M3, .f8E8M0, .c64: return false
        }
    }
}
