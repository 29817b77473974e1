import CSentencePiece

/// The calling thread's last error from the C shim, as a Swift string.
func lastShimError() -> String {
    let message = String(cString: csp_last_error())
    return message.isEmpty ? "unknown error" : message
}

/// A reusable buffer of ids for `SentencePieceTokenizer.encode(utf8:into:)`; give each thread its own.
public final class IDBuffer {
    let raw: OpaquePointer

    /// Makes an empty buffer.
    public init() throws(TokenizerError) {
        guard let raw = csp_ids_create() else { throw .encodingFailed(reason: "out of memory") }
        self.raw = raw
    }

    deinit { csp_ids_free(raw) }

    /// The ids of the last call, widened to `Int` as the `Tokenizer` protocol wants.
    public var ids: [Int] {
        let count = csp_ids_count(raw)
        guard count > 0, let base = csp_ids_data(raw) else { return [] }
        return UnsafeBufferPointer(start: base, count: count).map { Int($0) }
    }

    /// The ids of the last call without copying; valid until the buffer is reused.
    public var view: UnsafeBufferPointer<Int32> {
        UnsafeBufferPointer(start: csp_ids_data(raw), count: csp_ids_count(raw))
    }
}

/// A reusable buffer of pieces for `SentencePieceTokenizer.encodePieces(utf8:into:)`; give each thread its own.
public final class PieceBuffer {
    let raw: OpaquePointer

    /// Makes an empty buffer.
    public init() throws(TokenizerError) {
        guard let raw = csp_pieces_create() else { throw .encodingFailed(reason: "out of memory") }
        self.raw = raw
    }

    deinit { csp_pieces_free(raw) }

    /// Calls `body` with the UTF-8 bytes of each piece of the last call, in order, without copying.
    public func forEachPiece(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        for index in 0..<csp_pieces_count(raw) {
            var length = 0
            let base = csp_pieces_get(raw, index, &length)
            try body(UnsafeRawBufferPointer(start: base, count: length).bindMemory(to: UInt8.self))
        }
    }

    /// The pieces of the last call.
    public var pieces: [String] {
        (0..<csp_pieces_count(raw)).map { index in
            var length = 0
            guard let base = csp_pieces_get(raw, index, &length) else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: base, count: length), as: UTF8.self)
        }
    }
}

/// Owns one reusable `csp_bytes` result buffer; not shared between threads.
final class ByteBuffer {
    let raw: OpaquePointer

    init() throws(TokenizerError) {
        guard let raw = csp_bytes_create() else { throw .encodingFailed(reason: "out of memory") }
        self.raw = raw
    }

    deinit { csp_bytes_free(raw) }

    /// The bytes of the last call.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: csp_bytes_data(raw), count: csp_bytes_count(raw))
    }
}

extension String {
    /// Calls `body` with the string's UTF-8 bytes, copying only when the string is not stored contiguously.
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = self
        return try copy.withUTF8(body)
    }
}
