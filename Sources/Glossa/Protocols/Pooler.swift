import GlossaTensor

/// Turns the hidden states of a batch into one vector per sequence, ignoring padding.
public protocol Pooler {
    /// `[B, T, C]` states and their batch → `[B, C']`.
    func pool(_ states: Tensor, batch: TokenBatch) -> Tensor
}
