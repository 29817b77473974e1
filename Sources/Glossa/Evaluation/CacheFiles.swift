import Crypto
import Foundation

/// NumPy's `.npy` format, version 1.0, for a `[rows, columns]` float32 matrix: the magic `\x93NUMPY`, the
/// version, a little-endian header length, a Python dict literal padded with spaces to a 64-byte boundary,
/// then the scalars little-endian in C order.
public enum NpyFile {
    /// The bytes of a `.npy` file holding `rows` (all of one width `columns`).
    public static func encode(_ rows: [[Float]], columns: Int) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(columns)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.reserveCapacity(data.count + rows.count * columns * 4)
        for row in rows {
            for value in row { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    /// The matrix in a `.npy` file this writer made (or any C-order `<f4` 2-D array); `nil` if it is not one.
    public static func decode(_ data: Data) -> [[Float]]? {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8), bytes[6] == 1 else { return nil }
        let length = Int(bytes[8]) | Int(bytes[9]) << 8
        guard bytes.count >= 10 + length, let header = String(bytes: bytes[10..<(10 + length)], encoding: .ascii),
              header.contains("'descr': '<f4'"), header.contains("'fortran_order': False"),
              let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else { return nil }
        let dims = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard dims.count == 2, dims[0] >= 0, dims[1] >= 0 else { return nil }
        let (rows, columns) = (dims[0], dims[1])
        let start = 10 + length
        // A damaged header's shape must not overflow the size check.
        let (cells, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, cells <= (bytes.count - start) / 4, bytes.count == start + cells * 4 else { return nil }
        return (0..<rows).map { r in
            (0..<columns).map { c in
                let o = start + (r * columns + c) * 4
                return Float(bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
            }
        }
    }
}

/// SHA-256 (swift-crypto), streamed, for the SDK's cache keys.
struct ContentDigest {
    private var hasher = SHA256()

    /// Adds bytes to the message.
    mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if bytes.withContiguousStorageIfAvailable({ hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }) == nil {
            hasher.update(data: Array(bytes))
        }
    }

    /// Adds a string's UTF-8 bytes.
    mutating func update(_ text: String) { update(text.utf8) }

    /// The digest as 64 lowercase hex digits.
    mutating func hexDigest() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The digest of a file's bytes, read in chunks so that large weights need no second copy in memory.
    static func file(_ url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var digest = ContentDigest()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { digest.hasher.update(data: chunk) }
        return digest.hexDigest()
    }
}
