import Dispatch

/// How many threads the Swift-side kernels split work across (BLAS threads are set separately).
public enum Threads {
    nonisolated(unsafe) private static var storedCount = max(1, ProcessInfoCores.count)

    /// Set on a thread that runs one share of a job the caller already spread over the threads (a shard of a
    /// training batch): work on it stays on that thread instead of splitting again.
    @TaskLocal static var confined: Int?

    /// The number of worker threads for row kernels; set once at start-up (the CLI's `--threads`).
    public static var count: Int {
        get { confined ?? storedCount }
        set { storedCount = max(1, newValue) }
    }

    /// Runs `body` with every kernel it calls on the calling thread alone.
    public static func onThisThread<R>(_ body: () throws -> R) rethrows -> R {
        try $confined.withValue(1, operation: body)
    }
}

enum ProcessInfoCores {
    static var count: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` over `0..<n` split into contiguous chunks, on several threads when the work is large
/// enough to pay for it (`cost` is the rough number of scalar operations per index).
@inline(__always)
public func parallelChunks(_ n: Int, cost: Int = 1, _ body: (Range<Int>) -> Void) {
    let threads = Threads.count
    // Below about 10⁵ operations (some 30 µs) a fork-join costs more than it saves, in wake-ups (futex system calls)
    // more than in time: a decoding step's row kernels run on the calling thread.
    if threads <= 1 || n < 2 || n * cost < 1 << 17 {
        body(0..<n)
        return
    }
    let chunks = min(threads, n)
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = n * c / chunks, hi = n * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }
}
