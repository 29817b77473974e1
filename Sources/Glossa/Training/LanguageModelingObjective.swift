import Foundation
import GlossaNN
import GlossaTensor

/// Next-token negative log-likelihood on sentences (`"objective": "nll"`): each sentence is fed as
/// BOS + tokens and predicts tokens + EOS; the loss is the mean over every predicted token.
public final class LanguageModelingObjective: DecoderObjective {
    /// Training sentences as ids (no BOS/EOS).
    public let train: [[Int]]
    /// Dev sentences as ids.
    public let dev: [[Int]]
    let ids: SequenceSpecialIds
    let maxTokens: Int
    let maxLength: Int
    let labelSmoothing: Float

    /// An objective over tokenised sentences. `maxTokens` bounds the padded tokens of a batch;
    /// sentences with more than `maxLength` tokens (EOS included) are left out of training.
    public init(train: [[Int]], dev: [[Int]], ids: SequenceSpecialIds, maxTokens: Int, maxLength: Int, labelSmoothing: Float = 0) {
        self.train = train
        self.dev = dev
        self.ids = ids
        self.maxTokens = maxTokens
        self.maxLength = maxLength
        self.labelSmoothing = labelSmoothing
    }

    /// "nll".
    public var name: String { "nll" }
    /// Lower dev loss is better.
    public var primaryMetric: PrimaryMetric? { dev.isEmpty ? nil : PrimaryMetric(name: "loss", higherIsBetter: false) }

    public var batching: ExampleBatching {
        .byTokens(lengths: ExampleBatching.capped(train.map { $0.isEmpty ? 0 : $0.count + 1 }, maxLength: maxLength), maxTokens: maxTokens)
    }

    /// Yes: the loss is a sum of per-token terms, nothing is cached between batches.
    public var splitsAcrossThreads: Bool { true }

    public func loss(batch: [Int], model: any DecoderOnlyModel, context: ForwardContext) throws -> ObjectiveLoss {
        let (loss, tokens) = try Self.sequenceLoss(batch.map { train[$0] }, model: model, ids: ids, labelSmoothing: labelSmoothing, context: context)
        return ObjectiveLoss(loss: loss, count: tokens)
    }

    /// Mean NLL per token (no smoothing) and its perplexity over the dev sentences.
    public func validate(model: any DecoderOnlyModel) throws -> [String: Double] {
        guard !dev.isEmpty else { return [:] }
        let limit = Swift.min(maxLength, (model.decoder.maxLength ?? Int.max) - 1)
        let lengths = dev.map { $0.isEmpty ? 0 : Swift.min($0.count, limit) + 1 }
        let plan = ExampleBatcher.epoch(.byTokens(lengths: ExampleBatching.capped(lengths, maxLength: limit + 1), maxTokens: maxTokens), seed: 0, epoch: 0)
        let context = ForwardContext()
        var total = 0.0, tokens = 0
        for batch in plan {
            // Over-long dev sentences are cut rather than dropped, so every run scores the same text.
            let (loss, n) = try Self.sequenceLoss(batch.map { Array(dev[$0].prefix(limit)) }, model: model, ids: ids, labelSmoothing: 0, context: context)
            total += Double(loss.item) * Double(n)
            tokens += n
        }
        let mean = total / Double(Swift.max(tokens, 1))
        return ["loss": mean, "perplexity": Foundation.exp(mean)]
    }

    /// Mean cross-entropy of predicting `sequences` + EOS after BOS, and the number of predicted tokens.
    public static func sequenceLoss(
        _ sequences: [[Int]], model: any DecoderOnlyModel, ids: SequenceSpecialIds, labelSmoothing: Float = 0, context: ForwardContext
    ) throws -> (loss: Tensor, tokens: Int) {
        let input = TokenBatch(sequences.map { [ids.decoderStart] + $0 }, padId: ids.pad)
        let labels = TokenBatch(sequences.map { $0 + [ids.eos] }, padId: -100)
        let logits = try model.decoder.decode(input, memory: nil, state: nil, context: context)  // [B, T, V]
        return Losses.crossEntropy(logits: logits.reshaped([-1, logits.shape[2]]), targets: labels.ids,
                                   labelSmoothing: labelSmoothing, ignoreIndex: -100)
    }
}
