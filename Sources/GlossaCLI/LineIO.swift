#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GlossaNN

/// A runtime failure of a command (bad input data, I/O), printed as one sentence with exit status 1.
///
/// Flag problems use `ValidationError` instead, which also prints the usage line.
struct CommandError: Error, CustomStringConvertible {
    /// The sentence shown to users.
    let description: String
}

/// Reads a file descriptor in large chunks and hands out lines as byte slices, never as `String`.
///
/// Bytes rather than strings so invalid UTF-8 reaches `TextHygiene` intact and can be reported by line,
/// and so encoding needs no String bridging.
final class LineReader {
    private let fd: Int32
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var scanned = 0
    private var atEOF = false
    /// The 1-based number of the last line handed out.
    private(set) var lineNumber = 0

    /// Reads from `fd` (standard input by default).
    init(fd: Int32 = 0, capacity: Int = 1 << 16) {
        self.fd = fd
        self.capacity = capacity
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// Whether a whole line is already buffered, so `next` will not block on the input.
    var hasBufferedLine: Bool {
        memchr(storage + scanned, 0x0A, end - scanned) != nil
    }

    /// The next line without its newline, valid until the following call; `nil` at the end of input.
    /// `beforeBlocking` runs whenever the reader is about to wait for more input.
    func next(beforeBlocking: () throws -> Void = {}) throws -> UnsafeBufferPointer<UInt8>? {
        while true {
            if let newline = memchr(storage + scanned, 0x0A, end - scanned) {
                let stop = storage.distance(to: newline.assumingMemoryBound(to: UInt8.self))
                return take(upTo: stop, skip: 1)
            }
            scanned = end
            if atEOF {
                return start < end ? take(upTo: end, skip: 0) : nil
            }
            try beforeBlocking()
            try fill()
        }
    }

    /// A line from `next` as text, decoded by `InputFile.decodeLine` so standard input follows the same rules as
    /// every file read with `InputFile.lines` (a final `\r` dropped, UTF-8 required); the error names the line.
    func text(of line: UnsafeBufferPointer<UInt8>, replacingInvalid: Bool) throws -> String {
        guard let text = InputFile.decodeLine(line, replacingInvalid: replacingInvalid) else {
            throw CommandError(description: "line \(lineNumber) of standard input is not valid UTF-8 text; "
                + "pass --replace-invalid to replace invalid bytes with U+FFFD")
        }
        return text
    }

    private func take(upTo stop: Int, skip: Int) -> UnsafeBufferPointer<UInt8> {
        let line = UnsafeBufferPointer(start: storage + start, count: stop - start)
        start = stop + skip
        scanned = start
        lineNumber += 1
        return line
    }

    private func fill() throws {
        if start > 0 {
            memmove(storage, storage + start, end - start)
            end -= start
            scanned -= start
            start = 0
        }
        if end == capacity {
            // A line longer than the buffer: grow rather than split it.
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            bigger.update(from: storage, count: end)
            storage.deallocate()
            storage = bigger
            capacity *= 2
        }
        while true {
            let count = read(fd, storage + end, capacity - end)
            if count > 0 {
                end += count
                return
            }
            if count == 0 {
                atEOF = true
                return
            }
            if errno != EINTR {
                throw CommandError(description: "cannot read standard input: \(String(cString: strerror(errno)))")
            }
        }
    }
}

/// Collects output bytes and writes them to a file descriptor with plain `write` calls when flushed.
final class OutputWriter {
    private let fd: Int32
    private(set) var bytes: [UInt8] = []

    /// Writes to `fd` (standard output by default).
    init(fd: Int32 = 1) {
        self.fd = fd
        bytes.reserveCapacity(1 << 16)
    }

    /// Appends raw bytes.
    func write(_ data: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: data) }

    /// Appends raw bytes.
    func write(_ data: [UInt8]) { bytes.append(contentsOf: data) }

    /// Appends one byte.
    func write(byte: UInt8) { bytes.append(byte) }

    /// Appends the decimal digits of `value`.
    func write(decimal value: Int32) { Self.appendDecimal(value, to: &bytes) }

    /// Sends everything appended so far; handles short writes and interrupted calls.
    func flush() throws {
        var offset = 0
        try bytes.withUnsafeBufferPointer { buffer in
            while offset < buffer.count {
                let count = systemWrite(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw CommandError(description: "cannot write standard output: \(String(cString: strerror(errno)))")
                }
                offset += count
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }

    /// Appends the decimal digits of `value` to `output` without going through `String`.
    static func appendDecimal(_ value: Int32, to output: inout [UInt8]) {
        var magnitude = value.magnitude
        if value < 0 { output.append(UInt8(ascii: "-")) }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { output.append(raw[index]) }
        }
    }
}

/// The C `write`, named apart from `OutputWriter.write` so the method can call it.
private func systemWrite(_ fd: Int32, _ buffer: UnsafePointer<UInt8>?, _ count: Int) -> Int {
    write(fd, buffer, count)
}
