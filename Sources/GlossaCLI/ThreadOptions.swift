import ArgumentParser
import GlossaTensor

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for matrix products and row kernels, 1...1024 (default: all cores).")
    var threads: Int?

    func validate() throws {
        try FlagBounds.check(threads, FlagBounds.threads, "--threads")
    }

    /// Sets both the BLAS and the Swift kernel thread counts.
    func apply() {
        if let threads {
            Threads.count = threads
            BLAS.setThreads(threads)
        } else {
            BLAS.setThreads(Threads.count)
        }
    }
}
