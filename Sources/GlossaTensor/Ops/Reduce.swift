import Foundation
// Reductions along one axis, viewed as [outer, n, inner].

extension Tensor {
    /// Sum along `axis`; `keepDims` leaves a dimension of 1 in its place.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        let (outer, n, inner) = ShapeMath.split(shape, axis: ax)
        // At inference a sum must not change with the batch: one sequence's [1, T, C] takes the loop below, as every
        // row of a batch does, not sgemv (which sums in another order).
        if outer == 1 && inner >= 64 && n > 1 && !BLAS.batchInvariant {
            // A bias gradient ([rows, width] → [width]): columns split over the threads, rows summed in order.
            let ones = [Float](repeating: 1, count: n)
            let values = scalars.withUnsafeBufferPointer { x in ones.withUnsafeBufferPointer { ones in
                makeScalars(inner) { out in
                    guard let px = x.baseAddress, let po = out.baseAddress, let pones = ones.baseAddress else { return }
                    parallelChunks(inner, cost: n) { cols in
                        BLAS.columnSums(px + cols.lowerBound, rows: n, columns: cols.count, stride: inner, ones: pones, into: po + cols.lowerBound)
                    }
                }
            } }
            return Tensor(shape: reducedShape(ax, keepDims), scalars: values, primitive: .sum(axis: ax, keepDims: keepDims), inputs: [self])
        }
        let values = scalars.withUnsafeBufferPointer { x in
            makeScalars(outer * inner) { out in
                parallelChunks(outer, cost: n * inner) { rows in
                    for o in rows {
                        let base = o * n * inner, dst = o * inner
                        if inner == 1 {
                            var s: Float = 0
                            for i in 0..<n { s += x[base + i] }
                            out[dst] = s
                        } else {
                            for j in 0..<inner { out[dst + j] = x[base + j] }
                            for i in 1..<Swift.max(n, 1) where n > 1 {
                                let row = base + i * inner
                                for j in 0..<inner { out[dst + j] += x[row + j] }
                            }
                            if n == 0 { for j in 0..<inner { out[dst + j] = 0 } }
                        }
                    }
                }
            }
        }
        return Tensor(shape: reducedShape(ax, keepDims), scalars: values, primitive: .sum(axis: ax, keepDims: keepDims), inputs: [self])
    }

    /// Sum of all elements, as a scalar tensor.
    public func sum() -> Tensor { reshaped([count]).sum(axis: 0) }

    /// Mean along `axis`.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        let n = shape[ShapeMath.axis(axis, rank: rank)]
        return sum(axis: axis, keepDims: keepDims) * (1 / Float(Swift.max(n, 1)))
    }

    /// Mean of all elements, as a scalar tensor.
    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Maximum along `axis`; the gradient flows to the first maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        let (values, indices) = maxAndArgmax(ax)
        return Tensor(shape: reducedShape(ax, keepDims), scalars: values,
                      primitive: .max(axis: ax, keepDims: keepDims, argmax: indices), inputs: [self])
    }

    /// Index of the maximum along `axis` (first one on ties). Not differentiable: the result is a constant.
    public func argmax(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        let indices = maxAndArgmax(ax).1
        return Tensor(shape: reducedShape(ax, keepDims), scalars: indices.map { Float($0) })
    }

    /// log Σ exp along `axis`, computed stably (the maximum is subtracted first).
    public func logSumExp(axis: Int, keepDims: Bool = false) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        let (outer, n, inner) = ShapeMath.split(shape, axis: ax)
        let peak = maxAndArgmax(ax).0
        var values = peak
        for o in 0..<outer {
            for j in 0..<inner {
                let m = peak[o * inner + j]
                let finite = m.isFinite ? m : 0
                var s: Float = 0
                for i in 0..<n { s += Foundation.exp(scalars[(o * n + i) * inner + j] - finite) }
                values[o * inner + j] = finite + Foundation.log(s)
            }
        }
        return Tensor(shape: reducedShape(ax, keepDims), scalars: values,
                      primitive: .logSumExp(axis: ax, keepDims: keepDims), inputs: [self])
    }

    func reducedShape(_ axis: Int, _ keepDims: Bool) -> [Int] {
        var s = shape
        if keepDims { s[axis] = 1 } else { s.remove(at: axis) }
        return s
    }

    private func maxAndArgmax(_ axis: Int) -> ([Float], [Int]) {
        let (outer, n, inner) = ShapeMath.split(shape, axis: axis)
        var values = [Float](repeating: -.infinity, count: outer * inner)
        var indices = [Int](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { x in
            for o in 0..<outer {
                for i in 0..<n {
                    let row = (o * n + i) * inner
                    for j in 0..<inner where x[row + j] > values[o * inner + j] || (i == 0) {
                        values[o * inner + j] = x[row + j]
                        indices[o * inner + j] = i
                    }
                }
            }
        }
        return (values, indices)
    }

    /// Sums a broadcast gradient back to `target` — the one place where broadcasting is undone.
    func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        // A bias-like target (the trailing dimensions): one pass over [rows, target].
        let width = target.reduce(1, *)
        if width > 0, Array(shape.suffix(target.count)) == target {
            return reshaped([count / width, width]).sum(axis: 0).reshaped(target)
        }
        var g = self
        while g.rank > target.count { g = g.sum(axis: 0) }
        for axis in 0..<target.count where target[axis] == 1 && g.shape[axis] != 1 {
            g = g.sum(axis: axis, keepDims: true)
        }
        return g.reshaped(target)
    }
}
