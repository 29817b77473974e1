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
        var mean = [Float](repeating: 0, count: rows), rstd = [Float](repeating: 0, count: rows)
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
        var rstd = [Float](repeating: 0, count: rows)
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

    /// Inverted dropout: zeroes each element with probability `p` and scales the rest by 1/(1-p),
    /// with the mask drawn from `generator`.
    public func dropout<G: RandomNumberGenerator>(_ p: Float, using generator: inout G) -> Tensor {
        precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
        if p == 0 { return self }
        let keep = 1 / (1 - p)
        let threshold = UInt32(Double(p) * Double(UInt32.max))
        var mask = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            // Two 32-bit draws per 64-bit word keeps mask generation cheap.
            let bits = generator.next()
            mask[i] = UInt32(truncatingIfNeeded: bits) >= threshold ? keep : 0
            if i + 1 < count { mask[i + 1] = UInt32(truncatingIfNeeded: bits >> 32) >= threshold ? keep : 0 }
            i += 2
        }
        let values = zip(scalars, mask).map { $0 * $1 }
        return Tensor(shape: shape, scalars: values, primitive: .dropout(mask: mask), inputs: [self])
    }
}
