import Glossa
import GlossaNN
import GlossaTensor

/// Attention of one decoder state over the encoder's states, with the score function the configuration names:
/// additive vᵀ tanh(W_k h_s + W_q s_t) (Bahdanau et al. 2015), dot s_tᵀ h_s, or general s_tᵀ W_a h_s (Luong et al. 2015).
///
/// Whatever depends only on the encoder (W_k h_s, W_a h_s) is computed once per sentence by `keys(_:)`, so a
/// decoding step costs one pass over the keys and one over the values.
final class RNNAttention: Module {
    let score: AttentionScore
    /// Bahdanau: `key_proj` C → A; general: `key_proj` C → H (W_a applied to the encoder side).
    let keyProjection: Linear?
    /// Bahdanau: `query_proj` H → A.
    let queryProjection: Linear?
    /// Bahdanau: `v` `[A]`.
    let v: Tensor?

    init(_ score: AttentionScore, query: Int, memory: Int, hidden: Int, generator: inout SeededGenerator) {
        self.score = score
        switch score {
        case .bahdanau:
            keyProjection = Linear(memory, hidden, bias: false, generator: &generator)
            queryProjection = Linear(query, hidden, bias: true, generator: &generator)
            let bound = 1 / Float(hidden).squareRoot()
            v = Tensor.uniform([hidden], low: -bound, high: bound, using: &generator, requiresGrad: true)
        case .general:
            keyProjection = Linear(memory, query, bias: false, generator: &generator)
            queryProjection = nil
            v = nil
        case .dot, .none:
            keyProjection = nil
            queryProjection = nil
            v = nil
        }
    }

    var localParameters: [(name: String, tensor: Tensor)] { v.map { [("v", $0)] } ?? [] }

    var children: [(name: String, module: any Module)] {
        (keyProjection.map { [("key_proj", $0 as any Module)] } ?? []) + (queryProjection.map { [("query_proj", $0 as any Module)] } ?? [])
    }

    /// What the scores compare the query with: `[B, S, C]` memory → `[B, S, A]` (or the memory itself for dot).
    func keys(_ memory: Tensor) -> Tensor { keyProjection.map { $0(memory) } ?? memory }

    /// The context vector `[B, C]` for `query` `[B, H]`, from precomputed `keys`, the memory `values` `[B, S, C]`
    /// and the additive padding mask `[B, S]`.
    func callAsFunction(query: Tensor, keys: Tensor, values: Tensor, mask: Tensor) -> Tensor {
        let (b, s) = (keys.shape[0], keys.shape[1])
        let scores: Tensor  // [B, S]
        if let queryProjection, let v {
            let q = queryProjection(query).reshaped([b, 1, -1])  // [B, 1, A]
            scores = (keys + q).tanh().matmul(v.reshaped([-1, 1])).reshaped([b, s])
        } else {
            scores = keys.matmul(query.reshaped([b, -1, 1])).reshaped([b, s])
        }
        let weights = (scores + mask).softmax()  // [B, S]
        return weights.reshaped([b, 1, s]).matmul(values).reshaped([b, -1])  // [B, C]
    }
}
