import CGlossaKernels

// Scaled dot-product attention as one primitive over the projections' own layout.

extension Tensor {
    /// softmax(scale · Q·Kᵀ + mask) · V for every head, with `self` the queries `[B, Tq, H·D]` and `keys`, `values`
    /// `[B, Tk, H·D]` as the projections made them: each head is a column block that the matrix products read
    /// through their leading dimension, so no head is ever permuted into place, forward or backward. Returns
    /// `[B, Tq, H·D]`, heads side by side again.
    ///
    /// `mask` is additive and broadcastable to `[B, H, Tq, Tk]` (each of its first three dimensions full or 1).
    /// With `dropout` > 0 the attention weights are dropped with that probability (inverted), the mask drawn from
    /// `generator` in the order `[B, H, Tq, Tk]`, as `dropout(_:using:)` on the weights would draw it.
    public func attention<G: RandomNumberGenerator>(
        keys: Tensor, values: Tensor, heads: Int, scale: Float, mask: Tensor?, dropout: Float, using generator: inout G
    ) -> Tensor {
        precondition(rank == 3 && keys.rank == 3 && values.shape == keys.shape, "attention needs [B, T, C] queries, keys and values")
        let (b, tq, c) = (shape[0], shape[1], shape[2]), tk = keys.shape[1]
        precondition(keys.shape[0] == b && keys.shape[2] == c && heads > 0 && c % heads == 0, "attention shapes \(shape), \(keys.shape), \(heads) heads")
        precondition(dropout >= 0 && dropout < 1, "dropout probability must be in [0, 1)")
        let layout = AttentionLayout(batch: b, heads: heads, queries: tq, keys: tk, width: c / heads, mask: mask, invariant: BLAS.batchInvariant)
        let dropMask: [Float]? = dropout > 0 ? Tensor.dropoutMask(count: b * heads * tq * tk, p: dropout, using: &generator) : nil
        var probabilities = [Float](repeating: 0, count: b * heads * tq * tk)
        let output = makeScalars(b * tq * c) { out in
            scalars.withUnsafeBufferPointer { q in keys.scalars.withUnsafeBufferPointer { k in values.scalars.withUnsafeBufferPointer { v in
                probabilities.withUnsafeMutableBufferPointer { p in
                    let maskScalars = mask?.scalars ?? []
                    maskScalars.withUnsafeBufferPointer { m in (dropMask ?? []).withUnsafeBufferPointer { d in
                        layout.forward(q: q.baseAddress, k: k.baseAddress, v: v.baseAddress, mask: m.baseAddress, drop: dropMask == nil ? nil : d.baseAddress,
                                       probabilities: p.baseAddress, output: out.baseAddress, scale: scale)
                    } }
                }
            } } }
        }
        if Profiler.isEnabled {
            Profiler.countGemm(batch: b * heads, m: tq, n: tk, k: layout.width, transA: false, transB: true)
            Profiler.countGemm(batch: b * heads, m: tq, n: layout.width, k: tk, transA: false, transB: false)
        }
        return Tensor(shape: [b, tq, c], scalars: output,
                      primitive: .attention(heads: heads, scale: scale, probabilities: probabilities, dropMask: dropMask),
                      inputs: [self, keys, values])
    }
}

/// The sizes of one attention call and where each (batch row, head) finds its blocks: heads are column blocks of
/// width `width` in rows of `heads · width`; probabilities are packed `[B, H, Tq, Tk]`.
struct AttentionLayout {
    let batch, heads, queries, keys, width: Int
    /// Strides of the mask over batch, head and query (0 where it broadcasts); nil without a mask.
    let maskStrides: (batch: Int, head: Int, query: Int)?
    /// Whether the forward products are batch-invariant (`BLAS.batchInvariant` when the call was made).
    let invariant: Bool

    init(batch: Int, heads: Int, queries: Int, keys: Int, width: Int, mask: Tensor?, invariant: Bool = false) {
        (self.batch, self.heads, self.queries, self.keys, self.width) = (batch, heads, queries, keys, width)
        self.invariant = invariant
        if let mask {
            precondition(mask.rank == 4 && mask.shape[3] == keys
                         && [batch, heads, queries].indices.allSatisfy { mask.shape[$0] == 1 || mask.shape[$0] == [batch, heads, queries][$0] },
                         "attention mask \(mask.shape) does not broadcast to [\(batch), \(heads), \(queries), \(keys)]")
            let s = mask.shape
            maskStrides = (s[0] == 1 ? 0 : s[1] * s[2] * keys, s[1] == 1 ? 0 : s[2] * keys, s[2] == 1 ? 0 : keys)
        } else {
            maskStrides = nil
        }
    }

