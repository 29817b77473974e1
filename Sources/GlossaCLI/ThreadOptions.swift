import ArgumentParser
import GlossaTensor

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for matrix products and row kernels (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// Sets Glossa's thread count; OpenBLAS stays single-threaded, its products split over those threads.
    func apply() {
        BLAS.setThreads(threads ?? Threads.count)
    }
}
