import Foundation

/// The progress line of long work on stderr: rewritten in place on a terminal, printed every
/// `interval` seconds otherwise, so logs stay readable.
public final class ProgressLine {
    private let isTerminal = isatty(2) != 0
    private var lastPrint = 0.0
    private var dirty = false
    private let interval: Double

    /// A progress line; `interval` is the seconds between lines when stderr is not a terminal.
    public init(interval: Double = 30) {
        self.interval = interval
    }

    /// Shows step, loss, units (`unit`: tokens, pairs, samples) per second, learning rate, elapsed time and ETA, and with
    /// several ranks the seconds per update spent summing gradients (`allReduce`).
    public func update(step: Int, loss: Double, rate: Double, unit: String = "tokens", elapsed: Double, eta: Double?, learningRate: Float,
                       allReduce: Double? = nil) {
        let now = Date().timeIntervalSince1970
        guard isTerminal ? now - lastPrint >= 0.2 : now - lastPrint >= interval else { return }
        lastPrint = now
        let line = String(format: "step %d  loss %.3f  %.0f %@/s  lr %.2e  %@ elapsed", step, loss, rate, unit, learningRate, clock(elapsed))
            + (eta.map { "  ETA \(clock($0))" } ?? "") + (allReduce.map { String(format: "  all-reduce %.1f ms/step", $0 * 1000) } ?? "")
        if isTerminal {
            writeStandardError(("\r\u{1B}[K" + line))
            dirty = true
        } else {
            writeStandardError((line + "\n"))
        }
    }

    /// Ends a line rewritten in place, before other output.
    public func finish() {
        if dirty { writeStandardError("\n") }
        dirty = false
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}

/// Writes to standard error with `write(2)`, ignoring failures: a closed or broken stderr must not end training
/// (FileHandle's non-throwing `write` traps on them).
func writeStandardError(_ text: String) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let count = bytes.withUnsafeBytes { raw in raw.baseAddress.map { write(2, $0 + offset, raw.count - offset) } ?? 0 }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { return }
        offset += count
    }
}
