import CGlossaKernels
import COpenBLAS

/// Matrix products through OpenBLAS, always called single-threaded: large products are split over
/// Glossa's own threads (`Threads.count`) instead, so one pool of workers serves BLAS and the Swift
/// kernels alike and no two pools spin against each other.
public enum BLAS {
    /// Sets the threads matrix products use: Glossa's `Threads.count`. OpenBLAS itself stays at one.
    public static func setThreads(_ n: Int) {
        Threads.count = n
        _ = singleThreaded
    }
    /// The number of OpenBLAS's own threads (1 once Glossa has made a product).
    public static var threads: Int { Int(openblas_get_num_threads()) }
    /// OpenBLAS's pool is never used: set once, before the first product.
    private static let singleThreaded: Void = openblas_set_num_threads(1)

    /// Whether products made now are batch-invariant (`gk_sgemm`): at inference, with gradients off, where a row's
    /// result must not depend on its batch (a server's answer on its neighbours). Training keeps OpenBLAS, whose
    /// kernels sum a row differently by its place among M-tiles (rows 1–3 of a product agree with a lone row, a
    /// 4-row edge tile and half of each 12-row tile do not), and which is a little faster for small M.
    /// Read on the calling thread: the gradient mode is task-local, and the product's worker threads do not see it.
    public static var batchInvariant: Bool { !GradMode.isEnabled }

    /// C = op(A)·op(B) (+ C when `accumulate`) for row-major matrices, split by rows or columns over
    /// `Threads.count` threads when large enough, each part one single-threaded `cblas_sgemm` (or, when
    /// `invariant`, one `gk_sgemm`: then no split changes any element).
    /// With `packed`, `b` holds B's panels as `gk_sgemm_pack_weights` wrote them (`PackedMatrix`): the invariant product
    /// without packing B (`transB` must then be true, as for the `[N, K]` weight it was packed from), and `bias` (`n`
    /// floats) may give each element its starting value in place of a C prefilled with it.
    public static func gemm(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transA: Bool, transB: Bool, accumulate: Bool = false, invariant: Bool? = nil, packed: Bool = false,
        bias: UnsafePointer<Float>? = nil
    ) {
        precondition(!packed || (transB && !transA), "a packed B is a weight [N, K] used transposed")
        precondition(bias == nil || (packed && !accumulate), "a bias start is for packed products that do not accumulate")
        let invariant = packed || (invariant ?? batchInvariant)
        let lda = transA ? m : k, ldb = transB ? k : n
        let threads = Threads.count
        // Small products (below 4 M multiply-adds, about 80 µs on one core: most of a decoding step's) stay on the
        // calling thread; splitting them saved less than the wake-ups cost in system time.
        guard threads > 1, m * n * k >= 1 << 22 else {
            call(a, lda, b, ldb, c, n, m: m, n: n, k: k, transA: transA, transB: transB, accumulate: accumulate, invariant: invariant,
                 packed: packed, bias: bias)
            return
        }
        // Split the longer side: rows re-pack B per part, columns re-pack A, so the smaller operand is
        // the one copied twice. Column parts are multiples of 64 to keep the kernels' panels whole (a packed B's
        // columns from `lo` on start at `b + lo·k`, as a transposed one's do).
        if n >= m {
            let panels = (n + 63) / 64, parts = Swift.min(threads, panels)
            parallelChunks(parts, cost: .max / parts) { range in
                for part in range {
                    let lo = Swift.min(n, panels * part / parts * 64), hi = Swift.min(n, panels * (part + 1) / parts * 64)
                    guard lo < hi else { continue }
                    call(a, lda, b + (transB ? lo * k : lo), ldb, c + lo, n, m: m, n: hi - lo, k: k,
                         transA: transA, transB: transB, accumulate: accumulate, invariant: invariant, packed: packed, bias: bias.map { $0 + lo })
                }
            }
        } else {
            let parts = Swift.min(threads, m)
            parallelChunks(parts, cost: .max / parts) { range in
                for part in range {
                    let lo = m * part / parts, hi = m * (part + 1) / parts
                    guard lo < hi else { continue }
                    call(a + (transA ? lo : lo * k), lda, b, ldb, c + lo * n, n, m: hi - lo, n: n, k: k,
                         transA: transA, transB: transB, accumulate: accumulate, invariant: invariant, packed: packed, bias: bias)
                }
            }
        }
    }

