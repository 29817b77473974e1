import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `glossa` child process writing its output to a log file. It is waited for with `wait4`, so its own peak
/// resident memory is known however many children run at once, and its crash leaves the parent running.
final class ChildProcess {
    /// How a child ended.
    struct Ending {
        /// The exit status, when it exited.
        var exitCode: Int32?
        /// The signal that ended it, when one did.
        var signal: Int32?
        /// Peak resident set size, in bytes.
        var peakBytes: Int

        var succeeded: Bool { exitCode == 0 }

        /// "exit status 1" or "signal 9", for messages.
        var description: String { exitCode.map { "exit status \($0)" } ?? "signal \(signal ?? 0)" }
    }

    let pid: pid_t
    let log: URL
    private var offset: UInt64
    private var partial = Data()

    /// Starts `executable arguments…` with standard input from /dev/null and standard output and error appended to `log`.
    init(executable: String, arguments: [String], log: URL) throws {
        self.log = log
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        offset = ((try? FileManager.default.attributesOfItem(atPath: log.path)[.size]) as? NSNumber)?.uint64Value ?? 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard status == 0 else {
            throw CommandError(description: "cannot start \(executable): \(String(cString: strerror(status)))")
        }
        self.pid = pid
    }

    /// The ending once the child has ended, `nil` while it runs.
    func poll() -> Ending? {
        var status: Int32 = 0
        var usage = rusage()
        guard wait4(pid, &status, WNOHANG, &usage) == pid else { return nil }
        // Linux reports ru_maxrss in kilobytes.
        let peak = Int(usage.ru_maxrss) * 1024
        let signal = status & 0x7f
        if signal == 0 { return Ending(exitCode: (status >> 8) & 0xff, signal: nil, peakBytes: peak) }
        return Ending(exitCode: nil, signal: signal, peakBytes: peak)
    }

    /// Asks the child to stop as Ctrl-C would (`glossa train` then saves a checkpoint).
    func interrupt() { kill(pid, SIGINT) }

    /// The complete lines the child has logged since the last call (progress lines included).
    func newLines() -> [String] {
        guard let handle = try? FileHandle(forReadingFrom: log) else { return [] }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd(), !data.isEmpty else { return [] }
        offset += UInt64(data.count)
        partial.append(data)
        var lines: [String] = []
        while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
            partial = Data(partial[partial.index(after: newline)...])
        }
        return lines
    }

    /// This executable's path, so children run the same build.
    static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 { return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }
}
