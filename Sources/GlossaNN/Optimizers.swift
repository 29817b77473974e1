import Foundation
import GlossaTensor

/// Updates parameters from their gradients. State is kept per parameter name so that it can be
/// saved beside a checkpoint and restored on resume.
public protocol Optimizer {
    /// One update of every named parameter that has a gradient, at learning rate `learningRate`.
    mutating func step(_ parameters: [(name: String, tensor: Tensor)], learningRate: Float)
    /// The optimizer's state as named tensors (moments, step counts) for checkpoints.
    func state() -> [String: Tensor]
    /// Restores the state saved by `state()`.
    mutating func restore(_ state: [String: Tensor]) throws
}

/// Stochastic gradient descent with optional momentum.
public struct SGD: Optimizer {
    /// Momentum coefficient; 0 disables it.
    public var momentum: Float
    private var velocity: [String: [Float]] = [:]

    /// Plain SGD, or heavy-ball momentum when `momentum` > 0.
    public init(momentum: Float = 0) { self.momentum = momentum }

    public mutating func step(_ parameters: [(name: String, tensor: Tensor)], learningRate: Float) {
        for (name, p) in parameters {
            guard p.requiresGrad, let g = p.grad?.scalars else { continue }
            var v = velocity[name] ?? [Float](repeating: 0, count: g.count)
            p.withMutableScalars { w in
                for i in 0..<w.count {
                    v[i] = momentum * v[i] + g[i]
                    w[i] -= learningRate * v[i]
                }
            }
            if momentum > 0 { velocity[name] = v }
        }
    }

    public func state() -> [String: Tensor] {
        velocity.mapValues { Tensor(shape: [$0.count], scalars: $0) }
    }

    public mutating func restore(_ state: [String: Tensor]) throws {
        velocity = state.mapValues(\.scalars)
    }
}

/// Adam with bias correction; with `weightDecay` > 0 the decay is decoupled from the gradient (AdamW).
public struct Adam: Optimizer {
    /// Exponential decay rates of the first and second moments.
    public var beta1, beta2: Float
    /// Added to the root of the second moment.
    public var epsilon: Float
    /// Decoupled weight decay (AdamW); 0 gives plain Adam.
    public var weightDecay: Float
    private var firstMoment: [String: [Float]] = [:]
    private var secondMoment: [String: [Float]] = [:]
    /// The number of steps taken.
    public private(set) var steps = 0

    /// Adam (β₁, β₂, ε) with optional decoupled weight decay.
    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public mutating func step(_ parameters: [(name: String, tensor: Tensor)], learningRate: Float) {
        steps += 1
        let correction1 = 1 - Foundation.pow(beta1, Float(steps)), correction2 = 1 - Foundation.pow(beta2, Float(steps))
        let stepSize = learningRate / correction1
        let (b1, b2, eps, decay) = (beta1, beta2, epsilon, weightDecay)
        for (name, p) in parameters {
            guard p.requiresGrad, let grad = p.grad else { continue }
            // Taken out of the dictionaries while updated, so the moments change in place rather than being copied.
            var m = firstMoment.removeValue(forKey: name) ?? [Float](repeating: 0, count: p.count)
            var v = secondMoment.removeValue(forKey: name) ?? [Float](repeating: 0, count: p.count)
            let rootCorrection2 = correction2.squareRoot(), count = p.count
            grad.scalars.withUnsafeBufferPointer { g in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        p.withMutableScalars { w in
                            w.withUnsafeMutableBufferPointer { w in
                                guard let g = g.baseAddress, let m = m.baseAddress, let v = v.baseAddress, let w = w.baseAddress else { return }
                                parallelChunks(count, cost: 16) { range in
                                    for i in range {
                                        m[i] = b1 * m[i] + (1 - b1) * g[i]
                                        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                                        if decay > 0 { w[i] -= learningRate * decay * w[i] }
                                        w[i] -= stepSize * m[i] / (v[i].squareRoot() / rootCorrection2 + eps)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            firstMoment[name] = m
            secondMoment[name] = v
        }
    }

    public func state() -> [String: Tensor] {
        var result: [String: Tensor] = ["steps": Tensor(Float(steps))]
        for (name, m) in firstMoment { result["m." + name] = Tensor(shape: [m.count], scalars: m) }
        for (name, v) in secondMoment { result["v." + name] = Tensor(shape: [v.count], scalars: v) }
        return result
    }

    public mutating func restore(_ state: [String: Tensor]) throws {
        guard let count = state["steps"] else { throw OptimizerError.missingState("steps") }
        steps = Int(count.scalars.first ?? 0)
        firstMoment = [:]
        secondMoment = [:]
        for (key, value) in state {
            if key.hasPrefix("m.") { firstMoment[String(key.dropFirst(2))] = value.scalars }
            if key.hasPrefix("v.") { secondMoment[String(key.dropFirst(2))] = value.scalars }
        }
    }
}

/// Why optimizer state could not be restored.
public enum OptimizerError: Error, CustomStringConvertible {
    case missingState(String)

    public var description: String {
        switch self {
        case .missingState(let key): return "the optimizer state in the checkpoint lacks \"\(key)\""
        }
    }
}

/// Scales all gradients so that their global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters { if let g = p.grad { for x in g.scalars { total += Double(x) * Double(x) } } }
    let norm = Float(total.squareRoot())
    if norm > maxNorm, norm.isFinite {
        let scale = maxNorm / (norm + 1e-6)
        for p in parameters {
            guard let g = p.grad else { continue }
            p.zeroGrad()
            p.accumulateGrad(g * scale)
        }
    }
    return norm
}
