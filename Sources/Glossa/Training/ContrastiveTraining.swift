import Foundation
import GlossaNN
import GlossaTensor

// Contrastive training of an embedder on pairs (a sentence and its translation): in-batch negatives, as
// sentence-transformers' MultipleNegativesRankingLoss (Henderson et al. 2017, "Efficient Natural Language
// Response Suggestion"): row i of the batch must pick its own positive among all positives of the batch.

/// The in-batch-negatives loss of `anchors` and `positives` (`[B, C]` each, row i a positive pair):
/// cross-entropy of `scale` · cosine similarities `[B, B]` against the diagonal, averaged over rows;
/// `symmetric` adds the same loss from the positives' side and halves the sum.
public func inBatchNegativesLoss(anchors: Tensor, positives: Tensor, scale: Float = 20, symmetric: Bool = true) -> Tensor {
    let a = l2Normalized(anchors), p = l2Normalized(positives)
    let b = anchors.shape[0]
    let targets = Array(0..<b)
    let logits = a.matmul(p, transposeOther: true) * scale  // [B, B]
    let forward = logits.crossEntropyRows(targets: targets).mean()
    guard symmetric else { return forward }
    let backward = logits.transposed().crossEntropyRows(targets: targets).mean()
    return (forward + backward) * 0.5
}

/// The share of queries whose most similar candidate (cosine) is the one at the same index: P@1 of
/// retrieving each sentence's translation among all candidates.
public func retrievalPrecisionAtOne(queries: [[Float]], candidates: [[Float]]) -> Double {
    guard !queries.isEmpty, queries.count == candidates.count else { return 0 }
    func unit(_ v: [Float]) -> [Float] {
        let n = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }
    let q = queries.map(unit), c = candidates.map(unit)
    var hits = 0
    for (i, query) in q.enumerated() {
        var best = -Float.infinity, bestIndex = -1
        for (j, candidate) in c.enumerated() {
            let score = zip(query, candidate).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            if score > best { best = score; bestIndex = j }
        }
        if bestIndex == i { hits += 1 }
    }
    return Double(hits) / Double(q.count)
}

/// Trains an embedder's encoder on sentence pairs with the in-batch-negatives loss.
public final class ContrastiveTrainer {
    /// The embedder whose encoder is trained (its pooler is trained through).
    public let embedder: Embedder
    /// Updates the parameters.
    public var optimizer: Adam
    /// The learning rate per step.
    public var schedule: LearningRateSchedule
    /// The similarity scale of the loss (sentence-transformers uses 20).
    public var scale: Float
    /// Global gradient-norm limit; 0 turns clipping off.
    public var clipNorm: Float
    /// Dropout masks come from here, so that a run repeats under a seed.
    public let context: ForwardContext
    /// Steps taken so far.
    public internal(set) var step = 0
    /// Real (unpadded) tokens embedded so far, for throughput.
    public internal(set) var tokensSeen = 0

    /// A trainer with AdamW-style defaults.
    public init(embedder: Embedder, schedule: LearningRateSchedule, weightDecay: Float = 0.01, scale: Float = 20, clipNorm: Float = 1, seed: UInt64 = 0) {
        self.embedder = embedder
        self.optimizer = Adam(weightDecay: weightDecay)
        self.schedule = schedule
        self.scale = scale
        self.clipNorm = clipNorm
        self.context = ForwardContext(training: true, seed: seed)
    }

    /// The pooled vectors `[B, C]` of `texts`, recorded for backward.
    func pooled(_ texts: [String]) throws -> Tensor {
        let pad = embedder.tokenizer.specialTokens.pad ?? 0
        let batch = TokenBatch(try texts.map { try embedder.tokenize($0) }, padId: pad)
        tokensSeen += batch.lengths.reduce(0, +)
        let states = try embedder.model.encoder.encode(batch, context: context)  // [B, T, C]
        return embedder.pooler.pool(states, batch: batch)
    }

    /// One update on a batch of pairs; returns the loss before the update.
    @discardableResult
    public func train(on pairs: [(String, String)]) throws -> Float {
        guard pairs.count >= 2 else { throw GlossaError.invalidInput("contrastive training needs at least 2 pairs per batch (the others are the negatives)") }
        let model = embedder.model
        model.zeroGrad()
        let loss = inBatchNegativesLoss(anchors: try pooled(pairs.map(\.0)), positives: try pooled(pairs.map(\.1)), scale: scale)
        loss.backward()
        if clipNorm > 0 { clipGradientNorm(model.parameters, maxNorm: clipNorm) }
        step += 1
        optimizer.step(model.namedParameters(), learningRate: schedule.rate(at: step))
        model.didUpdateParameters()
        return loss.item
    }
}
