import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an atomic write failed; the target file is untouched in every case.
public struct AtomicFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The step that failed: "create", "write", "sync", "rename" or a caller's own step.
    public let step: String
    /// The file that was being replaced.
    public let path: String
    /// The system's reason, from `strerror`.
    public let reason: String

    /// A sentence describing the failure.
    public var description: String {
        "Could not save \(path) (\(step) failed: \(reason)); any previous file there is unchanged."
    }
}

/// Replaces a file all at once: write a temporary file beside it, flush it to disk, then rename
/// it over the target, so a crash mid-save leaves the previous file intact.
/// A symbolic link at the target is replaced by the new file, not followed.
public enum AtomicFile {
    /// Writes `data` to `url` atomically, keeping the old file's permissions when there is one.
    public static func write(_ data: Data, to url: URL) throws {
        try write(data, to: url, beforeRename: {})
    }

    /// The same, with a hook run between the flushed temporary file and the rename (for tests).
    static func write(_ data: Data, to url: URL, beforeRename: () throws -> Void) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp").path

        var status = stat()
        let mode: mode_t = stat(path, &status) == 0 ? status.st_mode & 0o7777 : 0o644
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw failure("create", path) }
        var closed = false
        defer {
            if !closed { _ = close(fd) }
        }
        do {
            try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                var written = 0
                while written < raw.count {
                    guard let base = raw.baseAddress else { break }
                    let result = systemWrite(fd, base + written, raw.count - written)
                    if result < 0 {
                        if errno == EINTR { continue }
                        throw failure("write", path)
                    }
                    written += result
                }
            }
            guard fsync(fd) == 0 else { throw failure("sync", path) }
            closed = true
            guard close(fd) == 0 else { throw failure("close", path) }
            try beforeRename()
            guard rename(temporary, path) == 0 else { throw failure("rename", path) }
        } catch {
            _ = unlink(temporary)
            throw error
        }
        // Make the rename itself durable; a failure here cannot undo it, so it is not an error.
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            _ = close(directoryFD)
        }
    }

    private static func failure(_ step: String, _ path: String) -> AtomicFileError {
        AtomicFileError(step: step, path: path, reason: String(cString: strerror(errno)))
    }
}

/// The system `write(2)`, named apart from `AtomicFile.write`.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Darwin)
    return Darwin.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Glibc.write(fd, buffer, count)
    #endif
}
