import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an input file could not be read: one sentence naming the path.
public struct InputFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The path as given.
    public let path: String
    /// What the file is for ("the recipe", "config.json").
    public let purpose: String
    /// Why it could not be read.
    public let reason: String
    /// The 1-based line that is not UTF-8, when that is the reason (`InputFile.lines`), so a caller can offer a way
    /// around it.
    public var invalidLine: Int? = nil

    /// A sentence naming the file and the reason.
    public var description: String { "Cannot read \(purpose) '\(path)': \(reason)." }
}

/// One rule for every input path: any readable path works (regular files, pipes, `/dev/stdin`, `/dev/fd/N` of a
/// process substitution); a folder, a missing file, an unreadable one and one larger than its kind allows each give
/// one `InputFileError` naming the path. Reading goes through `open`/`read`, so a FIFO is read to its end and an
/// endless device (`/dev/zero`) stops at the limit instead of filling memory.
public enum InputFile {
    /// Configuration files (`config.json`, recipes, `generation_config.json`).
    public static let configurationLimit = 1 << 20
    /// Tokenizer models and vocabularies (real ones are a few megabytes).
    public static let tokenizerLimit = 256 << 20
    /// Text corpora and JSON Lines data.
    public static let textLimit = 4 << 30

    /// The bytes of `path`, at most `limit` of them.
    public static func read(_ path: String, purpose: String, limit: Int) throws -> Data {
        func fail(_ reason: String) -> InputFileError { InputFileError(path: path, purpose: purpose, reason: reason) }
        guard !path.isEmpty else { throw fail("the path is empty") }
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else {
            switch errno {
            case ENOENT: throw fail("no such file")
            case EACCES, EPERM: throw fail("permission denied (the file is not readable)")
            case ENOTDIR: throw fail("a part of the path is not a folder")
            default: throw fail(String(cString: strerror(errno)))
            }
        }
        defer { _ = close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw fail(String(cString: strerror(errno))) }
        if status.st_mode & S_IFMT == S_IFDIR { throw fail("it is a folder, not a file") }
        let isRegular = status.st_mode & S_IFMT == S_IFREG
        if isRegular && Int(status.st_size) > limit {
            throw fail("it is \(status.st_size) bytes, more than the \(limit) bytes allowed for \(purpose)")
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(isRegular ? Int(status.st_size) : 1 << 16)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EISDIR { throw fail("it is a folder, not a file") }
                throw fail(String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > limit { throw fail("it holds more than the \(limit) bytes allowed for \(purpose)") }
        }
        return Data(bytes)
    }
}

/// The system `read(2)`.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Darwin)
    return Darwin.read(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.read(fd, buffer, count)
    #else
    return Glibc.read(fd, buffer, count)
    #endif
}
