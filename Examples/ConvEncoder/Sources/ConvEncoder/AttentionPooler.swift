import Glossa
import GlossaNN
import GlossaTensor

/// Attention pooling with a learned query q: weights softmax(q·hₜ/√C) over the real tokens, and the sentence
/// vector is Σₜ wₜ·hₜ. With q = 0 it is mean pooling, which is where training starts.
public final class AttentionPooler: Module, Pooler {
    /// `[C]`.
    public let query: Tensor

    /// A pooler for states of width `width`, its query drawn from N(0, 0.02²).
    public init(width: Int, generator: inout SeededGenerator) {
        query = Tensor.normal([width], std: 0.02, using: &generator, requiresGrad: true)
    }

    /// A pooler with a given query.
    public init(query: [Float]) {
        self.query = Tensor(shape: [query.count], scalars: query, requiresGrad: true)
    }

    public var localParameters: [(name: String, tensor: Tensor)] { [("query", query)] }

    /// `[B, T, C]` → `[B, C]`; padding gets weight exactly 0.
    public func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        let (b, t, c) = (states.shape[0], states.shape[1], states.shape[2])
        let hide = Tensor(shape: [b, t], scalars: batch.mask.map { $0 ? 0 : -1e9 })
        let scores = states.matmul(query.reshaped([c, 1])).reshaped([b, t]) * (1 / Float(c).squareRoot()) + hide  // [B, T]
        let weights = scores.softmax().reshaped([b, 1, t])  // [B, 1, T]
        return weights.matmul(states).reshaped([b, c])  // [B, C]
    }
}
