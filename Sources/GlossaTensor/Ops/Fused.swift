import CGlossaKernels

// Fused, numerically stable row kernels over the last axis (C kernels, rows split across threads).

extension Tensor {
    private var rowsAndCols: (rows: Int, cols: Int) {
        let cols = shape.last ?? 1
        return (cols == 0 ? 0 : count / cols, cols)
    }

    /// softmax(x / temperature) over the last axis.
    public func softmax(temperature: Float = 1) -> Tensor {
        precondition(temperature > 0, "softmax temperature must be positive")
        return Tensor(shape: shape, scalars: rowSoftmax(scale: 1 / temperature, log: false),
                      primitive: .softmax(scale: 1 / temperature), inputs: [self])
    }

    /// log softmax(x / temperature) over the last axis.
    public func logSoftmax(temperature: Float = 1) -> Tensor {
        precondition(temperature > 0, "log-softmax temperature must be positive")
        return Tensor(shape: shape, scalars: rowSoftmax(scale: 1 / temperature, log: true),
                      primitive: .logSoftmax(scale: 1 / temperature), inputs: [self])
    }

    private func rowSoftmax(scale: Float, log: Bool) -> [Float] {
        let (rows, cols) = rowsAndCols
        return scalars.withUnsafeBufferPointer { x in
            makeScalars(count) { y in
                guard let px = x.baseAddress, let py = y.baseAddress else { return }
                parallelChunks(rows, cost: cols * 8) { r in
                    gk_softmax_rows(px + r.lowerBound * cols, py + r.lowerBound * cols, r.count, cols, scale, log ? 1 : 0)
                }
            }
        }
    }

    /// Layer normalisation over the last axis with an affine `weight` and `bias` of that length.
    public func layerNorm(weight: Tensor, bias: Tensor, eps: Float = 1e-5) -> Tensor {
        let (rows, cols) = rowsAndCols
        precondition(weight.shape == [cols] && bias.shape == [cols], "layerNorm weight/bias must be [\(cols)]")
        // Every row's statistics are written by the kernel; they stay only when the tape keeps them.
        var mean = TensorStorage.take(rows), rstd = TensorStorage.take(rows)
        defer {
            TensorStorage.recycle(&mean)
            TensorStorage.recycle(&rstd)
        }
        let values = scalars.withUnsafeBufferPointer { x in weight.scalars.withUnsafeBufferPointer { w in
            bias.scalars.withUnsafeBufferPointer { b in
                mean.withUnsafeMutableBufferPointer { mu in rstd.withUnsafeMutableBufferPointer { rs in
                    makeScalars(count) { y in
                        guard let px = x.baseAddress, let py = y.baseAddress, let pm = mu.baseAddress,
                              let pr = rs.baseAddress else { return }
                        parallelChunks(rows, cost: cols * 4) { r in
                            gk_layernorm_rows(px + r.lowerBound * cols, w.baseAddress, b.baseAddress, py + r.lowerBound * cols,
                                              pm + r.lowerBound, pr + r.lowerBound, r.count, cols, eps)
                        }
                    }
                } }
            }
        } }
        return Tensor(shape: shape, scalars: values, primitive: .layerNorm(mean: mean, rstd: rstd),
                      inputs: [self, weight, bias])
    }

    /// RMS normalisation over the last axis with a `weight` of that length.
    public func rmsNorm(weight: Tensor, eps: Float = 1e-6) -> Tensor {
        let (rows, cols) = rowsAndCols
        precondition(weight.shape == [cols], "rmsNorm weight must be [\(cols)]")
        var rstd = TensorStorage.take(rows)
        defer { TensorStorage.recycle(&rstd) }
        let values = scalars.withUnsafeBufferPointer { x in weight.scalars.withUnsafeBufferPointer { w in
            rstd.withUnsafeMutableBufferPointer { rs in
                makeScalars(count) { y in
                    guard let px = x.baseAddress, let py = y.baseAddress, let pr = rs.baseAddress else { return }
                    parallelChunks(rows, cost: cols * 3) { r in
                        gk_rmsnorm_rows(px + r.lowerBound * cols, w.baseAddress, py + r.lowerBound * cols,
                                        pr + r.lowerBound, r.count, cols, eps)
                    }
                }
            }
        } }
        return Tensor(shape: shape, scalars: values, primitive: .rmsNorm(rstd: rstd), inputs: [self, weight])
    }

