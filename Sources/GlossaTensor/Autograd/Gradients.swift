import CGlossaKernels
import Foundation

/// The backward rule of every primitive, in one place. Each rule maps the gradient of the output to
/// the gradients of the inputs; `nil` for inputs that are not differentiable or, where `needs` says
/// so, not wanted (a constant operand costs nothing). Rules run without grad, so they never extend the tape.
enum Gradients {
    static func backward(_ primitive: Primitive, inputs x: [Tensor], output y: Tensor, grad g: Tensor, needs: [Bool]) -> [Tensor?] {
        func when(_ i: Int, _ rule: () -> Tensor) -> Tensor? { needs[i] ? rule() : nil }
        switch primitive {
        case .add:
            return [when(0) { g.sumToShape(x[0].shape) }, when(1) { g.sumToShape(x[1].shape) }]
        case .sub:
            return [when(0) { g.sumToShape(x[0].shape) }, when(1) { (-g).sumToShape(x[1].shape) }]
        case .mul:
            return [when(0) { (g * x[1]).sumToShape(x[0].shape) }, when(1) { (g * x[0]).sumToShape(x[1].shape) }]
        case .div:
            return [when(0) { (g / x[1]).sumToShape(x[0].shape) }, when(1) { (-(g * y) / x[1]).sumToShape(x[1].shape) }]
        case .neg:
            return [-g]
        case .exp:
            return [pointwise(g, y) { g, y in g * y }]
        case .log:
            return [pointwise(g, x[0]) { g, x in g / x }]
        case .sqrt:
            return [pointwise(g, y) { g, y in 0.5 * g / y }]
        case .rsqrt:
            return [pointwise(g, y) { g, y in -0.5 * g * y * y * y }]
        case .tanh:
            return [pointwise(g, y) { g, y in g * (1 - y * y) }]
        case .sigmoid:
            return [pointwise(g, y) { g, y in g * y * (1 - y) }]
        case .relu:
            return [pointwise(g, x[0]) { g, x in x > 0 ? g : 0 }]
        case .silu:
            let values = g.scalars.withUnsafeBufferPointer { gs in x[0].scalars.withUnsafeBufferPointer { xs in
                makeScalars(g.count) { out in
                    guard let pg = gs.baseAddress, let px = xs.baseAddress, let po = out.baseAddress else { return }
                    parallelChunks(g.count, cost: 16) { r in gk_silu_backward(pg + r.lowerBound, px + r.lowerBound, po + r.lowerBound, r.count) }
                }
            } }
            return [Tensor(shape: g.shape, scalars: values)]
        case .geluTanh:
            return [pointwise(g, x[0]) { g, x in
                let c: Float = 0.7978845608028654
                let t = Foundation.tanh(c * (x + 0.044715 * x * x * x))
                return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x))
            }]
        case .geluErf:
            return [pointwise(g, x[0]) { g, x in
                let cdf = 0.5 * (1 + Foundation.erf(x * 0.7071067811865476))
                let pdf = Foundation.exp(-0.5 * x * x) * 0.3989422804014327
                return g * (cdf + x * pdf)
            }]
        case .pow(let p):
            return [pointwise(g, x[0]) { g, x in g * p * Foundation.pow(x, p - 1) }]
        case .clamp(let low, let high):
            return [pointwise(g, x[0]) { g, x in x >= low && x <= high ? g : 0 }]
        case .select(let mask):
            let m = Tensor(shape: y.shape, scalars: mask)
            return [when(0) { pointwise(g, m) { g, m in m != 0 ? g : 0 }.sumToShape(x[0].shape) },
                    when(1) { pointwise(g, m) { g, m in m != 0 ? 0 : g }.sumToShape(x[1].shape) }]
        case .sum(let axis, let keepDims):
            let kept = keepDims ? g : g.reshaped(x[0].reducedShape(axis, true))
            return [kept.expanded(to: x[0].shape)]
        case .max(let axis, let keepDims, let argmax):
            let (outer, n, inner) = ShapeMath.split(x[0].shape, axis: axis)
            var dx = [Float](repeating: 0, count: x[0].count)
            for o in 0..<outer {
                for j in 0..<inner { dx[(o * n + argmax[o * inner + j]) * inner + j] = g.scalars[o * inner + j] }
            }
            _ = keepDims
            return [Tensor(shape: x[0].shape, scalars: dx)]
        case .logSumExp(let axis, let keepDims):
            let keptShape = x[0].reducedShape(axis, true)
            let gy = keepDims ? g : g.reshaped(keptShape), yy = keepDims ? y : y.reshaped(keptShape)
            return [gy * (x[0] - yy).exp()]
        case .matmul(let ta, let tb):
            return matmulGradients(x[0], x[1], g, transposeA: ta, transposeB: tb, needs: needs)  // [a, b, bias?]
        case .reshape:
            return [g.reshaped(x[0].shape)]
        case .permute(let order):
            var inverse = order
            for (i, o) in order.enumerated() { inverse[o] = i }
            return [g.permuted(inverse)]
        case .slice(let axis, let start):
            let n = x[0].shape[axis]
            return [g.padded(axis: axis, before: start, after: n - start - g.shape[axis])]
        case .concat(let axis, let sizes):
            return g.split(axis: axis, sizes: sizes)
        case .indexSelect(let axis, let indices):
            return [g.indexAdd(axis: axis, indices, size: x[0].shape[axis])]
        case .indexAdd(let axis, let indices):
            return [g.indexSelect(axis: axis, indices)]
        case .pad(let axis, let before):
            return [g.slice(axis: axis, before..<(before + x[0].shape[axis]))]
        case .takeAlong(let axis, let indices):
            return [g.scatterAddAlong(axis: axis, indices, size: x[0].shape[axis])]
        case .scatterAddAlong(let axis, let indices):
            return [g.takeAlong(axis: axis, indices)]
        case .softmax(let scale):
            return [rowwise(g, y) { g, y, dx, cols in
                var dot: Float = 0
                for i in 0..<cols { dot += g[i] * y[i] }
                for i in 0..<cols { dx[i] = scale * y[i] * (g[i] - dot) }
            }]
        case .logSoftmax(let scale):
            return [rowwise(g, y) { g, y, dx, cols in
                var total: Float = 0
                for i in 0..<cols { total += g[i] }
                for i in 0..<cols { dx[i] = scale * (g[i] - Foundation.exp(y[i]) * total) }
            }]
        case .layerNorm(let mean, let rstd):
            return normGradients(x[0], weight: x[1], g, mean: mean, rstd: rstd, withBias: true)
        case .rmsNorm(let rstd):
            return normGradients(x[0], weight: x[1], g, mean: nil, rstd: rstd, withBias: false)
        case .dropout(let mask):
            return [pointwise(g, Tensor(shape: g.shape, scalars: mask)) { g, m in g * m }]
        case .addDropped(let mask):
            return [when(0) { g }, when(1) { pointwise(g, Tensor(shape: g.shape, scalars: mask)) { g, m in g * m } }]
        case .crossEntropy(let targets, let smoothing, let ignoreIndex, let logSumExp):
            return [crossEntropyGradient(g, logits: x[0], targets: targets, smoothing: smoothing, ignoreIndex: ignoreIndex,
                                         logSumExp: logSumExp)]
        case .attention(let heads, let scale, let probabilities, let dropMask):
            return attentionGradients(x[0], x[1], x[2], g, heads: heads, scale: scale, probabilities: probabilities, dropMask: dropMask)
        case .gruCell(let gates):
            return RecurrentGradients.gru(x, g, gates: gates)
        case .lstmCell(let gates):
            return RecurrentGradients.lstm(x, g, gates: gates)
        }
    }

    /// dA and dB of C = op(A)·op(B); a shared (rank-2) B under a batched A folds the batch into rows,
    /// so the weight gradient is one large product rather than a sum of small ones.
    private static func matmulGradients(
        _ a: Tensor, _ b: Tensor, _ g: Tensor, transposeA ta: Bool, transposeB tb: Bool, needs: [Bool]
    ) -> [Tensor?] {
        let da: () -> Tensor, db: () -> Tensor
        switch (ta, tb) {
        case (false, false):
            da = { g.matmul(b, transposeOther: true) }
            db = { a.matmul(g, transposeSelf: true, folding: b.rank == 2) }
        case (true, false):
            da = { b.matmul(g, transposeOther: true) }
            db = { a.matmul(g) }
        case (false, true):
            da = { g.matmul(b) }
            db = { g.matmul(a, transposeSelf: true, folding: b.rank == 2) }
        case (true, true):
            da = { b.matmul(g, transposeSelf: true, transposeOther: true) }
            db = { g.matmul(a, transposeSelf: true, transposeOther: true) }
        }
        let grads = [needs[0] ? da().sumToShape(a.shape) : nil, needs[1] ? db().sumToShape(b.shape) : nil]
        return needs.count > 2 ? grads + [needs[2] ? g.sumToShape([g.shape.last ?? 1]) : nil] : grads
    }

    /// dQ, dK, dV of the attention primitive (every one of them: they are projections, so always wanted).
    private static func attentionGradients(
        _ q: Tensor, _ k: Tensor, _ v: Tensor, _ g: Tensor, heads: Int, scale: Float, probabilities: [Float], dropMask: [Float]?
    ) -> [Tensor?] {
        let layout = AttentionLayout(batch: q.shape[0], heads: heads, queries: q.shape[1], keys: k.shape[1], width: q.shape[2] / heads, mask: nil)
        // Every head writes its whole column blocks, so the buffers need no zeroing unless there is nothing to attend.
        func buffer(_ count: Int) -> [Float] {
            layout.block > 0 && layout.width > 0 ? makeScalars(count) { _ in } : [Float](repeating: 0, count: count)
        }
        var dq = buffer(q.count), dk = buffer(k.count), dv = buffer(v.count)
        q.scalars.withUnsafeBufferPointer { pq in k.scalars.withUnsafeBufferPointer { pk in v.scalars.withUnsafeBufferPointer { pv in
            g.scalars.withUnsafeBufferPointer { pg in probabilities.withUnsafeBufferPointer { pp in (dropMask ?? []).withUnsafeBufferPointer { pd in
                dq.withUnsafeMutableBufferPointer { oq in dk.withUnsafeMutableBufferPointer { ok in dv.withUnsafeMutableBufferPointer { ov in
                    guard let pq = pq.baseAddress, let pk = pk.baseAddress, let pv = pv.baseAddress, let pg = pg.baseAddress,
                          let pp = pp.baseAddress, let oq = oq.baseAddress, let ok = ok.baseAddress, let ov = ov.baseAddress else { return }
                    layout.backward(q: pq, k: pk, v: pv, gradOutput: pg, probabilities: pp, drop: dropMask == nil ? nil : pd.baseAddress,
                                    scale: scale, dq: oq, dk: ok, dv: ov)
                } } }
            } } }
        } } }
        if Profiler.isEnabled {
            let (bh, tq, tk, d) = (q.shape[0] * heads, q.shape[1], k.shape[1], q.shape[2] / heads)
            Profiler.countGemm(batch: bh, m: tk, n: d, k: tq, transA: true, transB: false)
            Profiler.countGemm(batch: bh, m: tq, n: tk, k: d, transA: false, transB: true)
            Profiler.countGemm(batch: bh, m: tq, n: d, k: tk, transA: false, transB: false)
            Profiler.countGemm(batch: bh, m: tk, n: d, k: tq, transA: true, transB: false)
        }
        return [Tensor(shape: q.shape, scalars: dq), Tensor(shape: k.shape, scalars: dk), Tensor(shape: v.shape, scalars: dv)]
    }

    /// d loss_i / d logits = g_i · (softmax − target distribution), the softmax rebuilt from the logits and each
    /// row's log-sum-exp in the same pass; zero on ignored rows.
    private static func crossEntropyGradient(
        _ g: Tensor, logits: Tensor, targets: [Int], smoothing: Float, ignoreIndex: Int?, logSumExp: [Float]
    ) -> Tensor {
        let (rows, v) = (logits.shape[0], logits.shape[1])
        let uniform = smoothing / Float(v)
        let values = logits.scalars.withUnsafeBufferPointer { x in
            g.scalars.withUnsafeBufferPointer { gs in
                makeScalars(rows * v) { out in
                    guard let px = x.baseAddress, let po = out.baseAddress else { return }
                    parallelChunks(rows, cost: v * 4) { range in
                        for r in range {
                            let row = po + r * v
                            if targets[r] == ignoreIndex {
                                row.update(repeating: 0, count: v)
                                continue
                            }
                            let scale = gs[r]
                            gk_scaled_exp_shift(px + r * v, logSumExp[r], scale, scale * uniform, row, v)
                            row[targets[r]] -= scale * (1 - smoothing)
                        }
                    }
                }
            }
        }
        return Tensor(shape: logits.shape, scalars: values)
    }

    private static func normGradients(_ x: Tensor, weight: Tensor, _ g: Tensor, mean: [Float]?, rstd: [Float], withBias: Bool) -> [Tensor?] {
        let cols = x.shape.last ?? 1
        let rows = cols == 0 ? 0 : x.count / cols
        // Rows split over the threads in a fixed number of parts, each with its own weight and bias sums, added in
        // part order afterwards: the same result for any thread count.
        let parts = Swift.min(8, Swift.max(rows, 1))
        var partial = [Float](repeating: 0, count: parts * 2 * cols)
        let dx = x.scalars.withUnsafeBufferPointer { xs in g.scalars.withUnsafeBufferPointer { gs in
            weight.scalars.withUnsafeBufferPointer { w in partial.withUnsafeMutableBufferPointer { partial in
                makeScalars(x.count) { dx in
                    parallelChunks(parts, cost: rows * cols * 8 / parts) { range in
                        for part in range {
                            let lo = rows * part / parts, hi = rows * (part + 1) / parts
                            guard lo < hi, let xp = xs.baseAddress, let gp = gs.baseAddress, let dxp = dx.baseAddress,
                                  let dw = partial.baseAddress.map({ $0 + part * 2 * cols }) else { continue }
                            func run(_ mean: UnsafePointer<Float>?) {
                                rstd.withUnsafeBufferPointer { rs in
                                    gk_layernorm_backward_rows(xp + lo * cols, gp + lo * cols, w.baseAddress, mean.map { $0 + lo }, rs.baseAddress! + lo,
                                                               dxp + lo * cols, dw, dw + cols, hi - lo, cols)
                                }
                            }
                            if let mean { mean.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                        }
                    }
                }
            } }
        } }
        var dw = [Float](repeating: 0, count: cols), db = [Float](repeating: 0, count: cols)
        for part in 0..<parts {
            for i in 0..<cols {
                dw[i] += partial[part * 2 * cols + i]
                db[i] += partial[part * 2 * cols + cols + i]
            }
        }
        let grads: [Tensor?] = [Tensor(shape: x.shape, scalars: dx), Tensor(shape: [cols], scalars: dw)]
        return withBias ? grads + [Tensor(shape: [cols], scalars: db)] : grads
    }

    /// f(g, v) elementwise for two tensors of one shape.
    private static func pointwise(_ g: Tensor, _ v: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(g.shape == v.shape)
        let values = g.scalars.withUnsafeBufferPointer { gs in v.scalars.withUnsafeBufferPointer { vs in
            makeScalars(g.count) { out in
                parallelChunks(g.count, cost: 4) { r in for i in r { out[i] = f(gs[i], vs[i]) } }
            }
        } }
        return Tensor(shape: g.shape, scalars: values)
    }

    /// A row kernel over the last axis of two tensors of one shape.
    private static func rowwise(
        _ g: Tensor, _ y: Tensor,
        _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
    ) -> Tensor {
        let cols = g.shape.last ?? 1
        let rows = cols == 0 ? 0 : g.count / cols
        let values = g.scalars.withUnsafeBufferPointer { gs in y.scalars.withUnsafeBufferPointer { ys in
            makeScalars(g.count) { out in
                guard let pg = gs.baseAddress, let py = ys.baseAddress, let po = out.baseAddress else { return }
                parallelChunks(rows, cost: cols * 3) { r in
                    for row in r { body(pg + row * cols, py + row * cols, po + row * cols, cols) }
                }
            }
        } }
        return Tensor(shape: g.shape, scalars: values)
    }
}

extension Tensor {
    /// `selfᵀ·other` with leading batch dimensions folded into the contracted dimension when `folding`
    /// (the gradient of a weight shared across a batch).
    func matmul(_ other: Tensor, transposeSelf: Bool, transposeOther: Bool = false, folding: Bool) -> Tensor {
        guard folding, rank > 2 else { return matmul(other, transposeSelf: transposeSelf, transposeOther: transposeOther) }
        let a = reshaped([-1, shape[rank - 1]]), b = other.reshaped([-1, other.shape[other.rank - 1]])
        return a.matmul(b, transposeSelf: transposeSelf, transposeOther: transposeOther)
    }
}
