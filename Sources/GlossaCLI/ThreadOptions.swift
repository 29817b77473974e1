import ArgumentParser
import GlossaTensor

/// `--threads`, shared by every command that computes.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for matrix products and row kernels (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
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