    /// An inverted-dropout mask of `count` elements (0 or 1/(1−p)), two 32-bit draws per 64-bit word (dropout and the
    /// fused residual and attention dropouts all draw through this, so they agree element for element).
    static func dropoutMask<G: RandomNumberGenerator>(count n: Int, p: Float, using generator: inout G) -> [Float] {
        let keep = 1 / (1 - p)
        let threshold = UInt32(Double(p) * Double(UInt32.max))
        var mask = [Float](repeating: 0, count: n)
        mask.withUnsafeMutableBufferPointer { m in
            var i = 0
            while i + 1 < n {
                let bits = generator.next()
                m[i] = UInt32(truncatingIfNeeded: bits) >= threshold ? keep : 0
                m[i + 1] = UInt32(truncatingIfNeeded: bits >> 32) >= threshold ? keep : 0
                i += 2
            }
            if i < n { m[i] = UInt32(truncatingIfNeeded: generator.next()) >= threshold ? keep : 0 }
        }
        return mask
    }

    /// Inverted dropout: zeroes each element with probability `p` and scales the rest by 1/(1-p),
    /// with the mask drawn from `generator`.
    public func dropout<G: RandomNumberGenerator>(_ p: Float, using generator: inout G) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
        if p == 0 { return self }
        let n = count
        let mask = Tensor.dropoutMask(count: n, p: p, using: &generator)
        let values = scalars.withUnsafeBufferPointer { x in
            mask.withUnsafeBufferPointer { m in makeScalars(n) { out in for j in 0..<n { out[j] = x[j] * m[j] } } }
        }
        return Tensor(shape: shape, scalars: values, primitive: .dropout(mask: mask), inputs: [self])
    }
}

extension Tensor {
    /// self + dropout(other): `other` (the same shape) zeroed with probability `p` and scaled by 1/(1-p), then added, in
    /// one pass (a residual connection); the mask is drawn from `generator` as `dropout(_:using:)` would draw it.
    public func adding<G: RandomNumberGenerator>(dropout other: Tensor, _ p: Float, using generator: inout G) -> Tensor {
        precondition(shape == other.shape, "adding(dropout:) needs one shape, got \(shape) and \(other.shape)")
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
        if p == 0 { return self + other }
        let n = count
        let mask = Tensor.dropoutMask(count: n, p: p, using: &generator)
        let values = scalars.withUnsafeBufferPointer { x in other.scalars.withUnsafeBufferPointer { s in
            mask.withUnsafeBufferPointer { m in
                makeScalars(n) { out in
                    guard let px = x.baseAddress, let ps = s.baseAddress, let pm = m.baseAddress, let po = out.baseAddress else { return }
                    parallelChunks(n, cost: 3) { r in for j in r { po[j] = px[j] + ps[j] * pm[j] } }
                }
            }
        } }
        return Tensor(shape: shape, scalars: values, primitive: .addDropped(mask: mask), inputs: [self, other])
    }

    /// Per-row cross-entropy of logits `[N, V]` against `targets` `[N]`, fused with the log-softmax:
    /// (1−ε)·(−log p_target) + ε·mean_v(−log p_v). Rows whose target is `ignoreIndex` give 0.
    public func crossEntropyRows(targets: [Int], labelSmoothing: Float = 0, ignoreIndex: Int? = nil) -> Tensor {
        precondition(rank == 2 && shape[0] == targets.count, "crossEntropyRows needs logits [N, V] and N targets")
        let (rows, v) = (shape[0], shape[1])
        precondition(targets.allSatisfy { $0 == ignoreIndex || ($0 >= 0 && $0 < v) }, "a target is outside 0..<\(v)")
        // Only the row log-sum-exps are kept: the backward rule rebuilds the softmax from the logits themselves,
        // so no second [N, V] array (log-probabilities) lives beside the logits and their gradient.
        var logSumExp = [Float](repeating: 0, count: rows), totals = [Float](repeating: 0, count: rows)
        scalars.withUnsafeBufferPointer { x in logSumExp.withUnsafeMutableBufferPointer { l in totals.withUnsafeMutableBufferPointer { t in
            guard let px = x.baseAddress, let pl = l.baseAddress, let pt = t.baseAddress else { return }
            parallelChunks(rows, cost: v * 6) { r in
                gk_logsumexp_rows(px + r.lowerBound * v, r.count, v, pl + r.lowerBound, pt + r.lowerBound)
            }
        } } }
        var losses = [Float](repeating: 0, count: rows)
        for r in 0..<rows where targets[r] != ignoreIndex {
            losses[r] = logSumExp[r] - (1 - labelSmoothing) * scalars[r * v + targets[r]] - labelSmoothing * totals[r] / Float(v)
        }
        return Tensor(shape: [rows], scalars: losses,
                      primitive: .crossEntropy(targets: targets, smoothing: labelSmoothing, ignoreIndex: ignoreIndex,
                                               logSumExp: logSumExp),
                      inputs: [self])
    }
}
