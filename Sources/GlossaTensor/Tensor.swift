/// A Float32 tensor: a shape, contiguous row-major scalars, and, when it takes part in autograd,
/// the record of the primitive that made it.
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

    init(shape: [Int], scalars: [Float], origin: Origin?) {
        self.shape = shape
        self.scalars = scalars
        self.requiresGrad = origin != nil
        self.origin = origin
    }

    /// The number of elements.
    public var count: Int { scalars.count }
    /// The number of dimensions.
    public var rank: Int { shape.count }
}
