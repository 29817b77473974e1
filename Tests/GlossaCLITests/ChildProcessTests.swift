import Foundation
@testable import GlossaCLI
import Testing

/// `ChildProcess`, `glossa compare`'s child runner over swift-subprocess: exit status, signal, interrupt, the log
/// with standard output and error together, peak memory, and a clear error for a missing executable.
@Suite struct ChildProcessTests {
    /// A fresh log path in the temporary folder.
    func logURL() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("glossa-child-\(UUID().uuidString).log")
    }

    /// Polls until the child ends, sleeping without blocking a thread: the child's task needs a thread of the
    /// cooperative pool, which other suites' tests may hold for a while as they wait for their own processes.
    func ending(of child: ChildProcess) async throws -> ChildProcess.Ending {
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            if let ending = child.poll() { return ending }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CommandError(description: "the child did not end within 180 s")
    }

    @Test func exitStatusAndBothStreamsReachTheLog() async throws {
        let log = logURL()
        defer { try? FileManager.default.removeItem(at: log) }
        try Data("earlier run\n".utf8).write(to: log)
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "echo out; echo err >&2; printf 'crlf\\r\\npartial'; exit 3"], log: log)
        let ending = try await ending(of: child)
        #expect(ending.exitCode == 3 && ending.signal == nil && !ending.succeeded)
        #expect(ending.description == "exit status 3")
        // Only what this child wrote, complete lines only; the log is appended to, not replaced.
        #expect(child.newLines() == ["out", "err", "crlf"])
        #expect(try String(contentsOf: log, encoding: .utf8) == "earlier run\nout\nerr\ncrlf\r\npartial")
    }

    @Test func signalAndInterruptAreReported() async throws {
        let log = logURL()
        defer { try? FileManager.default.removeItem(at: log) }
        let killed = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "kill -KILL $$"], log: log)
        let killedEnding = try await ending(of: killed)
        #expect(killedEnding.exitCode == nil && killedEnding.signal == SIGKILL)
        #expect(killedEnding.description == "signal 9")

        let sleeper = try ChildProcess(executable: "/bin/sleep", arguments: ["30"], log: log)
        try await Task.sleep(for: .milliseconds(200))
        #expect(sleeper.poll() == nil, "still running")
        let started = Date()
        sleeper.interrupt()
        let interrupted = try await ending(of: sleeper)
        #expect(interrupted.signal == SIGINT)
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(interrupted.peakBytes > 0, "sampled while it slept")
    }

    @Test func successSucceeds() async throws {
        let log = logURL()
        defer { try? FileManager.default.removeItem(at: log) }
        // Long enough to be sampled even when the whole suite keeps the concurrency pool busy (the sampler is a task).
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "sleep 4"], log: log)
        let ending = try await ending(of: child)
        #expect(ending.succeeded && ending.exitCode == 0)
        #expect(ending.peakBytes > 0)
    }

    @Test func missingExecutableIsAnErrorNamingIt() {
        let log = logURL()
        defer { try? FileManager.default.removeItem(at: log) }
        #expect {
            _ = try ChildProcess(executable: "/nonexistent/glossa", arguments: [], log: log)
        } throws: { error in
            "\(error)".contains("cannot start /nonexistent/glossa")
        }
    }
}
