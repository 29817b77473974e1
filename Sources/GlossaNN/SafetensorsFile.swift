import Foundation
import GlossaTensor

/// An opened, validated safetensors file; tensors are decoded to Float32 only when asked for.
public struct SafetensorsFile: Sendable {
    /// Every tensor's entry, in the order their bytes appear in the file.
    public let entries: [SafetensorsTensorInfo]
    /// The free-form `__metadata__` strings; empty when the file has none.
    public let metadata: [String: String]
    /// The whole file (memory-mapped when read from disk); tensor bytes start at `dataOffset`.
    private let storage: Data
    private let dataOffset: Int
    private let index: [String: Int]

    init(entries: [SafetensorsTensorInfo], metadata: [String: String], storage: Data, dataOffset: Int) {
        self.entries = entries
        self.metadata = metadata
        self.storage = storage
        self.dataOffset = dataOffset
        var index: [String: Int] = [:]
        for (position, entry) in entries.enumerated() { index[entry.name] = position }
        self.index = index
    }

    /// Tensor names in the order their bytes appear in the file.
    public var names: [String] { entries.map(\.name) }

    /// The entry for `name`, or nil when the file has no such tensor.
    public func info(named name: String) -> SafetensorsTensorInfo? {
        index[name].map { entries[$0] }
    }

    /// Decodes one tensor to Float32.
    public func tensor(named name: String) throws -> Tensor {
        guard let info = info(named: name) else {
            throw SafetensorsError.tensorNotFound(name: name, available: names)
        }
        let scalars = try decode(info)
        return Tensor(shape: info.shape, scalars: scalars)
    }

    /// Decodes every tensor to Float32, keyed by name; throws on the first one that cannot be loaded.
    public func tensors() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        result.reserveCapacity(entries.count)
        for info in entries {
            result[info.name] = Tensor(shape: info.shape, scalars: try decode(info))
        }
        return result
    }

    private func decode(_ info: SafetensorsTensorInfo) throws -> [Float] {
        guard info.dtype.isLoadable else {
            throw SafetensorsError.unsupportedDType(tensor: info.name, dtype: info.dtype)
        }
        let count = info.count
        let bytes = (dataOffset + info.byteRange.lowerBound)..<(dataOffset + info.byteRange.upperBound)
        return try storage.withUnsafeBytes { (all: UnsafeRawBufferPointer) throws -> [Float] in
            let raw = UnsafeRawBufferPointer(rebasing: all[bytes])
            switch info.dtype {
            case .f32:
                #if _endian(little)
                return [Float](unsafeUninitializedCapacity: count) { out, initialized in
                    if count > 0, let base = out.baseAddress, let source = raw.baseAddress {
                        UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: count * 4)
                    }
                    initialized = count
                }
                #else
                return Self.map(raw, count, UInt32.self) { Float(bitPattern: UInt32(littleEndian: $0)) }
                #endif
            case .f16:
                return Self.map(raw, count, UInt16.self) { HalfFloat.float(fromHalfBits: UInt16(littleEndian: $0)) }
            case .bf16:
                return Self.map(raw, count, UInt16.self) { HalfFloat.float(fromBFloat16Bits: UInt16(littleEndian: $0)) }
            case .f64:
                return Self.map(raw, count, UInt64.self) { Float(Double(bitPattern: UInt64(littleEndian: $0))) }
            case .bool, .u8:
                return Self.map(raw, count, UInt8.self) { Float($0) }
            case .i8:
                return Self.map(raw, count, Int8.self) { Float($0) }
            case .i16:
                return Self.map(raw, count, Int16.self) { Float(Int16(littleEndian: $0)) }
            case .u16:
                return Self.map(raw, count, UInt16.self) { Float(UInt16(littleEndian: $0)) }
            case .i32:
                return try Self.exact(info.name, Self.map(raw, count, Int32.self) { Int64(Int32(littleEndian: $0)) })
            case .u32:
                return try Self.exact(info.name, Self.map(raw, count, UInt32.self) { Int64(UInt32(littleEndian: $0)) })
            case .i64:
                return try Self.exact(info.name, Self.map(raw, count, Int64.self) { Int64(littleEndian: $0) })
            case .u64:
                let values = Self.map(raw, count, UInt64.self) { UInt64(littleEndian: $0) }
                if let wide = values.first(where: { $0 > 1 << 24 }) {
                    throw SafetensorsError.integerNotExactInFloat32(tensor: info.name, value: String(wide))
                }
                return values.map { Float($0) }
            case .f4, .f6E2M3, .f6E3M2, .f8E5M2, .f8E4M3, .f8E8M0, .c64:
                throw SafetensorsError.unsupportedDType(tensor: info.name, dtype: info.dtype)
            }
        }
    }

    /// Reads `count` little-endian elements of type `T` from unaligned bytes and converts each.
    private static func map<T: FixedWidthInteger, U>(
        _ raw: UnsafeRawBufferPointer, _ count: Int, _ type: T.Type, _ convert: (T) -> U
    ) -> [U] {
        var result: [U] = []
        result.reserveCapacity(count)
        let stride = MemoryLayout<T>.size
        for i in 0..<count {
            result.append(convert(raw.loadUnaligned(fromByteOffset: i * stride, as: T.self)))
        }
        return result
    }

    /// Converts integers to Float32, refusing any beyond ±2^24 where Float32 stops being exact.
    /// Large integer tensors (ids, counts) would otherwise load silently wrong.
    private static func exact(_ name: String, _ values: [Int64]) throws -> [Float] {
        let limit: Int64 = 1 << 24
        if let wide = values.first(where: { $0 > limit || $0 < -limit }) {
            throw SafetensorsError.integerNotExactInFloat32(tensor: name, value: String(wide))
        }
        return values.map { Float($0) }
    }
}
