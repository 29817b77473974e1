extension InputFile {
    /// The lines of a UTF-8 text file, read under `InputFile.read`'s rules for paths and sizes.
    ///
    /// Lines end at `\n`; a final line without one counts, and a final newline adds no empty line. Each line goes
    /// through `decodeLine`, so `\r\n` files read like `\n` ones and empty lines are kept (line numbers stay those of
    /// the file). Invalid UTF-8 is an `InputFileError` naming the file and the 1-based line, unless `replacingInvalid`
    /// asks for U+FFFD in its place.
    public static func lines(
        _ path: String, purpose: String = "the text file", limit: Int = InputFile.textLimit, replacingInvalid: Bool = false
    ) throws -> [String] {
        let data = try read(path, purpose: purpose, limit: limit)
        return try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var lines: [String] = []
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: newline) ?? bytes.count
                guard let line = decodeLine(UnsafeBufferPointer(rebasing: bytes[start..<end]), replacingInvalid: replacingInvalid)
                else {
                    throw InputFileError(
                        path: path, purpose: purpose, reason: "line \(lines.count + 1) is not valid UTF-8 text",
                        invalidLine: lines.count + 1)
                }
                lines.append(line)
                start = end + 1
            }
            return lines
        }
    }

    /// The text of one line (its `\n` already removed) under the rules every Glossa line reader shares, whole-file
    /// (`lines`) or streaming (the CLI's standard input): one trailing `\r` is dropped, so CRLF files read like LF
    /// ones, and the bytes must be UTF-8. Invalid bytes give `nil`, or U+FFFD per maximal invalid sequence with
    /// `replacingInvalid`; the caller names the line, as only it knows where the bytes came from.
    public static func decodeLine(_ line: UnsafeBufferPointer<UInt8>, replacingInvalid: Bool = false) -> String? {
        let text = line.last == carriageReturn ? UnsafeBufferPointer(rebasing: line.dropLast()) : line
        if let valid = String(validating: text, as: UTF8.self) { return valid }
        return replacingInvalid ? String(decoding: text, as: UTF8.self) : nil
    }

    private static let newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
}
