import COpenBLAS

/// BLAS threading for matrix products.
public enum BLAS {
    /// Sets the number of OpenBLAS threads (process-wide, as OpenBLAS itself is).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(Swift.max(1, n))) }
    /// The number of OpenBLAS threads.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// C = op(A)·op(B) (+ C when `accumulate`) for row-major matrices, one `cblas_sgemm` call.
    public static func gemm(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transA: Bool, transB: Bool, accumulate: Bool = false
    ) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(transA ? m : k), b, Int32(transB ? k : n),
                    accumulate ? 1 : 0, c, Int32(n))
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
        let batchA = Array(shape.dropLast(2)), batchB = Array(other.shape.dropLast(2))
        let batchShape = batchA.isEmpty ? batchB : batchA
        let batch = batchShape.reduce(1, *)
        precondition(batchA.isEmpty || batchB.isEmpty || batchB == batchA, "matmul batch dimensions differ: \(shape) · \(other.shape)")
        precondition(bias.map { $0.shape == [n] } ?? true, "matmul bias must be [\(n)]")
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
                    // Many small products (attention heads): OpenBLAS runs each on one thread anyway,
                    // so spread the batch over our threads instead of paying its hand-off per call.
                    let small = m * n * k < 1 << 18
                    parallelChunks(batch, cost: small ? m * n * k : 0) { range in
                        for i in range {
                            BLAS.gemm(pa + (batchA.isEmpty ? 0 : i * m * k), pb + (batchB.isEmpty ? 0 : i * k * n), pc + i * m * n,
                                      m: m, n: n, k: k, transA: transposeSelf, transB: transposeOther, accumulate: bias != nil)
                        }
                    }
                }
            }
        } }
        return Tensor(shape: batchShape + [m, n], scalars: values,
                      primitive: .matmul(transposeSelf: transposeSelf, transposeOther: transposeOther),
                      inputs: bias.map { [self, other, $0] } ?? [self, other])
    }
}