    var rowWidth: Int { heads * width }
    var block: Int { queries * keys }

    /// Runs `body(b, h)` for every batch row and head, spread over the threads, with a scratch of `scratchCount` floats per thread.
    func forEachHead(scratchCount: Int, _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        parallelChunks(batch * heads, cost: 4 * block * width) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(scratchCount, 1))
            defer { scratch.deallocate() }
            for item in range { body(item / heads, item % heads, scratch) }
        }
    }

    func forward(q: UnsafePointer<Float>?, k: UnsafePointer<Float>?, v: UnsafePointer<Float>?, mask: UnsafePointer<Float>?,
                 drop: UnsafePointer<Float>?, probabilities: UnsafeMutablePointer<Float>?, output: UnsafeMutablePointer<Float>?, scale: Float) {
        guard let q, let k, let v, let probabilities, let output, block > 0, width > 0 else {
            if let output { output.update(repeating: 0, count: batch * queries * rowWidth) }
            return
        }
        forEachHead(scratchCount: drop == nil ? 0 : block) { b, h, scratch in
            let p = probabilities + (b * heads + h) * block
            let qh = q + b * queries * rowWidth + h * width, kh = k + b * keys * rowWidth + h * width
            BLAS.call(qh, rowWidth, kh, rowWidth, p, keys, m: queries, n: keys, k: width, transA: false, transB: true,
                      accumulate: false, alpha: scale, invariant: invariant)
            for i in 0..<queries {
                let row = p + i * keys
                if let mask, let s = maskStrides {
                    let m = mask + b * s.batch + h * s.head + i * s.query
                    for j in 0..<keys { row[j] += m[j] }
                }
                gk_softmax_rows(row, row, 1, keys, 1, 0)
            }
            var weights = UnsafePointer(p)
            if let drop {
                let d = drop + (b * heads + h) * block
                for j in 0..<block { scratch[j] = p[j] * d[j] }
                weights = UnsafePointer(scratch)
            }
            BLAS.call(weights, keys, v + b * keys * rowWidth + h * width, rowWidth, output + b * queries * rowWidth + h * width, rowWidth,
                      m: queries, n: width, k: keys, transA: false, transB: false, accumulate: false, invariant: invariant)
        }
    }

    /// dQ, dK, dV from dO, all `[B, T, H·D]`; each head writes only its own column blocks, so heads run in parallel.
    func backward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                  probabilities: UnsafePointer<Float>, drop: UnsafePointer<Float>?, scale: Float,
                  dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) {
        guard block > 0, width > 0 else { return }
        forEachHead(scratchCount: 2 * block) { b, h, scratch in
            let p = probabilities + (b * heads + h) * block
            let d = drop.map { $0 + (b * heads + h) * block }
            let qOffset = b * queries * rowWidth + h * width, kOffset = b * keys * rowWidth + h * width
            let dp = scratch, dropped = scratch + block
            // dV = P'ᵀ·dO, with P' the weights after dropout.
            var weights = p
            if let d {
                for j in 0..<block { dropped[j] = p[j] * d[j] }
                weights = UnsafePointer(dropped)
            }
            BLAS.call(weights, keys, gradOutput + qOffset, rowWidth, dv + kOffset, rowWidth,
                      m: keys, n: width, k: queries, transA: true, transB: false, accumulate: false, invariant: false)
            // dP' = dO·Vᵀ; through dropout; then the softmax: dS = P ⊙ (dP − Σ dP ⊙ P), times the scale.
            BLAS.call(gradOutput + qOffset, rowWidth, v + kOffset, rowWidth, dp, keys,
                      m: queries, n: keys, k: width, transA: false, transB: true, accumulate: false, invariant: false)
            if let d { for j in 0..<block { dp[j] *= d[j] } }
            for i in 0..<queries {
                let row = dp + i * keys, pr = p + i * keys
                var dot: Float = 0
                for j in 0..<keys { dot += row[j] * pr[j] }
                for j in 0..<keys { row[j] = scale * pr[j] * (row[j] - dot) }
            }
            // dQ = dS·K, dK = dSᵀ·Q.
            BLAS.call(dp, keys, k + kOffset, rowWidth, dq + qOffset, rowWidth,
                      m: queries, n: width, k: keys, transA: false, transB: false, accumulate: false, invariant: false)
            BLAS.call(dp, keys, q + qOffset, rowWidth, dk + kOffset, rowWidth,
                      m: keys, n: width, k: queries, transA: true, transB: false, accumulate: false, invariant: false)
        }
    }
}
