import Foundation
/// A Float32 tensor: a shape, contiguous row-major scalars, and, when it takes part in autograd,
/// the record of the primitive that made it.
///
/// Tensors are reference types so that the autograd tape can point at them; their scalars are
/// immutable once made, except through `withMutableScalars` (optimizers update parameters in place).
public final class Tensor {
    /// The extent of each dimension, outermost first.
    public let shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public internal(set) var scalars: [Float]
    /// Whether gradients flow to (and accumulate in) this tensor.
    public var requiresGrad: Bool
    /// The accumulated gradient after `backward()`; `nil` until then or after `zeroGrad()`.
    public internal(set) var grad: Tensor?
    /// How this tensor was computed; `nil` for leaves and for anything made without grad.
    let origin: Origin?

    /// Makes a tensor from scalars in row-major order; the count must match the shape.
    public init(shape: [Int], scalars: [Float], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "shape \(shape) needs \(shape.reduce(1, *)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
        self.requiresGrad = requiresGrad
        self.origin = nil
    }

    /// Makes the result of a primitive; records it on the tape when grad mode is on and an input needs grad. The inputs
    /// are an autoclosure too, so inference builds no array of them.
    init(shape: [Int], scalars: [Float], primitive: @autoclosure () -> Primitive, inputs: @autoclosure () -> [Tensor]) {
        self.shape = shape
        self.scalars = scalars
        if Profiler.isEnabled { Profiler.markPrimitive(primitive().name) }
        if GradMode.isEnabled, case let inputs = inputs(), inputs.contains(where: { $0.requiresGrad }) {
            self.origin = Origin(primitive: primitive(), inputs: inputs, part: Profiler.isEnabled ? Profiler.part : "")
            self.requiresGrad = true
        } else {
            self.origin = nil
            self.requiresGrad = false
        }
    }

    /// The scalars go back to `TensorStorage`'s free list when nothing else holds them.
    deinit { TensorStorage.recycle(&scalars) }

    /// The number of elements.
    public var count: Int { scalars.count }
    /// The number of dimensions.
    public var rank: Int { shape.count }
    /// Whether the tape recorded how this tensor was made (it is not a leaf).
    public var isRecorded: Bool { origin != nil }

    /// The single element of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, got shape \(shape)")
        return scalars[0]
    }

    /// Lets the caller change the scalars in place (optimizer steps, loading weights); the shape stays.
    public func withMutableScalars<R>(_ body: (inout [Float]) throws -> R) rethrows -> R {
        let n = scalars.count
        defer { precondition(scalars.count == n, "withMutableScalars must not change the element count") }
        return try body(&scalars)
    }

    /// Forgets the accumulated gradient.
    public func zeroGrad() { grad = nil }

    /// Multiplies the accumulated gradient by `factor`, in place when nothing else holds it.
    public func scaleGrad(by factor: Float) {
        guard var g = grad else { return }
        grad = nil
        if !isKnownUniquelyReferenced(&g) { g = Tensor(shape: g.shape, scalars: g.scalars) }
        g.scalars.withUnsafeMutableBufferPointer { v in
            guard let base = v.baseAddress else { return }
            parallelChunks(v.count, cost: 2) { r in for i in r { base[i] *= factor } }
        }
        grad = g
    }

    /// Adds `g` to the accumulated gradient (gradients accumulate across backward calls until zeroed).
    public func accumulateGrad(_ g: Tensor) {
        precondition(g.shape == shape, "gradient shape \(g.shape) does not match \(shape)")
        if var old = grad {
            grad = nil
            if isKnownUniquelyReferenced(&old) {
                old.addInPlace(g)
                grad = old
            } else {
                let sum = Tensor(shape: shape, scalars: old.scalars)  // someone holds the old gradient: add into a copy
                sum.addInPlace(g)
                grad = sum
            }
        } else {
            grad = Tensor(shape: shape, scalars: g.scalars)
        }
    }

    /// A tensor with the same scalars that is cut off from the tape.
    public func detached() -> Tensor { Tensor(shape: shape, scalars: scalars) }
}

extension Tensor: CustomStringConvertible {
    /// Shape and the first few scalars.
    public var description: String {
        let head = scalars.prefix(8).map { String(format: "%.4g", $0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 8 ? ", …" : "")]"
    }
}

// MARK: - Creation

extension Tensor {
    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, 0, requiresGrad: requiresGrad)
    }

    /// A tensor of ones.
    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, 1, requiresGrad: requiresGrad)
    }

    /// A tensor filled with one value.
    public static func full(_ shape: [Int], _ value: Float, requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A tensor whose every scalar `body` writes (it starts with arbitrary contents, in a buffer reused from a dead
    /// tensor of the same size when there is one: see `TensorStorage`).
    public static func writing(_ shape: [Int], _ body: (UnsafeMutableBufferPointer<Float>) -> Void) -> Tensor {
        Tensor(shape: shape, scalars: makeScalars(shape.reduce(1, *), body))
    }

    /// A scalar (rank-0) tensor.
    public convenience init(_ value: Float) { self.init(shape: [], scalars: [value]) }

    /// A rank-1 tensor of the given values.
    public convenience init(_ values: [Float], requiresGrad: Bool = false) {
        self.init(shape: [values.count], scalars: values, requiresGrad: requiresGrad)
    }

    /// A rank-2 tensor from rows of equal length.
    public convenience init(rows: [[Float]]) {
        let width = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == width }, "rows of unequal length")
        self.init(shape: [rows.count, width], scalars: rows.flatMap { $0 })
    }

    /// `start, start + step, …` below `end`.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0, "arange step must not be zero")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor(shape: [n], scalars: (0..<n).map { start + Float($0) * step })
    }

    /// Normal samples drawn from `generator` (mean, standard deviation), by Box–Muller on 24-bit uniforms.
    public static func normal<G: RandomNumberGenerator>(
        _ shape: [Int], mean: Float = 0, std: Float = 1, using generator: inout G, requiresGrad: Bool = false
    ) -> Tensor {
        let n = shape.reduce(1, *)
        let values = makeScalars(n) { out in
            var i = 0
            while i < n {
                let bits = generator.next()
                let u1 = (Float(bits >> 40) + 1) * 0x1p-24  // (0, 1]: the logarithm stays finite
                let u2 = Float((bits >> 8) & 0xFF_FFFF) * 0x1p-24
                let r = (-2 * Foundation.log(u1)).squareRoot()
                out[i] = mean + std * r * Foundation.cos(2 * .pi * u2)
                if i + 1 < n { out[i + 1] = mean + std * r * Foundation.sin(2 * .pi * u2) }
                i += 2
            }
        }
        return Tensor(shape: shape, scalars: values, requiresGrad: requiresGrad)
    }

    /// Uniform samples in `low..<high` drawn from `generator` (24 random bits each).
    public static func uniform<G: RandomNumberGenerator>(
        _ shape: [Int], low: Float = 0, high: Float = 1, using generator: inout G, requiresGrad: Bool = false
    ) -> Tensor {
        let n = shape.reduce(1, *)
        let width = high - low
        let values = makeScalars(n) { out in
            var i = 0
            while i < n {
                let bits = generator.next()
                out[i] = low + width * Float(bits >> 40) * 0x1p-24
                if i + 1 < n { out[i + 1] = low + width * Float((bits >> 8) & 0xFF_FFFF) * 0x1p-24 }
                i += 2
            }
        }
        return Tensor(shape: shape, scalars: values, requiresGrad: requiresGrad)
    }
}
