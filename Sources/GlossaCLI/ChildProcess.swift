import Foundation
import GlossaNN
import Subprocess
import SystemPackage

/// A `glossa` child process writing its output to a log file, started and reaped by swift-subprocess.
///
/// `glossa compare` runs several at once from a synchronous polling loop, so each child's `run` lives in its own task
/// and reports into a lock-guarded `State`; nothing here blocks, so it works from any thread — as long as the
/// cooperative pool has a thread free for those tasks (`glossa compare` polls from the main thread, which is not one). A crashing child leaves
/// the parent running, and a child that cannot be spawned ends at once with a `failure`.
final class ChildProcess: @unchecked Sendable {
    /// How a child ended.
    struct Ending {
        /// The exit status, when it exited.
        var exitCode: Int32?
        /// The signal that ended it, when one did.
        var signal: Int32?
        /// Peak resident set size, in bytes.
        var peakBytes: Int
        /// Why the child could not be watched to its end, when that happened instead.
        var failure: String? = nil

        var succeeded: Bool { exitCode == 0 }

        /// "exit status 1" or "signal 9", for messages.
        var description: String {
            if let failure { return failure }
            return exitCode.map { "exit status \($0)" } ?? "signal \(signal ?? 0)"
        }
    }

    /// What the child's task has seen so far; read and written only under `lock`.
    private struct State {
        var started = false
        var ending: Ending?
        var peakBytes = 0
        var interruptRequested = false
    }

    let log: URL
    private var offset: UInt64
    private var partial = Data()
    private let lock = NSLock()
    private var state = State()

    /// Starts `executable arguments…` with standard input from /dev/null and standard output and error appended to `log`.
    init(executable: String, arguments: [String], log: URL) throws {
        self.log = log
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        offset = ((try? FileManager.default.attributesOfItem(atPath: log.path)[.size]) as? NSNumber)?.uint64Value ?? 0
        let output: FileDescriptor
        do {
            output = try FileDescriptor.open(
                FilePath(log.path), .writeOnly, options: [.create, .append],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw CommandError(description: "cannot open the log \(log.path): \(error)")
        }
        // The spawn itself happens in the task; `init` must not wait for it, as a caller on the concurrency pool
        // would block the threads that task needs. The one likely start failure is checked here instead.
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            try? output.close()
            throw CommandError(description: "cannot start \(executable): no executable file at that path")
        }
        Task.detached { [self] in
            do {
                let result = try await Subprocess.run(
                    .path(FilePath(executable)), arguments: Arguments(arguments),
                    input: .none, output: .fileDescriptor(output, closeAfterSpawningProcess: true), error: .combinedWithOutput
                ) { execution in
                    self.update { $0.started = true }
                    await self.watch(execution)
                }
                let peak = update { $0.peakBytes }
                let ending: Ending
                switch result.terminationStatus {
                case let .exited(code): ending = Ending(exitCode: code, signal: nil, peakBytes: peak)
                case let .signaled(signal): ending = Ending(exitCode: nil, signal: signal, peakBytes: peak)
                }
                update { $0.ending = ending }
            } catch {
                update { state in
                    let what = state.started ? "lost track of the child process" : "cannot start \(executable)"
                    state.ending = Ending(peakBytes: state.peakBytes, failure: "\(what): \(error)")
                }
            }
        }
    }

    /// The ending once the child has ended, `nil` while it runs.
    func poll() -> Ending? { update { $0.ending } }

    /// Asks the child to stop as Ctrl-C would (`glossa train` then saves a checkpoint).
    func interrupt() { update { $0.interruptRequested = true } }

    /// The complete lines the child has logged since the last call (progress lines included), decoded as every
    /// Glossa reader decodes a line.
    func newLines() -> [String] {
        guard let handle = try? FileHandle(forReadingFrom: log) else { return [] }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd(), !data.isEmpty else { return [] }
        offset += UInt64(data.count)
        partial.append(data)
        var lines: [String] = []
        while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(partial[partial.startIndex..<newline])
            lines.append(line.withUnsafeBufferPointer { InputFile.decodeLine($0, replacingInvalid: true) } ?? "")
            partial = Data(partial[partial.index(after: newline)...])
        }
        return lines
    }

    /// Runs while the child does: forwards an interrupt request and samples its peak memory.
    ///
    /// swift-subprocess reaps the child only after this returns, so the pid stays the child's (a zombie at worst) and
    /// signalling it cannot reach a stranger. The kernel keeps the peak as `VmHWM`; sampling it every 50 ms misses at
    /// most a new peak in the child's last 50 ms (`wait4`'s rusage is not available, as the library reaps).
    private func watch(_ execution: Execution<NoInput, FileDescriptorOutput, CombinedErrorOutput>) async {
        let pid = execution.processIdentifier.value
        while true {
            if update({ state in defer { state.interruptRequested = false }; return state.interruptRequested }) {
                try? execution.send(signal: .interrupt)
            }
            guard let status = Self.status(of: pid), !status.ended else { return }
            if let peak = status.peakBytes { update { $0.peakBytes = max($0.peakBytes, peak) } }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Whether a process has ended (zombie or dead) and its peak resident memory, from `/proc/<pid>/status`; `nil` when
    /// the file cannot be read.
    static func status(of pid: pid_t) -> (ended: Bool, peakBytes: Int?)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var ended = false
        var peak: Int?
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: \.isWhitespace)
            if fields.first == "State:", let code = fields.dropFirst().first { ended = code == "Z" || code == "X" }
            if fields.first == "VmHWM:", fields.count >= 2, let kilobytes = Int(fields[1]) { peak = kilobytes * 1024 }
        }
        return (ended, peak)
    }

    /// Reads or changes `state` under the lock.
    @discardableResult
    private func update<T>(_ body: (inout State) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&state)
    }

    /// This executable's path, so children run the same build.
    static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 { return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }
}

