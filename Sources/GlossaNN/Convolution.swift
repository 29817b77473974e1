// 1-D convolutions over the time axis of `[B, T, C]` states, in PyTorch's Conv1d / ConvTranspose1d geometry
// (weights kept as `[K, Cin, Cout]`, tap-major, so both are one matrix product).
import GlossaTensor

/// A 1-D convolution over the time axis of `[B, T, C]` states, built from two differentiable primitives:
/// an im2col gather (`indexSelect` along T) and one matrix product, so autograd needs no new rule.
public final class Conv1d: Module {
    /// `[K, Cin, Cout]`: tap k maps input channels to output channels.
    public let weight: Tensor
    /// `[Cout]`.
    public let bias: Tensor
    /// Kernel size K.
    public let kernelSize: Int
    /// Step between outputs, in input positions.
    public let stride: Int
    /// Step between taps, in input positions.
    public let dilation: Int

    /// A convolution initialised uniformly in ±1/√(K·Cin), PyTorch's default.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, dilation: Int = 1,
                generator: inout SeededGenerator) {
        let bound = 1 / Float(kernelSize * inChannels).squareRoot()
        weight = Tensor.uniform([kernelSize, inChannels, outChannels], low: -bound, high: bound, using: &generator, requiresGrad: true)
        bias = Tensor.uniform([outChannels], low: -bound, high: bound, using: &generator, requiresGrad: true)
        self.kernelSize = kernelSize
        self.stride = stride
        self.dilation = dilation
    }

    public var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }

    /// Input positions one output covers: (K − 1)·d + 1.
    public var span: Int { (kernelSize - 1) * dilation + 1 }

    /// The number of outputs for `length` inputs (no padding added here).
    public func outputLength(_ length: Int) -> Int { length >= span ? (length - span) / stride + 1 : 0 }

    /// `[B, T, Cin]`, already padded as the caller wants → `[B, T', Cout]` with T' = ⌊(T − span)/stride⌋ + 1.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, c) = (x.shape[0], x.shape[2])
        let tOut = outputLength(x.shape[1])
        let out = weight.shape[2]
        var taps = [Int]()
        taps.reserveCapacity(tOut * kernelSize)
        for i in 0..<tOut {
            for k in 0..<kernelSize { taps.append(i * stride + k * dilation) }
        }
        let columns = x.indexSelect(axis: 1, taps).reshaped([b * tOut, kernelSize * c])  // [B·T', K·Cin]
        return columns.matmul(weight.reshaped([kernelSize * c, out]), bias: bias).reshaped([b, tOut, out])  // [B, T', Cout]
    }
}

/// A transposed 1-D convolution (PyTorch's `ConvTranspose1d` without output padding): every input position i
/// adds `weight[k]·x[i]` at output position i·stride + k·dilation. With stride s it upsamples by s, as in
/// U-Net's up path. Built from one matrix product and one `indexAdd` (col2im), so autograd needs no new rule.
public final class ConvTranspose1d: Module {
    /// `[K, Cin, Cout]`: tap k maps input channels to output channels.
    public let weight: Tensor
    /// `[Cout]`.
    public let bias: Tensor
    /// Kernel size K.
    public let kernelSize: Int
    /// Step between the outputs of neighbouring inputs (the upsampling factor).
    public let stride: Int
    /// Step between taps, in output positions.
    public let dilation: Int

    /// A transposed convolution initialised uniformly in ±1/√(K·Cin).
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, dilation: Int = 1,
                generator: inout SeededGenerator) {
        let bound = 1 / Float(kernelSize * inChannels).squareRoot()
        weight = Tensor.uniform([kernelSize, inChannels, outChannels], low: -bound, high: bound, using: &generator, requiresGrad: true)
        bias = Tensor.uniform([outChannels], low: -bound, high: bound, using: &generator, requiresGrad: true)
        self.kernelSize = kernelSize
        self.stride = stride
        self.dilation = dilation
    }

    public var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }

    /// The number of outputs for `length` inputs: (T − 1)·stride + (K − 1)·dilation + 1, or 0 for no input.
    public func outputLength(_ length: Int) -> Int { length > 0 ? (length - 1) * stride + (kernelSize - 1) * dilation + 1 : 0 }

    /// `[B, T, Cin]` → `[B, T', Cout]` with T' = `outputLength(T)`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let (k, out) = (kernelSize, weight.shape[2])
        var targets = [Int]()
        targets.reserveCapacity(t * k)
        for i in 0..<t {
            for tap in 0..<k { targets.append(i * stride + tap * dilation) }
        }
        let taps = weight.permuted([1, 0, 2]).reshaped([c, k * out])  // [Cin, K·Cout]
        let contributions = x.reshaped([b * t, c]).matmul(taps).reshaped([b, t * k, out])  // [B, T·K, Cout]
        return contributions.indexAdd(axis: 1, targets, size: outputLength(t)) + bias  // [B, T', Cout]
    }
}
