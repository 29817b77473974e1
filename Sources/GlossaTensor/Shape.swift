/// Shape arithmetic shared by the kernels.
enum ShapeMath {
    /// The broadcast of two shapes (NumPy rules: align from the right, 1 stretches).
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int] {
        // Equal shapes and a scalar (`x * 0.5`) need no new array.
        if a == b || b.isEmpty { return a }
        if a.isEmpty { return b }
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        return (0..<rank).map { i in
            precondition(pa[i] == pb[i] || pa[i] == 1 || pb[i] == 1, "shapes \(a) and \(b) do not broadcast")
            return max(pa[i], pb[i])
        }
    }

    /// Row-major strides of a shape.
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
        return s
    }

    /// Strides of `shape` read as if broadcast to `target` (0 along stretched dimensions).
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: target.count - shape.count) + shape
        let s = strides(padded)
        return (0..<target.count).map { padded[$0] == 1 && target[$0] != 1 ? 0 : s[$0] }
    }

    /// A possibly negative axis made non-negative.
    static func axis(_ axis: Int, rank: Int) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < max(rank, 1), "axis \(axis) out of range for rank \(rank)")
        return a
    }

    /// `(outer, n, inner)` for reducing or slicing along `axis`.
    static func split(_ shape: [Int], axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape.isEmpty ? 1 : shape[axis], shape[(axis + 1)...].reduce(1, *))
    }
}

/// Makes `[Float]` of `count` elements written once by `body` (no zero-fill first).
@inline(__always)
func makeScalars(_ count: Int, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
    // A dead tensor's buffer of this size when there is one (`TensorStorage`); its stale contents are overwritten.
    var scalars = TensorStorage.take(count)
    scalars.withUnsafeMutableBufferPointer { body($0) }
    return scalars
}
