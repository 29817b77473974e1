import GlossaTensor

/// A layer or model: it owns parameters and child modules, each named as in the checkpoint, so that
/// save, load, freeze and update are one walk over one tree (`encoder.layers.0.self_attn.q_proj.weight`).
public protocol Module: AnyObject {
    /// This module's own parameters by local name (`weight`, `bias`).
    var localParameters: [(name: String, tensor: Tensor)] { get }
    /// Child modules by local name (`self_attn`, `layers.0`).
    var children: [(name: String, module: any Module)] { get }
}

extension Module {
    /// No parameters of its own by default.
    public var localParameters: [(name: String, tensor: Tensor)] { [] }
    /// No children by default.
    public var children: [(name: String, module: any Module)] { [] }

    /// Every parameter of the tree with its dotted checkpoint name, in a stable order.
    public func namedParameters(prefix: String = "") -> [(name: String, tensor: Tensor)] {
        var result = localParameters.map { (prefix + $0.name, $0.tensor) }
        for (name, child) in children {
            result += child.namedParameters(prefix: prefix + name + ".")
        }
        return result
    }

    /// Every parameter tensor.
    public var parameters: [Tensor] { namedParameters().map(\.tensor) }

    /// The number of scalars in all parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Forgets every accumulated gradient.
    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }

    /// Turns gradients on or off for every parameter whose name starts with `prefix` (freezing).
    public func setTrainable(_ trainable: Bool, prefix: String = "") {
        for (name, p) in namedParameters() where name.hasPrefix(prefix) { p.requiresGrad = trainable }
    }

    /// The parameters as a name → tensor dictionary (what a checkpoint stores).
    public func stateDictionary() -> [String: Tensor] {
        Dictionary(namedParameters().map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })
    }

    /// Copies values into the parameters by name. Shapes must match; with `strict`, every parameter
    /// must be present and no unknown name may be given.
    public func load(_ state: [String: Tensor], strict: Bool = true) throws {
        let named = namedParameters()
        if strict {
            let known = Set(named.map(\.name))
            let unknown = state.keys.filter { !known.contains($0) }.sorted()
            if !unknown.isEmpty { throw ModuleError.unexpectedParameters(unknown) }
        }
        var missing: [String] = []
        for (name, p) in named {
            guard let value = state[name] else { missing.append(name); continue }
            guard value.shape == p.shape else { throw ModuleError.shapeMismatch(name: name, expected: p.shape, found: value.shape) }
            let values = value.scalars  // read first: `value` may be `p` itself
            p.withMutableScalars { $0 = values }
        }
        if strict && !missing.isEmpty { throw ModuleError.missingParameters(missing) }
    }
}

/// Why a parameter tree could not take a set of values.
public enum ModuleError: Error, CustomStringConvertible, Equatable {
    case missingParameters([String])
    case unexpectedParameters([String])
    case shapeMismatch(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .missingParameters(let names):
            return "the checkpoint lacks \(names.count) parameter(s): \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")"
        case .unexpectedParameters(let names):
            return "the checkpoint has \(names.count) parameter(s) the model does not: \(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")"
        case .shapeMismatch(let name, let expected, let found):
            return "parameter \(name) has shape \(found) in the checkpoint, but the model's configuration needs \(expected)"
        }
    }
}

/// What a forward pass needs besides its inputs: whether it trains (dropout on) and the generator
/// that draws dropout masks, so that a training run repeats bit for bit.
public final class ForwardContext {
    /// Whether dropout is applied.
    public var training: Bool
    /// The source of dropout masks.
    public var generator: SeededGenerator
    /// Where the layers add their time, when decoding is profiled.
    public var profile: StepProfile?

    /// A context; inference (no dropout) by default.
    public init(training: Bool = false, seed: UInt64 = 0) {
        self.training = training
        self.generator = SeededGenerator(seed: seed)
    }

    /// Dropout with probability `p` when training, the identity otherwise.
    public func dropout(_ x: Tensor, _ p: Float) -> Tensor {
        guard training, p > 0 else { return x }
        return x.dropout(p, using: &generator)
    }

    /// `x + dropout(branch, p)`, a residual sum, in one pass when training (the same draws as `dropout`).
    public func residual(_ x: Tensor, plus branch: Tensor, dropout p: Float) -> Tensor {
        guard training, p > 0 else { return x + branch }
        return x.adding(dropout: branch, p, using: &generator)
    }
}
