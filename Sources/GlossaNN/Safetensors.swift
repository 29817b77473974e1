import Foundation
import GlossaTensor

/// Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of
/// JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data.
/// Layout follows the format description at huggingface/safetensors (README, "Format").
public enum Safetensors {
    /// The largest header Glossa reads; real headers are kilobytes, so more means corruption.
    public static let maximumHeaderLength = 100_000_000

    /// Opens a safetensors file, memory-mapping it, and validates its header and layout.
    public static func read(contentsOf url: URL) throws -> SafetensorsFile {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw SafetensorsError.cannotOpen(path: url.path, reason: Self.reason(for: error))
        }
        return try read(data: data)
    }

    /// Parses safetensors bytes already in memory and validates their header and layout.
    public static func read(data: Data) throws -> SafetensorsFile {
        let bytes = data.count
        guard bytes >= 8 else { throw SafetensorsError.fileTooShort(byteCount: bytes) }
        let headerLength = data.withUnsafeBytes { raw in
            UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        }
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw SafetensorsError.headerTooLarge(length: headerLength, limit: maximumHeaderLength)
        }
        guard headerLength <= UInt64(bytes - 8) else {
            throw SafetensorsError.headerExceedsFile(length: headerLength, fileSize: bytes)
        }
        let dataStart = 8 + Int(headerLength)
        let header = try SafetensorsHeader.parse(data.subdata(in: 8..<dataStart))
        let buffer = data.subdata(in: dataStart..<bytes)
        try SafetensorsHeader.validateLayout(header.entries, dataLength: buffer.count)
        return SafetensorsFile(entries: header.entries, metadata: header.metadata, buffer: buffer)
    }

    private static func reason(for error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }
}

/// Where one tensor lives in a safetensors file and what it holds.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    /// The tensor's name, usually a dotted parameter path.
    public let name: String
    /// The element type as stored.
    public let dtype: SafetensorsDType
    /// The extent of each dimension, outermost first; `[]` is a scalar.
    public let shape: [Int]
    /// The tensor's bytes, relative to the start of the data buffer.
    public let byteRange: Range<Int>

    /// The number of elements, the product of the shape.
    public var count: Int { shape.reduce(1, *) }
}
