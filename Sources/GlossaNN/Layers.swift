import Foundation
import GlossaTensor

/// y = x·Wᵀ + b with W stored `[out, in]` as in PyTorch checkpoints.
public final class Linear: Module {
    /// `[outFeatures, inFeatures]`.
    public let weight: Tensor
    /// `[outFeatures]`, or `nil` without bias.
    public let bias: Tensor?
    /// The product inference uses instead of `x · weightᵀ + bias` (the weight packed once, or int8), when one is
    /// prepared; training always uses the weights themselves.
    public var inferenceProduct: (any InferenceProduct)?

    /// A layer initialised uniformly in ±1/√in (PyTorch's default) from `generator`.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: inout SeededGenerator) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Tensor.uniform([outFeatures, inFeatures], low: -bound, high: bound, using: &generator, requiresGrad: true)
        self.bias = bias ? Tensor.uniform([outFeatures], low: -bound, high: bound, using: &generator, requiresGrad: true) : nil
    }

    /// A layer of zeros, for weights that are about to be loaded (no random draws).
    public init(zeros inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        weight = Tensor.zeros([outFeatures, inFeatures], requiresGrad: true)
        self.bias = bias ? Tensor.zeros([outFeatures], requiresGrad: true) : nil
    }

    public var localParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// `[..., in]` → `[..., out]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let inferenceProduct, !GradMode.isEnabled { return inferenceProduct.matmul(x) }
        return x.matmul(weight, transposeOther: true, bias: bias)
    }
}

/// A lookup table of vectors, one row per id.
public final class Embedding: Module {
    /// `[count, dimension]`.
    public let weight: Tensor

    /// A table initialised from N(0, std²).
    public init(count: Int, dimension: Int, std: Float = 1, generator: inout SeededGenerator) {
        weight = Tensor.normal([count, dimension], std: std, using: &generator, requiresGrad: true)
    }

    public var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

    /// Rows for `ids` laid out as `shape`: the result is `shape + [dimension]`.
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor {
        weight.gather(rows: ids, shape: shape)
    }
}

/// Layer normalisation over the last dimension with a learned scale and shift.
public final class LayerNorm: Module {
    /// Scale, `[dimension]`.
    public let weight: Tensor
    /// Shift, `[dimension]`.
    public let bias: Tensor
    /// Added to the variance.
    public let eps: Float

    /// Scale 1, shift 0.
    public init(_ dimension: Int, eps: Float = 1e-5) {
        weight = Tensor.ones([dimension], requiresGrad: true)
        bias = Tensor.zeros([dimension], requiresGrad: true)
        self.eps = eps
    }

    public var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }

    /// Normalises the last dimension.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}

/// RMS normalisation over the last dimension with a learned scale.
public final class RMSNorm: Module {
    /// Scale, `[dimension]`.
    public let weight: Tensor
    /// Added to the mean square.
    public let eps: Float

    /// Scale 1.
    public init(_ dimension: Int, eps: Float = 1e-6) {
        weight = Tensor.ones([dimension], requiresGrad: true)
        self.eps = eps
    }

    public var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

    /// Normalises the last dimension.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.rmsNorm(weight: weight, eps: eps) }
}

/// The activation functions a configuration can name, with Hugging Face's spellings.
public enum Activation: String, Codable, Sendable, CaseIterable {
    case relu, gelu, tanh, sigmoid
    case geluTanh = "gelu_new"
    case swish, silu

    /// Applies the function.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: return x.relu()
        case .gelu: return x.gelu()
        case .geluTanh: return x.geluTanh()
        case .swish, .silu: return x.silu()
        case .tanh: return x.tanh()
        case .sigmoid: return x.sigmoid()
        }
    }

    /// Reads Hugging Face's other spellings too (`gelu_pytorch_tanh`, `gelu_fast`).
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        switch name {
        case "gelu_pytorch_tanh", "gelu_fast", "gelu_new": self = .geluTanh
        default:
            guard let value = Activation(rawValue: name) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                    "unknown activation \"\(name)\"; known: \(Activation.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            self = value
        }
    }
}

/// Fixed sinusoidal positions in Marian's layout: sines in the first half of each vector, cosines in the second.
public enum SinusoidalPositions {
    /// A `[count, dimension]` table.
    public static func table(count: Int, dimension: Int) -> Tensor {
        let half = dimension / 2
        var values = [Float](repeating: 0, count: count * dimension)
        for pos in 0..<count {
            for j in 0..<half {
                let angle = Double(pos) / Foundation.pow(10_000, 2 * Double(j) / Double(dimension))
                values[pos * dimension + j] = Float(Foundation.sin(angle))
                values[pos * dimension + half + j] = Float(Foundation.cos(angle))
            }
        }
        return Tensor(shape: [count, dimension], scalars: values)
    }
}
