// Layout primitives: every result is a fresh contiguous tensor.

extension Tensor {
    /// The same scalars under another shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let hole = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[hole] = count / known
        }
        precondition(target.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        if target == shape { return self }
        return Tensor(shape: target, scalars: scalars, primitive: .reshape, inputs: [self])
    }

    /// Dimensions reordered: result dimension i is input dimension `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permutation \(order) does not fit rank \(rank)")
        if order == Array(0..<rank) { return self }
        let newShape = order.map { shape[$0] }
        let inStrides = ShapeMath.strides(shape)
        let strides = order.map { inStrides[$0] }
        let n = count, r = rank
        let last = newShape[r - 1], lastStride = strides[r - 1]
        let perOuter = n / Swift.max(newShape[0], 1)
        let values = scalars.withUnsafeBufferPointer { x in
            makeScalars(n) { out in
                guard n > 0 else { return }
                // Split over the outermost result dimension; inside, an odometer walks the rest.
                parallelChunks(newShape[0], cost: perOuter) { outerRange in
                    for o0 in outerRange {
                        var index = [Int](repeating: 0, count: r)
                        var src = o0 * strides[0], o = o0 * perOuter
                        let end = o + perOuter
                        while o < end {
                            for j in 0..<last { out[o + j] = x[src + j * lastStride] }
                            o += last
                            var d = r - 2
                            while d >= 1 {
                                index[d] += 1; src += strides[d]
                                if index[d] < newShape[d] { break }
                                src -= strides[d] * newShape[d]; index[d] = 0
                                d -= 1
                            }
                        }
                    }
                }
            }
        }
        return Tensor(shape: newShape, scalars: values, primitive: .permute(order), inputs: [self])
    }

    /// Two dimensions swapped.
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(ShapeMath.axis(a, rank: rank), ShapeMath.axis(b, rank: rank))
        return permuted(order)
    }

    /// Elements `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax], "slice \(range) out of 0..<\(shape[ax])")
        let (outer, n, inner) = ShapeMath.split(shape, axis: ax)
        let width = range.count * inner
        var newShape = shape
        newShape[ax] = range.count
        let values = scalars.withUnsafeBufferPointer { x in
            makeScalars(outer * width) { out in
                for o in 0..<outer {
                    let src = (o * n + range.lowerBound) * inner
                    for j in 0..<width { out[o * width + j] = x[src + j] }
                }
            }
        }
        return Tensor(shape: newShape, scalars: values, primitive: .slice(axis: ax, start: range.lowerBound), inputs: [self])
    }

    /// Tensors joined along `axis`; all other dimensions must agree.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat needs at least one tensor")
        let ax = ShapeMath.axis(axis, rank: parts[0].rank)
        var newShape = parts[0].shape
        newShape[ax] = parts.map { $0.shape[ax] }.reduce(0, +)
        for p in parts {
            var s = p.shape
            s[ax] = newShape[ax]
            precondition(s == newShape, "concat: shape \(p.shape) does not fit \(parts[0].shape) along axis \(ax)")
        }
        let (outer, total, inner) = ShapeMath.split(newShape, axis: ax)
        var values = [Float](repeating: 0, count: outer * total * inner)
        var offset = 0
        for p in parts {
            let width = p.shape[ax] * inner
            p.scalars.withUnsafeBufferPointer { x in
                values.withUnsafeMutableBufferPointer { out in
                    for o in 0..<outer {
                        let dst = o * total * inner + offset
                        for j in 0..<width { out[dst + j] = x[o * width + j] }
                    }
                }
            }
            offset += width
        }
        return Tensor(shape: newShape, scalars: values, primitive: .concat(axis: ax, sizes: parts.map { $0.shape[ax] }), inputs: parts)
    }

    /// Splits along `axis` into pieces of the given sizes.
    public func split(axis: Int, sizes: [Int]) -> [Tensor] {
        let ax = ShapeMath.axis(axis, rank: rank)
        precondition(sizes.reduce(0, +) == shape[ax], "split sizes \(sizes) do not add up to \(shape[ax])")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return slice(axis: ax, start..<(start + size))
        }
    }

    /// Picks entries `indices` along `axis` (embedding lookup when `axis` is 0); indices may repeat.
    public func indexSelect(axis: Int, _ indices: [Int]) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        let (outer, n, inner) = ShapeMath.split(shape, axis: ax)
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "index out of 0..<\(n) in indexSelect")
        var newShape = shape
        newShape[ax] = indices.count
        let k = indices.count
        let values = scalars.withUnsafeBufferPointer { x in
            makeScalars(outer * k * inner) { out in
                parallelChunks(k, cost: inner * outer) { rows in
                    for o in 0..<outer {
                        for i in rows {
                            let src = (o * n + indices[i]) * inner, dst = (o * k + i) * inner
                            for j in 0..<inner { out[dst + j] = x[src + j] }
                        }
                    }
                }
            }
        }
        return Tensor(shape: newShape, scalars: values, primitive: .indexSelect(axis: ax, indices: indices), inputs: [self])
    }

    /// Rows of a table `[V, ...]` for ids of any shape: the result is `ids.shape + [...]`.
    public func gather(rows ids: [Int], shape idsShape: [Int]) -> Tensor {
        indexSelect(axis: 0, ids).reshaped(idsShape + Array(shape.dropFirst()))
    }

    /// A zero tensor with `size` entries along `axis` into which slices of `self` are added at `indices`
    /// (the gradient of `indexSelect`; repeated indices add up).
    public func indexAdd(axis: Int, _ indices: [Int], size: Int) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        let (outer, k, inner) = ShapeMath.split(shape, axis: ax)
        precondition(indices.count == k, "indexAdd needs one index per slice")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < size }, "index out of 0..<\(size) in indexAdd")
        var newShape = shape
        newShape[ax] = size
        var values = [Float](repeating: 0, count: outer * size * inner)
        scalars.withUnsafeBufferPointer { x in
            values.withUnsafeMutableBufferPointer { out in
                for o in 0..<outer {
                    for i in 0..<k {
                        let src = (o * k + i) * inner, dst = (o * size + indices[i]) * inner
                        for j in 0..<inner { out[dst + j] += x[src + j] }
                    }
                }
            }
        }
        return Tensor(shape: newShape, scalars: values, primitive: .indexAdd(axis: ax, indices: indices), inputs: [self])
    }

    /// Pads `axis` with `before` and `after` entries of `value`.
    public func padded(axis: Int, before: Int, after: Int, value: Float = 0) -> Tensor {
        let ax = ShapeMath.axis(axis, rank: rank)
        precondition(before >= 0 && after >= 0, "padding must be non-negative")
        let (outer, n, inner) = ShapeMath.split(shape, axis: ax)
        var newShape = shape
        newShape[ax] = n + before + after
        let total = newShape[ax]
        var values = [Float](repeating: value, count: outer * total * inner)
        scalars.withUnsafeBufferPointer { x in
            values.withUnsafeMutableBufferPointer { out in
                for o in 0..<outer {
                    let dst = (o * total + before) * inner, src = o * n * inner
                    for j in 0..<(n * inner) { out[dst + j] = x[src + j] }
                }
            }
        }
        return Tensor(shape: newShape, scalars: values, primitive: .pad(axis: ax, before: before), inputs: [self])
    }
}
