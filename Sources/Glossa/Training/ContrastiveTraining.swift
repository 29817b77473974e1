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
    let q = queries.map(unitVector), c = candidates.map(unitVector)
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

/// In-batch-negatives contrastive training of an embedder on sentence pairs (a sentence and its translation); the
/// pooler is trained through. Validation scores retrieval P@1 both ways on the dev pairs.
public final class ContrastiveObjective: TrainingObjective {
    /// Training pairs as token ids (special tokens added, cut to the embedder's length).
    public let train: [(anchor: [Int], positive: [Int])]
    /// Dev pairs as text.
    public let dev: [(String, String)]
    let scale: Float
    let maxTokens: Int
    let batchSize: Int
    let pad: Int

    /// An objective over `pairs`: batches of at most `batchSize` pairs and `maxTokens` padded tokens per side, the
    /// similarity `scale` of the loss (sentence-transformers uses 20).
    public init(embedder: Embedder, pairs: [(String, String)], dev: [(String, String)], batchSize: Int, scale: Float = 20,
                maxTokens: Int) throws {
        guard batchSize >= 2 else {
            throw GlossaError.invalidInput("contrastive training needs batches of at least 2 pairs (the others are the negatives)")
        }
        train = try pairs.map { (try embedder.tokenize($0.0), try embedder.tokenize($0.1)) }
        guard train.count >= batchSize else {
            throw GlossaError.invalidInput("contrastive training needs at least one full batch: \(train.count) pairs for batches of \(batchSize)")
        }
        self.dev = dev
        self.scale = scale
        self.maxTokens = maxTokens
        self.batchSize = batchSize
        pad = embedder.tokenizer.specialTokens.pad ?? 0
    }

    /// "contrastive".
    public var name: String { "contrastive" }
    /// Pairs.
    public var unit: String { "pairs" }
    /// Mean P@1 of both directions.
    public var primaryMetric: PrimaryMetric? { dev.isEmpty ? nil : PrimaryMetric(name: "p_at_1", higherIsBetter: true) }

    public var batching: ExampleBatching {
        .byTokens(lengths: train.map { Swift.max($0.anchor.count, $0.positive.count) }, maxTokens: maxTokens, maxExamples: batchSize)
    }

    public func network(of model: Embedder) -> any SavableModel { model.model }

    /// The pooled vectors `[B, C]` of tokenised sentences, recorded for backward.
    func pooled(_ sequences: [[Int]], embedder: Embedder, context: ForwardContext) throws -> Tensor {
        let batch = TokenBatch(sequences, padId: pad)
        let states = try embedder.model.encoder.encode(batch, context: context)  // [B, T, C]
        return embedder.pooler.pool(states, batch: batch)
    }

    public func loss(batch: [Int], model: Embedder, context: ForwardContext) throws -> ObjectiveLoss {
        // A batch of one has no negative: nothing to learn from it.
        guard batch.count >= 2 else { return ObjectiveLoss(loss: Tensor(0), count: 0) }
        let anchors = batch.map { train[$0].anchor }, positives = batch.map { train[$0].positive }
        let loss = inBatchNegativesLoss(anchors: try pooled(anchors, embedder: model, context: context),
                                        positives: try pooled(positives, embedder: model, context: context), scale: scale)
        let tokens = anchors.reduce(0) { $0 + $1.count } + positives.reduce(0) { $0 + $1.count }
        return ObjectiveLoss(loss: loss, count: batch.count, tokens: tokens)
    }

    /// P@1 of retrieving each dev sentence's translation among all dev translations, both ways, and their mean.
    public func validate(model: Embedder) throws -> [String: Double] {
        guard !dev.isEmpty else { return [:] }
        let sources = try model.embed(dev.map(\.0)), targets = try model.embed(dev.map(\.1))
        let forward = retrievalPrecisionAtOne(queries: sources, candidates: targets)
        let backward = retrievalPrecisionAtOne(queries: targets, candidates: sources)
        return ["p_at_1_forward": forward, "p_at_1_backward": backward, "p_at_1": (forward + backward) / 2]
    }
}
