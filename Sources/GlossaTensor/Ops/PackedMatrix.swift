import CGlossaKernels

/// A weight prepared for inference products y = x·Wᵀ (+ bias): float32 panels packed once (`PackedMatrix`) or int8
/// codes (`QuantizedMatrix`). Layers use one in place of their weight when gradients are off.
public protocol InferenceProduct: AnyObject, Sendable {
    /// y = x·Wᵀ (+ bias), x `[..., K]` → `[..., N]`; not recorded for autograd.
    func matmul(_ x: Tensor) -> Tensor
}

extension QuantizedMatrix: InferenceProduct {}

/// A float32 weight `[N, K]` packed once into the panels the batch-invariant product reads, so inference products
/// skip re-packing it at every call (most of a small product's time: a decoding step with a few rows, a server's
/// joins). The arithmetic is `Tensor.matmul`'s at inference element for element, so results are bitwise the same.
public final class PackedMatrix: InferenceProduct, @unchecked Sendable {
    /// N.
    public let outFeatures: Int
    /// K.
    public let inFeatures: Int
    /// `[N]`, or `nil`.
    public let bias: [Float]?
    // Owned; only read after `init`.
    private let panels: UnsafeMutablePointer<Float>

    /// `weight` `[N, K]` (PyTorch's layout) packed, with an optional `bias` `[N]`.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2, "PackedMatrix needs a [N, K] weight, got \(weight.shape)")
        let (n, k) = (weight.shape[0], weight.shape[1])
        precondition(bias.map { $0.shape == [n] } ?? true, "PackedMatrix bias must be [\(n)]")
        (outFeatures, inFeatures) = (n, k)
        self.bias = bias?.scalars
        let panels = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, gk_sgemm_packed_floats(n, k)))
        self.panels = panels
        weight.scalars.withUnsafeBufferPointer { w in
            guard let base = w.baseAddress else { return }
            gk_sgemm_pack_weights(n, k, base, 1, k, panels)
        }
    }

    deinit { panels.deallocate() }

    public func matmul(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1 && x.shape[x.rank - 1] == inFeatures, "PackedMatrix.matmul needs [..., \(inFeatures)], got \(x.shape)")
        let (n, k) = (outFeatures, inFeatures)
        let m = x.count / k
        // One allocation for the shape (a product per layer per decoding step).
        var shape: [Int] = []
        shape.reserveCapacity(x.rank)
        shape += x.shape.dropLast()
        shape.append(n)
        if Profiler.isEnabled { Profiler.countGemm(m: m, n: n, k: k, transA: false, transB: true) }
        let values = x.scalars.withUnsafeBufferPointer { a in
            makeScalars(m * n) { c in
                guard let pa = a.baseAddress, let pc = c.baseAddress else { return }
                // The bias is each element's starting value (as `Tensor.matmul`'s prefilled C), read by the kernel.
                func product(_ start: UnsafePointer<Float>?) {
                    BLAS.gemm(pa, panels, pc, m: m, n: n, k: k, transA: false, transB: true, packed: true, bias: start)
                }
                if let bias { bias.withUnsafeBufferPointer { product($0.baseAddress) } } else { product(nil) }
            }
        }
        return Tensor(shape: shape, scalars: values)
    }
}
