import CUTF8Proc

/// Cleans raw input lines before they reach SentencePiece: UTF-8 validation, control-character removal, optional NFKC.
///
/// Lines arrive as bytes because real corpora contain broken encodings; a `String` would already have
/// replaced them silently, and the user could no longer be told which line was bad.
public struct TextHygiene: Sendable, Equatable, Hashable {
    /// What to do with bytes that are not valid UTF-8.
    public enum InvalidUTF8Policy: Sendable, Equatable, Hashable {
        /// Throw `TokenizerError.invalidUTF8` naming the line.
        case reject
        /// Replace each run of undecodable bytes with one U+FFFD.
        case replace
    }

    /// What to do with bytes that are not valid UTF-8.
    public var invalidUTF8: InvalidUTF8Policy
    /// Drop Unicode control characters (category Cc: C0, DEL, C1) except tab; a stray `\r` from CRLF files is one.
    public var stripControlCharacters: Bool
    /// Apply NFKC compatibility normalisation; off by default because SentencePiece models carry their own normaliser.
    public var nfkc: Bool

    /// Makes a policy; the defaults reject invalid UTF-8 and strip control characters.
    public init(invalidUTF8: InvalidUTF8Policy = .reject, stripControlCharacters: Bool = true, nfkc: Bool = false) {
        self.invalidUTF8 = invalidUTF8
        self.stripControlCharacters = stripControlCharacters
        self.nfkc = nfkc
    }

    /// Calls `body` with the cleaned bytes of one line (without its newline); `lineNumber` is 1-based, for errors.
    ///
    /// Clean lines, the common case, are passed through without copying.
    public func withCleanLine<R>(
        _ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R
    ) throws -> R {
        if !nfkc, try isClean(line, lineNumber: lineNumber) { return try body(line) }
        var cleaned = try repair(line, lineNumber: lineNumber)
        if nfkc { cleaned = try Self.normalizeNFKC(cleaned) }
        return try cleaned.withUnsafeBufferPointer(body)
    }

    /// The cleaned text of one line of bytes.
    public func cleanLine(_ line: some Collection<UInt8>, lineNumber: Int = 1) throws -> String {
        let bytes = Array(line)
        return try bytes.withUnsafeBufferPointer { buffer in
            try withCleanLine(buffer, lineNumber: lineNumber) { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// The cleaned lines of a text (split on `\n`; a final line without a newline counts, a final empty one does not).
    public func lines(in data: some Collection<UInt8>) throws -> [String] {
        let bytes = Array(data)
        var result = [String]()
        try bytes.withUnsafeBufferPointer { all in
            try Self.forEachLine(in: all) { line, number in
                result.append(try withCleanLine(line, lineNumber: number) { String(decoding: $0, as: UTF8.self) })
            }
        }
        return result
    }

    /// Calls `body` with each line of `bytes` (newline excluded) and its 1-based number.
    public static func forEachLine(
        in bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void
    ) rethrows {
        var start = 0
        var number = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            number += 1
            try body(UnsafeBufferPointer(rebasing: bytes[start..<end]), number)
            start = end + 1
        }
    }

    /// Whether the line can pass unchanged; throws on invalid UTF-8 under `.reject`.
    func isClean(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws -> Bool {
        guard let base = line.baseAddress else { return true }
        var index = 0
        while index < line.count {
            let byte = line[index]
            if byte < 0x80 {
                if stripControlCharacters, Self.isASCIIControl(byte) { return false }
                index += 1
                continue
            }
            var scalar: utf8proc_int32_t = 0
            let width = utf8proc_iterate(base + index, line.count - index, &scalar)
            if width <= 0 {
                if invalidUTF8 == .reject { throw TokenizerError.invalidUTF8(line: lineNumber, byteOffset: index) }
                return false
            }
            if stripControlCharacters, utf8proc_category(scalar) == UTF8PROC_CATEGORY_CC { return false }
            index += width
        }
        return true
    }

    /// A copy of the line with invalid bytes replaced and control characters removed, as the policy says.
    func repair(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws -> [UInt8] {
        var output = [UInt8]()
        guard let base = line.baseAddress else { return output }
        output.reserveCapacity(line.count + 3)
        var index = 0
        var inInvalidRun = false
        while index < line.count {
            let byte = line[index]
            if byte < 0x80 {
                inInvalidRun = false
                if !(stripControlCharacters && Self.isASCIIControl(byte)) { output.append(byte) }
                index += 1
                continue
            }
            var scalar: utf8proc_int32_t = 0
            let width = utf8proc_iterate(base + index, line.count - index, &scalar)
            if width <= 0 {
                if invalidUTF8 == .reject { throw TokenizerError.invalidUTF8(line: lineNumber, byteOffset: index) }
                if !inInvalidRun { output.append(contentsOf: [0xEF, 0xBF, 0xBD]) }
                inInvalidRun = true
                index += 1
                continue
            }
            inInvalidRun = false
            if !(stripControlCharacters && utf8proc_category(scalar) == UTF8PROC_CATEGORY_CC) {
                output.append(contentsOf: line[index..<(index + width)])
            }
            index += width
        }
        return output
    }

    static func isASCIIControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != 0x09) || byte == 0x7F
    }

    /// NFKC of valid UTF-8 via utf8proc_map (compose + compatibility decomposition, as utf8proc_NFKC does).
    static func normalizeNFKC(_ bytes: [UInt8]) throws -> [UInt8] {
        guard !bytes.isEmpty else { return bytes }
        var mapped: UnsafeMutablePointer<utf8proc_uint8_t>?
        let options = utf8proc_option_t(rawValue: UTF8PROC_STABLE.rawValue | UTF8PROC_COMPOSE.rawValue | UTF8PROC_COMPAT.rawValue)
        let length = bytes.withUnsafeBufferPointer { utf8proc_map($0.baseAddress, $0.count, &mapped, options) }
        defer { free(mapped) }
        guard length >= 0, let mapped else {
            let reason = String(cString: utf8proc_errmsg(length))
            throw TokenizerError.encodingFailed(reason: "NFKC normalisation failed: \(reason)")
        }
        return Array(UnsafeBufferPointer(start: mapped, count: length))
    }
}
