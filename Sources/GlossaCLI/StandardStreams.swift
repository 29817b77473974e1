import ArgumentParser
@preconcurrency import Foundation
import GlossaNN
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// The process's standard streams under the output rule: a write error on standard output ends the command with a
/// message and exit status 1 (never a silent exit 0, never a death by SIGPIPE), and a closed or broken standard
/// error is ignored rather than allowed to kill the process.
enum StandardStreams {
    /// Run first in `main`: SIGPIPE becomes an EPIPE error, and a closed descriptor 0, 1 or 2 gets a stand-in so
    /// no file opened later takes its number (stdin reads as empty, stdout fails with EBADF, stderr is discarded).
    static func prepare() {
        signal(SIGPIPE, SIG_IGN)
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", fd == 2 ? O_WRONLY : O_RDONLY)
            if opened >= 0 && opened != fd {
                _ = dup2(opened, fd)
                _ = close(opened)
            }
        }
    }

    /// Flushes `print`'s buffer and throws when any write to standard output failed.
    static func finishStandardOutput() throws {
        let flushed = fflush(stdout) == 0
        let reason = String(cString: strerror(errno))
        if !flushed || ferror(stdout) != 0 {
            clearerr(stdout)
            throw CommandError(description: "cannot write standard output: \(flushed ? "an earlier write failed" : reason)")
        }
    }

    /// Writes to standard error, ignoring every failure (a closed terminal, a full disk, a broken pipe).
    static func writeError(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { raw in raw.baseAddress.map { write(2, $0 + offset, raw.count - offset) } ?? 0 }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            offset += count
        }
    }
}

/// Writes one line to standard error; failures are ignored (see `StandardStreams.writeError`).
func logError(_ line: String) { StandardStreams.writeError(line + "\n") }

/// A command's `--output` file under the output rule (`OutputFile`), or standard output for `nil` or `-`; the
/// output may not be one of the command's inputs.
final class OutputSink {
    private let file: OutputFile?
    private let standardOutput: OutputWriter?

    /// Opens `path` (refusing it when it is the same file as one of `inputs`), or standard output.
    init(path: String?, inputs: [String?] = []) throws {
        guard let path, path != "-" else {
            file = nil
            standardOutput = OutputWriter()
            return
        }
        try Self.refuseInput(path, inputs: inputs)
        do { file = try OutputFile(path: path) } catch let error as AtomicFileError { throw CommandError(description: error.description) }
        standardOutput = nil
    }

    /// Throws when `path` names the same file as one of `inputs`.
    static func refuseInput(_ path: String, inputs: [String?]) throws {
        guard let output = FileIdentity(path: path) else { return }
        for case let input? in inputs where FileIdentity(path: input) == output {
            throw ValidationError("the output '\(path)' is the input '\(input)'; writing it would destroy the input. Write to another file.")
        }
    }

    /// Appends bytes.
    func write(_ data: Data) throws {
        if let file { try wrapped { try file.write(data) } } else { standardOutput?.write(Array(data)) }
    }

    /// Sends what was written so far.
    func flush() throws {
        if let file { try wrapped { try file.flush() } } else { try standardOutput?.flush() }
    }

    /// Flushes and makes a file visible (renamed into place, or closed when it is a device or pipe).
    func close() throws {
        if let file { try wrapped { try file.commit() } } else { try standardOutput?.flush() }
    }

    private func wrapped(_ body: () throws -> Void) throws {
        do { try body() } catch let error as AtomicFileError { throw CommandError(description: error.description) }
    }
}
