import GlossaTensor

// The pooling modes of sentence-transformers' `Pooling` module (`pooling_mode_*_tokens`), each computed
// over the real tokens only, so padding never changes a pooled vector. Built from differentiable ops so
// that an embedder can be trained through them.

/// Σ over real tokens of `weights[b, t] · states[b, t, :]` → `[B, C]`; `weights` is `[B, T, 1]`.
func weightedSum(_ states: Tensor, _ weights: Tensor) -> Tensor {
    (states * weights).sum(axis: 1)  // [B, C]
}

/// `[B, 1]` from one value per sequence.
func column(_ values: [Float]) -> Tensor { Tensor(shape: [values.count, 1], scalars: values) }

/// The mean of the real tokens' states (`pooling_mode_mean_tokens`).
public struct MeanPooler: Pooler {
    /// A mean pooler.
    public init() {}
    public func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        // sentence-transformers clamps the count at 1e-9 so an empty row gives zeros, not NaN.
        weightedSum(states, batch.maskTensor) * column(batch.lengths.map { 1 / Swift.max(Float($0), 1e-9) })
    }
}

/// The sum of the real tokens' states divided by √length (`pooling_mode_mean_sqrt_len_tokens`).
public struct MeanSqrtLengthPooler: Pooler {
    /// A mean-√length pooler.
    public init() {}
    public func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        weightedSum(states, batch.maskTensor) * column(batch.lengths.map { 1 / Swift.max(Float($0), 1e-9).squareRoot() })
    }
}

/// The position-weighted mean of the real tokens (`pooling_mode_weightedmean_tokens`): token t (from 1)
/// has weight t, so later tokens count more (SGPT, Muennighoff 2022).
public struct WeightedMeanPooler: Pooler {
    /// A weighted-mean pooler.
    public init() {}
    public func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        let t = batch.length
        let weights = batch.mask.enumerated().map { $0.element ? Float($0.offset % t + 1) : 0 }
        let totals = batch.lengths.map { n in Swift.max(Float(n * (n + 1) / 2), 1e-9) }
        return weightedSum(states, Tensor(shape: [batch.batchSize, t, 1], scalars: weights)) * column(totals.map { 1 / $0 })
    }
}

/// The element-wise maximum over the real tokens (`pooling_mode_max_tokens`).
public struct MaxPooler: Pooler {
    /// A max pooler.
    public init() {}
    public func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        // Padding is set to -1e9 first, as sentence-transformers does.
        let padding = Tensor(shape: [batch.batchSize, batch.length, 1], scalars: batch.mask.map { $0 ? 0 : 1 })
        return states.maskedFill(padding, with: -1e9).max(axis: 1)  // [B, C]
    }
}

/// The first token's state (`pooling_mode_cls_token`: BERT's `[CLS]`).
public struct FirstTokenPooler: Pooler {
    /// A first-token pooler.
    public init() {}
    public func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        states.slice(axis: 1, 0..<1).reshaped([states.shape[0], states.shape[2]])
    }
}

/// The last real token's state (`pooling_mode_lasttoken`), for causal encoders whose last position has seen all.
public struct LastTokenPooler: Pooler {
    /// A last-token pooler.
    public init() {}
    public func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        let (b, t, c) = (states.shape[0], states.shape[1], states.shape[2])
        let rows = batch.lengths.enumerated().map { $0.offset * t + Swift.max($0.element - 1, 0) }
        return states.reshaped([b * t, c]).indexSelect(axis: 0, rows)
    }
}

/// Several poolers side by side, their vectors concatenated in order (sentence-transformers does this
/// when more than one `pooling_mode_*` flag is on).
public struct ConcatenatedPooler: Pooler {
    /// The poolers, in output order.
    public var parts: [any Pooler]
    /// A pooler whose vector is the parts' vectors one after another.
    public init(_ parts: [any Pooler]) { self.parts = parts }
    public func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        if parts.count == 1 { return parts[0].pool(states, batch: batch) }
        return Tensor.concat(parts.map { $0.pool(states, batch: batch) }, axis: 1)
    }
}

/// Another pooler's vectors scaled to unit L2 length (sentence-transformers' `Normalize`).
public struct NormalizedPooler: Pooler {
    /// The pooler whose output is normalised.
    public var base: any Pooler
    /// `base` followed by L2 normalisation.
    public init(_ base: any Pooler) { self.base = base }
    public func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        l2Normalized(base.pool(states, batch: batch))
    }
}

/// Rows of `[B, C]` divided by their L2 norms (at least 1e-12, as `torch.nn.functional.normalize`); the autograd
/// version of `unitVector`, with the same rule.
public func l2Normalized(_ x: Tensor) -> Tensor {
    let norms = (x * x).sum(axis: 1, keepDims: true).sqrt().clamp(smallestNorm, .greatestFiniteMagnitude)  // [B, 1]
    return x / norms
}

/// `v` divided by its L2 norm, at least 1e-12: `l2Normalized` for one plain vector (cosine similarity on embeddings),
/// so a zero vector stays zero and vectors compare alike whichever of the two made them.
public func unitVector(_ v: [Float]) -> [Float] {
    let norm = Swift.max(v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), smallestNorm)
    return v.map { $0 / norm }
}

/// torch's `normalize` eps: a floor, not an offset, so a vector's direction is kept down to tiny norms.
private let smallestNorm: Float = 1e-12
