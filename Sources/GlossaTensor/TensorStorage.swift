import CGlossaKernels
#if canImport(Glibc)
import Glibc
#endif

/// Free lists of tensor scalar buffers by element count, one per thread: a tensor that dies gives its buffer back, and
/// the next kernel output of that size made on the same thread takes it instead of allocating. A decoding step makes the
/// sizes of the step before, so in steady state its tensors cost no storage allocation (`allocations` counts the
/// misses; `DecodingAllocationTests` bounds them). Per thread, so no lock is taken and a thread's decoding does not
/// compete with another's. Bounded by `limitBytes` per thread: past it that list is emptied and starts again, so
/// training's one-off sizes cannot pin memory.
public enum TensorStorage {
    /// The most bytes one thread's free list holds.
    public static let limitBytes = 24 << 20
    /// The largest buffer it takes (beam search's logits, 128 rows of 8,000, fit; an encoder's larger activations,
    /// whose sizes change with every batch, are left to malloc).
    public static let largestBytes = 4 << 20
    /// The most buffers of one size it holds.
    static let limitPerSize = 64

    /// One thread's free list.
    private final class Pool {
        var free: [Int: [[Float]]] = [:]
        var bytes = 0
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // The thread's pool is released when the thread ends.
        pthread_key_create(&key) { pointer in if let pointer { Unmanaged<AnyObject>.fromOpaque(pointer).release() } }
        return key
    }()

    /// The calling thread's pool, made on first use.
    @inline(__always) private static var pool: Pool {
        if let pointer = pthread_getspecific(key) { return Unmanaged<Pool>.fromOpaque(pointer).takeUnretainedValue() }
        let made = Pool()
        pthread_setspecific(key, Unmanaged.passRetained(made).toOpaque())
        return made
    }

    /// Whether a buffer's uniqueness can be read (see `isUnique`); checked once, so pooling turns itself off rather than
    /// ever hold a buffer something else still reads.
    private static let canPool: Bool = {
        var a = [Float](repeating: 1, count: 4)
        let alone = isUnique(&a)
        var b = a
        let shared = isUnique(&b)
        withExtendedLifetime(a) {}
        return alone && !shared
    }()

    /// Whether `array`'s storage has no other owner. An `Array` is one reference to its storage object (no bridging on
    /// Linux), so the standard uniqueness test applies to that reference in place.
    @inline(__always) static func isUnique(_ array: inout [Float]) -> Bool {
        withUnsafeMutablePointer(to: &array) { p in
            p.withMemoryRebound(to: AnyObject.self, capacity: 1) { isKnownUniquelyReferenced(&$0.pointee) }
        }
    }

    /// Buffers allocated for tensor kernel outputs (and scratch taken through `take`) because no free one of their size
    /// was at hand, since the process started.
    public static var allocations: Int { Int(gk_storage_count(0, 0)) }
    /// Buffers the free lists supplied instead.
    public static var reuses: Int { Int(gk_storage_count(1, 0)) }
    /// `allocations` made on the calling thread.
    public static var allocationsOnThisThread: Int { Int(gk_storage_count(0, 1)) }
    /// `reuses` on the calling thread.
    public static var reusesOnThisThread: Int { Int(gk_storage_count(1, 1)) }

    /// A buffer of `count` scalars with arbitrary contents, reused when one of that size is free on this thread.
    @inline(__always) public static func take(_ count: Int) -> [Float] {
        guard count > 0 else { return [] }
        let pool = self.pool
        if let found = pool.free[count]?.popLast() {
            pool.bytes -= 4 * count
            gk_count_storage(1)
            return found
        }
        gk_count_storage(0)
        return [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    /// Gives `array`'s storage to this thread's free list when nothing else holds it (`array` is left empty then); a
    /// no-op otherwise.
    @inline(__always) public static func recycle(_ array: inout [Float]) {
        let count = array.count
        guard count > 0, 4 * count <= largestBytes, canPool, isUnique(&array) else { return }
        let pool = self.pool
        // Full: buffers of other sizes make room, so sizes that recur every step keep theirs.
        while pool.bytes + 4 * count > limitBytes, let other = pool.free.first(where: { $0.key != count && !$0.value.isEmpty })?.key {
            pool.free[other]?.removeLast()
            if pool.free[other]?.isEmpty ?? false { pool.free[other] = nil }
            pool.bytes -= 4 * other
        }
        if pool.bytes + 4 * count > limitBytes {
            pool.free.removeAll(keepingCapacity: true)
            pool.bytes = 0
        }
        guard (pool.free[count]?.count ?? 0) < limitPerSize else { return }
        var given: [Float] = []
        swap(&given, &array)
        pool.free[count, default: []].append(given)
        pool.bytes += 4 * count
    }

    /// Empties the calling thread's free list.
    public static func drain() {
        pool.free.removeAll()
        pool.bytes = 0
    }
}
