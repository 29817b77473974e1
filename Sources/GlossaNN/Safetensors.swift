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
            throw SafetensorsError.cannotOpen(path: url.path, reason: Self.reason(for: error, at: url))
        }
        return try read(data: data)
    }

    /// Parses safetensors bytes already in memory and validates their header and layout.
    /// The tensor data is not copied: a memory-mapped `data` stays mapped, paged in as tensors are read.
    public static func read(data: Data) throws -> SafetensorsFile {
        let bytes = data.count
        guard bytes >= 8 else { throw SafetensorsError.fileTooShort(byteCount: bytes) }
        let (headerLength, headerBytes) = try data.withUnsafeBytes { raw -> (Int, Data) in
            let length = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
            guard length <= UInt64(maximumHeaderLength) else {
                throw SafetensorsError.headerTooLarge(length: length, limit: maximumHeaderLength)
            }
            guard length <= UInt64(bytes - 8) else {
                throw SafetensorsError.headerExceedsFile(length: length, fileSize: bytes)
            }
            return (Int(length), Data(raw[8..<(8 + Int(length))]))
        }
        let dataOffset = 8 + headerLength
        let header = try SafetensorsHeader.parse(headerBytes)
        try SafetensorsHeader.validateLayout(header.entries, dataLength: bytes - dataOffset)
        return SafetensorsFile(entries: header.entries, metadata: header.metadata, storage: data, dataOffset: dataOffset)
    }

    /// Why `url` could not be opened, phrased for a person rather than as a Cocoa error code.
    private static func reason(for error: Error, at url: URL) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            return "no file exists at that path"
        }
        if isDirectory.boolValue { return "it is a directory, not a file" }
        if !FileManager.default.isReadableFile(atPath: url.path) { return "the file is not readable" }
        return SafetensorsError.sentenceFragment(error.localizedDescription)
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
