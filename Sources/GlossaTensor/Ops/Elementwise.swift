import Foundation
import CGlossaKernels

// Broadcasting elementwise primitives. Each allocates its output and nothing else.

/// Applies `f` over the broadcast of `a` and `b`.
@inline(__always)
func broadcastMap(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> (shape: [Int], scalars: [Float]) {
    if a.shape == b.shape {
        let n = a.count
        return (a.shape, a.scalars.withUnsafeBufferPointer { x in
            b.scalars.withUnsafeBufferPointer { y in
                makeScalars(n) { out in
                    parallelChunks(n, cost: 1) { r in for i in r { out[i] = f(x[i], y[i]) } }
                }
            }
        })
    }
    let shape = ShapeMath.broadcast(a.shape, b.shape)
    let n = shape.reduce(1, *)
    if b.count == 1 {
        let s = b.scalars[0]
        return (shape, a.scalars.withUnsafeBufferPointer { x in makeScalars(n) { out in
            if a.count == n { for i in 0..<n { out[i] = f(x[i], s) } } else { for i in 0..<n { out[i] = f(x[0], s) } }
        } })
    }
    if a.count == 1 {
        let s = a.scalars[0]
        return (shape, b.scalars.withUnsafeBufferPointer { y in makeScalars(n) { out in
            if b.count == n { for i in 0..<n { out[i] = f(s, y[i]) } } else { for i in 0..<n { out[i] = f(s, y[0]) } }
        } })
    }
    // b repeats along the leading dimensions of a (a bias [C] on [B, T, C]), or the other way round.
    if a.count == n, isTrailing(b.shape, of: shape) {
        let m = b.count
        return (shape, a.scalars.withUnsafeBufferPointer { x in b.scalars.withUnsafeBufferPointer { y in
            makeScalars(n) { out in
                parallelChunks(n / m, cost: m) { rows in
                    for r in rows { let o = r * m; for j in 0..<m { out[o + j] = f(x[o + j], y[j]) } }
                }
            }
        } })
    }
    if b.count == n, isTrailing(a.shape, of: shape) {
        let m = a.count
        return (shape, a.scalars.withUnsafeBufferPointer { x in b.scalars.withUnsafeBufferPointer { y in
            makeScalars(n) { out in
                parallelChunks(n / m, cost: m) { rows in
                    for r in rows { let o = r * m; for j in 0..<m { out[o + j] = f(x[j], y[o + j]) } }
                }
            }
        } })
    }
    return (shape, generalBroadcast(a, b, shape: shape, f))
}

/// Whether `small` (ignoring leading ones) equals the trailing dimensions of `shape`.
private func isTrailing(_ small: [Int], of shape: [Int]) -> Bool {
    let trimmed = Array(small.drop(while: { $0 == 1 }))
    return trimmed.count <= shape.count && Array(shape.suffix(trimmed.count)) == trimmed
}

/// The general strided loop: the last dimension innermost, offsets advanced like an odometer.
private func generalBroadcast(_ a: Tensor, _ b: Tensor, shape: [Int], _ f: (Float, Float) -> Float) -> [Float] {
    let n = shape.reduce(1, *)
    guard n > 0 else { return [] }
    let rank = shape.count
    let sa = ShapeMath.broadcastStrides(a.shape, to: shape), sb = ShapeMath.broadcastStrides(b.shape, to: shape)
    let last = shape[rank - 1], la = sa[rank - 1], lb = sb[rank - 1]
    return a.scalars.withUnsafeBufferPointer { x in b.scalars.withUnsafeBufferPointer { y in
        makeScalars(n) { out in
            var index = [Int](repeating: 0, count: rank)
            var oa = 0, ob = 0, o = 0
            while o < n {
                for j in 0..<last { out[o + j] = f(x[oa + j * la], y[ob + j * lb]) }
                o += last
                var d = rank - 2
                while d >= 0 {
                    index[d] += 1; oa += sa[d]; ob += sb[d]
                    if index[d] < shape[d] { break }
                    oa -= sa[d] * shape[d]; ob -= sb[d] * shape[d]; index[d] = 0
                    d -= 1
                }
            }
        }
    } }
}

/// Applies `f` to each scalar.
@inline(__always)
func unaryMap(_ x: Tensor, _ f: (Float) -> Float) -> [Float] {
    let n = x.count
    return x.scalars.withUnsafeBufferPointer { src in
        makeScalars(n) { out in parallelChunks(n, cost: 1) { r in for i in r { out[i] = f(src[i]) } } }
    }
}

/// Applies a C activation kernel, split across threads.
func kernelMap(_ x: Tensor, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> [Float] {
    let n = x.count
    return x.scalars.withUnsafeBufferPointer { src in
        makeScalars(n) { out in
            guard let s = src.baseAddress, let d = out.baseAddress else { return }
            parallelChunks(n, cost: 8) { r in kernel(s + r.lowerBound, d + r.lowerBound, r.count) }
        }
    }
}

extension Tensor {
    func binary(_ other: Tensor, _ p: Primitive, _ f: (Float, Float) -> Float) -> Tensor {
        if shape == other.shape, let values = sameShape(other, p) {
            return Tensor(shape: shape, scalars: values, primitive: p, inputs: [self, other])
        }
        let (shape, values) = broadcastMap(self, other, f)
        return Tensor(shape: shape, scalars: values, primitive: p, inputs: [self, other])
    }

    /// Sums, differences and products of equal shapes (residual connections) in loops the compiler vectorizes;
    /// through `broadcastMap` each element was a closure call. Nil for other primitives.
    private func sameShape(_ other: Tensor, _ p: Primitive) -> [Float]? {
        let n = count
        return scalars.withUnsafeBufferPointer { x in other.scalars.withUnsafeBufferPointer { y in
            switch p {
            case .add: makeScalars(n) { out in parallelChunks(n, cost: 1) { r in for i in r { out[i] = x[i] + y[i] } } }
            case .sub: makeScalars(n) { out in parallelChunks(n, cost: 1) { r in for i in r { out[i] = x[i] - y[i] } } }
            case .mul: makeScalars(n) { out in parallelChunks(n, cost: 1) { r in for i in r { out[i] = x[i] * y[i] } } }
            default: nil
            }
        } }
    }

    /// Elementwise sum with broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor { a.binary(b, .add, +) }
    /// Elementwise difference with broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.binary(b, .sub, -) }
    /// Elementwise product with broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.binary(b, .mul, *) }
    /// Elementwise quotient with broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.binary(b, .div, /) }

    /// Adds a constant.
    public static func + (a: Tensor, b: Float) -> Tensor { a + Tensor(b) }
    /// Subtracts a constant.
    public static func - (a: Tensor, b: Float) -> Tensor { a - Tensor(b) }
    /// Multiplies by a constant.
    public static func * (a: Tensor, b: Float) -> Tensor { a * Tensor(b) }
    /// Multiplies by a constant.
    public static func * (a: Float, b: Tensor) -> Tensor { Tensor(a) * b }
    /// Divides by a constant.
    public static func / (a: Tensor, b: Float) -> Tensor { a * (1 / b) }
    /// Subtracts from a constant.
    public static func - (a: Float, b: Tensor) -> Tensor { Tensor(a) - b }

    /// Negation.
    public static prefix func - (a: Tensor) -> Tensor {
        Tensor(shape: a.shape, scalars: unaryMap(a) { -$0 }, primitive: .neg, inputs: [a])
    }

    /// e^x.
    public func exp() -> Tensor {
        Tensor(shape: shape, scalars: kernelMap(self) { gk_exp($0, $1, $2) }, primitive: .exp, inputs: [self])
    }
    /// Natural logarithm.
    public func log() -> Tensor {
        Tensor(shape: shape, scalars: unaryMap(self) { Foundation.log($0) }, primitive: .log, inputs: [self])
    }
    /// Square root.
    public func sqrt() -> Tensor {
        Tensor(shape: shape, scalars: unaryMap(self) { $0.squareRoot() }, primitive: .sqrt, inputs: [self])
    }
    /// 1 / √x.
    public func rsqrt() -> Tensor {
        Tensor(shape: shape, scalars: unaryMap(self) { 1 / $0.squareRoot() }, primitive: .rsqrt, inputs: [self])
    }
    /// x raised to a constant power.
    public func pow(_ exponent: Float) -> Tensor {
        let values: [Float] = exponent == 2 ? unaryMap(self) { $0 * $0 } : unaryMap(self) { Foundation.pow($0, exponent) }
        return Tensor(shape: shape, scalars: values, primitive: .pow(exponent), inputs: [self])
    }
    /// Hyperbolic tangent.
    public func tanh() -> Tensor { activation(.tanh, kind: 1) }
    /// Logistic sigmoid.
    public func sigmoid() -> Tensor { activation(.sigmoid, kind: 0) }
    /// x · sigmoid(x) (SiLU, also called swish).
    public func silu() -> Tensor { activation(.silu, kind: 2) }
    /// GELU with the tanh approximation.
    public func geluTanh() -> Tensor { activation(.geluTanh, kind: 3) }
    /// GELU with the exact erf form.
    public func gelu() -> Tensor { activation(.geluErf, kind: 4) }
    /// max(x, 0).
    public func relu() -> Tensor {
        Tensor(shape: shape, scalars: unaryMap(self) { Swift.max($0, 0) }, primitive: .relu, inputs: [self])
    }
    /// x limited to `[low, high]`.
    public func clamp(_ low: Float, _ high: Float) -> Tensor {
        Tensor(shape: shape, scalars: unaryMap(self) { Swift.min(Swift.max($0, low), high) }, primitive: .clamp(low, high), inputs: [self])
    }

    private func activation(_ p: Primitive, kind: Int32) -> Tensor {
        Tensor(shape: shape, scalars: kernelMap(self) { gk_activation(kind, $0, $1, $2) }, primitive: p, inputs: [self])
    }

    /// Chooses `self` where `mask` is non-zero and `other` elsewhere; all three broadcast together.
    /// The mask carries no gradient.
    public func selecting(where mask: Tensor, else other: Tensor) -> Tensor {
        let shape = ShapeMath.broadcast(ShapeMath.broadcast(self.shape, other.shape), mask.shape)
        let m = mask.expanded(to: shape), a = expanded(to: shape), b = other.expanded(to: shape)
        let values = zip(m.scalars, zip(a.scalars, b.scalars)).map { $0 != 0 ? $1.0 : $1.1 }
        return Tensor(shape: shape, scalars: values, primitive: .select(mask: m.scalars), inputs: [self, other])
    }

    /// `self` with `value` where `mask` is non-zero (attention masks).
    public func maskedFill(_ mask: Tensor, with value: Float) -> Tensor {
        Tensor(value).selecting(where: mask, else: self)
    }

    /// The scalars broadcast (copied) to `shape`; not recorded, used by kernels.
    func expanded(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let (s, v) = broadcastMap(Tensor.zeros(target), self.detached()) { _, y in y }
        return Tensor(shape: s, scalars: v)
    }
}