    /// `batch` products C_i = op(A_i)·op(B_i) (+ C_i), operands `strideA`/`strideB` scalars apart (0: shared by every
    /// product), results packed. Many products (attention heads, weight gradients) are spread over the threads, each
    /// single-threaded; a batch smaller than the threads splits inside each product instead.
    public static func batchedGemm(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        batch: Int, m: Int, n: Int, k: Int, transA: Bool, transB: Bool,
        strideA: Int? = nil, strideB: Int? = nil, accumulate: Bool = false
    ) {
        let invariant = batchInvariant
        let sa = strideA ?? m * k, sb = strideB ?? k * n
        if batch >= Threads.count {
            parallelChunks(batch, cost: m * n * k) { range in
                for i in range {
                    serialGemm(a + i * sa, b + i * sb, c + i * m * n, m: m, n: n, k: k, transA: transA, transB: transB, accumulate: accumulate,
                               invariant: invariant)
                }
            }
        } else {
            for i in 0..<batch {
                gemm(a + i * sa, b + i * sb, c + i * m * n, m: m, n: n, k: k, transA: transA, transB: transB, accumulate: accumulate,
                     invariant: invariant)
            }
        }
    }

    /// out[j] = Σ_i a[i·stride + j] for `columns` columns of a row-major block (xᵀ·1 through `cblas_sgemv`;
    /// `ones` holds `rows` ones), single-threaded.
    static func columnSums(_ a: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int, ones: UnsafePointer<Float>,
                           into out: UnsafeMutablePointer<Float>) {
        _ = singleThreaded
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(columns), 1, a, Int32(stride), ones, 1, 0, out, 1)
    }

    /// The same product as one single-threaded `cblas_sgemm` call on the calling thread.
    public static func serialGemm(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transA: Bool, transB: Bool, accumulate: Bool = false, invariant: Bool? = nil
    ) {
        call(a, transA ? m : k, b, transB ? k : n, c, n, m: m, n: n, k: k, transA: transA, transB: transB, accumulate: accumulate,
             invariant: invariant ?? batchInvariant)
    }

    /// One `cblas_sgemm` call with explicit leading dimensions, or with `invariant` one `gk_sgemm` (same operands).
    static func call(
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
        m: Int, n: Int, k: Int, transA: Bool, transB: Bool, accumulate: Bool, alpha: Float = 1, invariant: Bool, packed: Bool = false,
        bias: UnsafePointer<Float>? = nil
    ) {
        if packed {
            guard m > 0, n > 0 else { return }
            gk_sgemm_prepacked(m, n, k, a, lda, 1, b, bias, c, ldc, alpha, accumulate ? 1 : 0)
            return
        }
        if invariant {
            guard m > 0, n > 0 else { return }
            // The calling thread's own pack buffer, kept across products (a product per layer per step otherwise allocates).
            let floats = Swift.max(1, gk_sgemm_pack_floats(k))
            let pack: UnsafeMutablePointer<Float>, owned: UnsafeMutablePointer<Float>?
            if let scratch = gk_thread_scratch(0, 4 * floats) {
                (pack, owned) = (scratch.bindMemory(to: Float.self, capacity: floats), nil)
            } else {
                pack = .allocate(capacity: floats)
                owned = pack
            }
            defer { owned?.deallocate() }
            // Scale an accumulated product first: gk_sgemm scales only fresh ones (never needed together here).
            precondition(alpha == 1 || !accumulate, "an accumulated product with alpha ≠ 1")
            gk_sgemm(m, n, k, a, transA ? 1 : lda, transA ? lda : 1, b, transB ? 1 : ldb, transB ? ldb : 1, c, ldc, alpha, accumulate ? 1 : 0, pack)
            return
        }
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
    }
}

