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
        switch step {
        case "target", "stream":
            return "Could not write \(path): \(reason)."
        default:
            return "Could not save \(path) (\(step) failed: \(reason)); any previous file there is unchanged."
        }
    }
}

/// Replaces a file all at once: write a temporary file beside it, flush it to disk, then rename
/// it over the target, so a crash mid-save leaves the previous file intact.
///
/// One rule for every output path (`OutputFile`): a symbolic link is followed and the file it names is replaced;
/// a device, FIFO or socket (`/dev/null`, `/dev/stdout`, a pipe) is written through, never replaced; a folder is
/// refused.
public enum AtomicFile {
    /// Writes `data` to `url` atomically, keeping the old file's permissions when there is one.
    public static func write(_ data: Data, to url: URL) throws {
        try write(data, to: url, beforeRename: {})
    }

    /// The same, with a hook run between the flushed temporary file and the rename (for tests).
    static func write(_ data: Data, to url: URL, beforeRename: () throws -> Void) throws {
        let file = try OutputFile(path: url.path)
        try file.write(data)
        try file.commit(beforeRename: beforeRename)
    }
}

/// An output file written as it goes and made visible at `commit()`: a regular file (new, or an existing one to
/// replace) is written to a temporary file in the same folder, flushed to disk and renamed over the target, so
/// readers never see half a file and a failure leaves the old one unchanged; a device, FIFO or socket is written
/// through. A symbolic link is followed. Without `commit()` a regular target is left as it was.
public final class OutputFile {
    /// The path as given.
    public let path: String
    /// The path after following symbolic links: the file that is replaced or written through.
    public let target: String
    /// Whether the target is a device, FIFO or socket, written through rather than replaced.
    public let isStream: Bool
    private var fd: Int32 = -1
    private var temporary: String?
    private var buffer: [UInt8] = []
    private var finished = false

    /// Opens `path` for writing (see the type's rule); throws `AtomicFileError` naming the path.
    public init(path: String) throws {
        self.path = path
        guard !path.isEmpty else { throw AtomicFileError(step: "target", path: "''", reason: "an output path must not be empty") }
        // /dev/stdout, /dev/fd/N and /proc/self/fd/N name an open descriptor (often a pipe, whose link leads nowhere):
        // write through them as they are.
        if Self.namesDescriptor(path) {
            target = path
            isStream = true
            fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Self.failure("stream", path) }
            return
        }
        target = try Self.followLinks(path)
        var status = stat()
        let exists = stat(target, &status) == 0
        let kind = status.st_mode & S_IFMT
        if exists && kind == S_IFDIR {
            throw AtomicFileError(step: "target", path: path, reason: "it is a folder, not a file")
        }
        isStream = exists && kind != S_IFREG
        if isStream {
            fd = open(target, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Self.failure("stream", path) }
            return
        }
        let folder = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        let temporary = (folder.isEmpty ? "" : folder + "/") + ".\(name).\(UUID().uuidString).tmp"
        let mode: mode_t = exists ? status.st_mode & 0o7777 : 0o644
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            var folderStatus = stat()
            if stat(folder.isEmpty ? "." : folder, &folderStatus) != 0 {
                throw AtomicFileError(step: "create", path: path, reason: "its folder \(folder) does not exist")
            }
            throw Self.failure("create", path)
        }
        // The umask is not applied to an existing file's mode; set it exactly.
        if exists { _ = fchmod(fd, mode) }
        self.temporary = temporary
    }

    deinit {
        if fd >= 0 { _ = close(fd) }
        if !finished, let temporary { _ = unlink(temporary) }
    }

    /// Appends bytes; they are sent once a megabyte is waiting, at `flush()` and at `commit()`.
    public func write(_ bytes: some Sequence<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Sends what is buffered (to the temporary file, or through to a stream).
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                guard let base = raw.baseAddress else { break }
                let result = systemWrite(fd, base + written, raw.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw Self.failure(isStream ? "stream" : "write", path)
                }
                written += result
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the temporary file over the target (or closes a stream).
    public func commit() throws { try commit(beforeRename: {}) }

    func commit(beforeRename: () throws -> Void) throws {
        guard !finished else { return }
        try flush()
        if isStream {
            finished = true
            let closing = fd
            fd = -1
            guard close(closing) == 0 else { throw Self.failure("stream", path) }
            return
        }
        guard fsync(fd) == 0 else { throw Self.failure("sync", path) }
        let closing = fd
        fd = -1
        guard close(closing) == 0 else { throw Self.failure("close", path) }
        try beforeRename()
        guard let temporary, rename(temporary, target) == 0 else { throw Self.failure("rename", path) }
        finished = true
        // Make the rename itself durable; a failure here cannot undo it, so it is not an error.
        let folder = (target as NSString).deletingLastPathComponent
        let folderFD = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
        if folderFD >= 0 {
            _ = fsync(folderFD)
            _ = close(folderFD)
        }
    }

    /// Whether `path` names an open file descriptor rather than a file.
    static func namesDescriptor(_ path: String) -> Bool {
        ["/dev/stdout", "/dev/stderr"].contains(path) || path.hasPrefix("/dev/fd/") || path.hasPrefix("/proc/self/fd/")
    }

    /// `path` with every symbolic link along its last component followed (a dangling link gives the path it names).
    static func followLinks(_ path: String) throws -> String {
        var current = path
        for _ in 0..<40 {
            var status = stat()
            guard lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(current, &buffer, buffer.count - 1)
            guard length >= 0 else { throw failure("target", path) }
            let destination = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if destination.hasPrefix("/") {
                current = destination
            } else {
                let folder = (current as NSString).deletingLastPathComponent
                current = folder.isEmpty ? destination : folder + "/" + destination
            }
        }
        throw AtomicFileError(step: "target", path: path, reason: "too many levels of symbolic links")
    }

    private static func failure(_ step: String, _ path: String) -> AtomicFileError {
        AtomicFileError(step: step, path: path, reason: String(cString: strerror(errno)))
    }
}

/// The identity of a file (device and inode, symbolic links followed), to tell whether two paths are one file.
public struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64

    /// The file at `path`, or `nil` when there is none.
    public init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}

/// The system `write(2)`, named apart from `OutputFile.write`.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Darwin)
    return Darwin.write(fd, buffer, count)
    #elseif canImport(Musl)
    return Musl.write(fd, buffer, count)
    #else
    return Glibc.write(fd, buffer, count)
    #endif
}
