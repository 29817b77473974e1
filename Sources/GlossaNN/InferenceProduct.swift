import GlossaTensor

/// The arithmetic of a model's matrix products at inference: float32 as trained (the weights packed once for the
/// batch-invariant kernel, `PackedMatrix`), or int8 with weights quantized per output channel and activations per row
/// (`QuantizedMatrix`, through oneDNN).
public enum ComputeType: String, Sendable, CaseIterable, Codable {
    case float32, int8

    /// The product standing in for `x · weightᵀ + bias` at inference. It holds a copy of the weight as it is now:
    /// weights changed later (training) are not seen, so only models that are done training are prepared.
    public func product(weight: Tensor, bias: Tensor?) throws -> any InferenceProduct {
        switch self {
        case .float32: PackedMatrix(weight: weight, bias: bias)
        case .int8: try QuantizedMatrix(weight: weight, bias: bias)
        }
    }
}

extension Module {
    /// Every `Linear` in the tree, in parameter order.
    public func linearLayers() -> [Linear] {
        var found: [Linear] = []
        func walk(_ module: any Module) {
            if let linear = module as? Linear { found.append(linear) }
            for (_, child) in module.children { walk(child) }
        }
        walk(self)
        return found
    }

    /// Gives every `Linear` in the tree the inference product of `computeType`.
    public func prepareLinearLayers(for computeType: ComputeType) throws {
        for linear in linearLayers() { linear.inferenceProduct = try computeType.product(weight: linear.weight, bias: linear.bias) }
    }
}