extension Tensor {
    /// Matrix product of the last two dimensions, with transposes passed to BLAS as flags (no copies).
    ///
    /// `self` is `[..., M, K]` (`[..., K, M]` when `transposeSelf`), `other` is `[..., K, N]`
    /// (`[..., N, K]` when `transposeOther`). Batch dimensions must match, or one side is a plain
    /// matrix shared by every batch (a weight); a shared right side folds the batch into M.
    /// With `bias` (`[N]`), the result is op(A)·op(B) + bias, the bias written first and the product
    /// accumulated onto it by BLAS (a linear layer in one pass).
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false, bias: Tensor? = nil) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul needs rank ≥ 2, got \(shape) and \(other.shape)")
        let m = transposeSelf ? shape[rank - 1] : shape[rank - 2]
        let k = transposeSelf ? shape[rank - 2] : shape[rank - 1]
        let kb = transposeOther ? other.shape[other.rank - 1] : other.shape[other.rank - 2]
        let n = transposeOther ? other.shape[other.rank - 2] : other.shape[other.rank - 1]
        precondition(k == kb, "matmul inner dimensions differ: \(shape)\(transposeSelf ? "ᵀ" : "") · \(other.shape)\(transposeOther ? "ᵀ" : "")")
        // Slices, not arrays: the result's shape is the only one allocated (a product per layer per decoding step).
        let batchA = shape.dropLast(2), batchB = other.shape.dropLast(2)
        let batchShape = batchA.isEmpty ? batchB : batchA
        let batch = batchShape.reduce(1, *)
        precondition(batchA.isEmpty || batchB.isEmpty || batchB.elementsEqual(batchA), "matmul batch dimensions differ: \(shape) · \(other.shape)")
        precondition(bias.map { $0.shape == [n] } ?? true, "matmul bias must be [\(n)]")
        if Profiler.isEnabled {
            if batchB.isEmpty && !transposeSelf {
                Profiler.countGemm(m: batch * m, n: n, k: k, transA: false, transB: transposeOther)
            } else {
                Profiler.countGemm(batch: batch, m: m, n: n, k: k, transA: transposeSelf, transB: transposeOther)
            }
        }
        let values = scalars.withUnsafeBufferPointer { a in other.scalars.withUnsafeBufferPointer { b in
            makeScalars(batch * m * n) { c in
                guard let pa = a.baseAddress, let pb = b.baseAddress, let pc = c.baseAddress else {
                    for i in 0..<c.count { c[i] = 0 }
                    return
                }
                if let bias {
                    bias.scalars.withUnsafeBufferPointer { b in
                        guard let pbias = b.baseAddress else { return }
                        for row in 0..<(batch * m) { (pc + row * n).update(from: pbias, count: n) }
                    }
                }
                if batchB.isEmpty && !transposeSelf {
                    BLAS.gemm(pa, pb, pc, m: batch * m, n: n, k: k, transA: false, transB: transposeOther, accumulate: bias != nil)
                } else {
                    BLAS.batchedGemm(pa, pb, pc, batch: batch, m: m, n: n, k: k, transA: transposeSelf, transB: transposeOther,
                                     strideA: batchA.isEmpty ? 0 : m * k, strideB: batchB.isEmpty ? 0 : k * n, accumulate: bias != nil)
                }
            }
        } }
        var resultShape: [Int] = []
        resultShape.reserveCapacity(batchShape.count + 2)
        resultShape += batchShape
        resultShape.append(m)
        resultShape.append(n)
        return Tensor(shape: resultShape, scalars: values,
                      primitive: .matmul(transposeSelf: transposeSelf, transposeOther: transposeOther),
                      inputs: bias.map { [self, other, $0] } ?? [self, other])
    }
}
