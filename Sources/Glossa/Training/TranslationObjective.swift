import Foundation
import GlossaNN
import GlossaTensor

/// Label-smoothed cross-entropy of a translator on sentence pairs (`glossa train` on an encoder-decoder plugin);
/// validation scores dev cross-entropy (teacher forced, no smoothing) and chrF of greedy translations.
public final class TranslationObjective: TrainingObjective {
    /// The training pairs.
    public let train: ParallelData
    /// The dev pairs, if any.
    public let dev: ParallelData?
    let ids: SequenceSpecialIds
    let maxTokens: Int
    let trainingLength: Int
    let positionLimit: Int
    let labelSmoothing: Float
    let validationLines: Int

    /// An objective for `translator` over `train`: batches of at most `settings.maxTokens` padded tokens, pairs with a
    /// side of `settings.maxLength` tokens or more (or past the position tables) left out; chrF on the first
    /// `settings.validationLines` dev pairs.
    public init(translator: Translator, train: ParallelData, dev: ParallelData?, settings: TrainingSettings) {
        self.train = train
        self.dev = dev
        let model = translator.model
        ids = model.specialIds
        maxTokens = settings.maxTokens
        positionLimit = Swift.min(model.encoder.maxLength ?? Int.max, model.decoder.maxLength ?? Int.max)
        trainingLength = Swift.min(settings.maxLength, positionLimit)
        labelSmoothing = settings.labelSmoothing
        validationLines = settings.validationLines
    }

    /// "translation".
    public var name: String { "translation" }
    /// Dev chrF when chrF is measured, else dev loss.
    public var primaryMetric: PrimaryMetric? {
        guard dev != nil else { return nil }
        return validationLines > 0 ? PrimaryMetric(name: "chrf", higherIsBetter: true) : PrimaryMetric(name: "loss", higherIsBetter: false)
    }
    /// A random model's greedy translations say nothing and take long: the curve starts at the first validation.
    public var validatesAtStart: Bool { false }

    /// Pairs sorted by target length, then source length: a batch's targets are nearly all of one length, so little of
    /// the decoder's work (the most per token) goes to padding.
    public var batching: ExampleBatching {
        .byTokens(lengths: Self.lengths(train, limit: trainingLength), maxTokens: maxTokens,
                  sortKeys: train.source.indices.map { train.target[$0].count * 100_000 + train.source[$0].count })
    }

    public func network(of model: Translator) -> any SavableModel { model.model }

    /// Each pair's padded cost (its longer side plus EOS); 0 for pairs with an empty side or a side of `limit` or more.
    static func lengths(_ data: ParallelData, limit: Int) -> [Int] {
        data.source.indices.map { i in
            let s = data.source[i].count, t = data.target[i].count
            return s == 0 || t == 0 || s >= limit || t >= limit ? 0 : Swift.max(s, t) + 1
        }
    }

    /// Yes: the loss is a sum of per-token terms, nothing is cached between batches.
    public var splitsAcrossThreads: Bool { true }

    public func loss(batch: [Int], model: Translator, context: ForwardContext) throws -> ObjectiveLoss {
        let (loss, tokens) = try Self.batchLoss(batch, data: train, model: model.model, smoothing: labelSmoothing, context: context)
        return ObjectiveLoss(loss: loss, count: tokens)
    }

    /// Mean label-smoothed cross-entropy of a batch of pairs, and its target token count.
    static func batchLoss(_ batch: [Int], data: ParallelData, model: any EncoderDecoderModel, smoothing: Float,
                          context: ForwardContext) throws -> (Tensor, Int) {
        let ids = model.specialIds
        let (source, decoderInput, labels) = Profiler.within("data") {
            (TokenBatch(batch.map { data.source[$0] + [ids.eos] }, padId: ids.pad),
             TokenBatch(batch.map { [ids.decoderStart] + data.target[$0] }, padId: ids.pad),
             TokenBatch(batch.map { data.target[$0] + [ids.eos] }, padId: -100))
        }
        let states = try model.encoder.encode(source, context: context)
        let logits = try model.decoder.decode(decoderInput, memory: EncoderMemory(states: states, source: source), state: nil, context: context)
        return Losses.crossEntropy(logits: logits.reshaped([-1, logits.shape[2]]), targets: labels.ids,
                                   labelSmoothing: smoothing, ignoreIndex: -100)
    }

    /// Dev cross-entropy per token (`loss`) and, with validation lines, chrF of greedy translations (`chrf`).
    public func validate(model: Translator) throws -> [String: Double] {
        guard let dev else { return [:] }
        let context = ForwardContext()
        var total = 0.0, tokens = 0
        let plan = ExampleBatcher.epoch(.byTokens(lengths: Self.lengths(dev, limit: positionLimit), maxTokens: maxTokens), seed: 0, epoch: 0)
        for batch in plan {
            let (loss, n) = try Self.batchLoss(batch, data: dev, model: model.model, smoothing: 0, context: context)
            total += Double(loss.item) * Double(n)
            tokens += n
        }
        var metrics = ["loss": total / Double(Swift.max(tokens, 1))]
        if validationLines > 0 {
            let sample = dev.prefix(validationLines)
            let outputs = try model.translate(sample.sourceText, sampler: GreedySampler(), batchSize: 64)
            metrics["chrf"] = try ChrF().corpusScore(hypotheses: outputs.map { $0[0].text }, references: sample.targetText).score
        }
        return metrics
    }
}
