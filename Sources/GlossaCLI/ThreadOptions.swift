import ArgumentParser
import GlossaTensor

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for matrix products and row kernels, 1...1024 (default: all cores).")
    var threads: Int?

    func validate() throws {
        try FlagBounds.check(threads, FlagBounds.threads, "--threads")
    }

    /// Sets Glossa's thread count; OpenBLAS stays single-threaded, its products split over those threads.
    func apply() {
        BLAS.setThreads(threads ?? Threads.count)
    }
}
