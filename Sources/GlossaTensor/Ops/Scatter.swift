// Per-element gather and scatter-add along one axis: the pair behind max pooling with indices and max
// unpooling (and, with repeated or spaced indices, nearest and bed-of-nails upsampling). Each is the
// other's backward rule. Layout follows NumPy's take_along_axis / PyTorch's scatter_add.

extension Tensor {
    /// `out[o, i, j] = self[o, indices[(o·m + i)·inner + j], j]` over the split `[outer, n, inner]` at `axis`,
    /// where m = `indices.count / (outer·inner)` is the result's extent along `axis`. Indices may repeat.
    public func takeAlong(axis: Int, _ indices: [Int]) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        let (outer, n, inner) = ShapeMath.split(shape, axis: ax)
        let slab = outer * inner
        precondition(slab > 0 ? indices.count % slab == 0 : indices.isEmpty,
                     "takeAlong needs a multiple of \(slab) indices, got \(indices.count)")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "index out of 0..<\(n) in takeAlong")
        let m = slab > 0 ? indices.count / slab : 0
        var newShape = shape
        newShape[ax] = m
        let values = scalars.withUnsafeBufferPointer { x in
            makeScalars(outer * m * inner) { out in
                parallelChunks(outer, cost: m * inner) { range in
                    for o in range {
                        for i in 0..<m {
                            let row = (o * m + i) * inner
                            for j in 0..<inner { out[row + j] = x[(o * n + indices[row + j]) * inner + j] }
                        }
                    }
                }
            }
        }
        return Tensor(shape: newShape, scalars: values, primitive: .takeAlong(axis: ax, indices: indices), inputs: [self])
    }

    /// A zero tensor with `size` entries along `axis` into which each element of `self` is added at its own
    /// index: `out[o, indices[(o·m + i)·inner + j], j] += self[o, i, j]` (the gradient of `takeAlong`;
    /// repeated indices add up).
    public func scatterAddAlong(axis: Int, _ indices: [Int], size: Int) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        let (outer, m, inner) = ShapeMath.split(shape, axis: ax)
        precondition(indices.count == count, "scatterAddAlong needs one index per element")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < size }, "index out of 0..<\(size) in scatterAddAlong")
        var newShape = shape
        newShape[ax] = size
        var values = [Float](repeating: 0, count: outer * size * inner)
        scalars.withUnsafeBufferPointer { x in
            values.withUnsafeMutableBufferPointer { out in
                for o in 0..<outer {
                    for i in 0..<m {
                        let row = (o * m + i) * inner
                        for j in 0..<inner { out[(o * size + indices[row + j]) * inner + j] += x[row + j] }
                    }
                }
            }
        }
        return Tensor(shape: newShape, scalars: values, primitive: .scatterAddAlong(axis: ax, indices: indices), inputs: [self])
    }
}
