import Foundation
import GlossaNN
import GlossaTensor

// Training decoder-only models: one loop, pluggable objectives.
//
//   DecoderObjective (a class you write)     DecoderTrainer (the shared loop)
//   ─────────────────────────────────────    ───────────────────────────────────────────────────
//   epochPlan(epoch:seed:) → [[Int]]          Adam + warmup/inverse-√ schedule, clipping,
//   loss(batch:model:context:) → ObjectiveLoss  accumulation over `accumulate` batches,
//   validate(model:) → [String: Double]       checkpoints every `checkpoint_every` (atomic, resumable,
//   primaryMetric (keep-best), didUpdate(…)   Ctrl-C saves), validation every `validate_every`,
//                                             keep-best by the primary metric, averaging of the last
//                                             `average_last` checkpoints, progress on stderr.
//
// An objective owns its data (token sequences, prompt/response pairs, preference triples, prompts
// with a reward) and anything else it needs (a frozen reference model, a sampler). The trainer only
// asks it for batches of example indices, one scalar loss per batch, and dev metrics.
//
//   let objective = try LanguageModelingObjective(train: ..., dev: ..., ids: model.specialIds, ...)
//   let trainer = DecoderTrainer(model: model, objective: objective, settings: recipe.training,
//                                directory: outputURL, log: log)
//   let history = try trainer.run(resume: false, shouldStop: { interrupted })
//   let note = try trainer.chooseFinalWeights()
//
// Gradients: the loop back-propagates `loss × count` of each batch and divides the summed gradient by
// the total count of the update, so an update's gradient is that of the mean over all its units
// (tokens for NLL/SFT, pairs for DPO, sampled outputs for GRPO) however they fall into batches.

/// What an objective returns for one batch.
public struct ObjectiveLoss {
    /// A scalar: the mean loss over the batch's `count` units (on the tape, for `backward`).
    public var loss: Tensor
    /// How many units the mean is over (tokens, pairs, samples); weights the batch within an update.
    public var count: Int
    /// Extra numbers to log, each a mean over the batch (accuracy, reward, KL, …).
    public var metrics: [String: Double]

    /// A batch result.
    public init(loss: Tensor, count: Int, metrics: [String: Double] = [:]) {
        self.loss = loss
        self.count = count
        self.metrics = metrics
    }
}

/// Which dev metric picks the best checkpoint, and in which direction.
public struct PrimaryMetric: Sendable, Equatable, Codable {
    /// The key in `validate`'s dictionary.
    public var name: String
    /// Whether larger values are better (chrF, accuracy) or smaller (loss).
    public var higherIsBetter: Bool

    /// A metric and its direction.
    public init(name: String, higherIsBetter: Bool) {
        self.name = name
        self.higherIsBetter = higherIsBetter
    }

    /// Whether `value` beats `best` (anything beats nothing).
    public func improves(_ value: Double, over best: Double?) -> Bool {
        guard let best else { return true }
        return higherIsBetter ? value > best : value < best
    }
}

/// A training objective for a decoder-only model (next-token NLL, SFT, DPO, GRPO, …).
public protocol DecoderObjective: AnyObject {
    /// A short name for logs (`nll`, `sft`).
    var name: String { get }
    /// The unit `ObjectiveLoss.count` counts, for the progress line (`tokens`, `pairs`).
    var unit: String { get }
    /// The batches of one epoch as indices into the objective's training examples; must depend
    /// only on (`epoch`, `seed`) so that a resumed run sees the same order.
    func epochPlan(epoch: Int, seed: UInt64) -> [[Int]]
    /// The loss of one batch, with gradients recorded (the trainer calls `backward`).
    func loss(batch: [Int], model: any DecoderOnlyModel, context: ForwardContext) throws -> ObjectiveLoss
    /// Dev metrics, computed without gradients or dropout (`dev_loss`, `perplexity`, `chrf`, …).
    func validate(model: any DecoderOnlyModel) throws -> [String: Double]
    /// The dev metric that picks the best checkpoint; `nil` keeps none.
    var primaryMetric: PrimaryMetric? { get }
    /// Called after each optimizer update (refresh a sampling policy, anneal a coefficient).
    func didUpdate(step: Int, model: any DecoderOnlyModel) throws
}

extension DecoderObjective {
    /// Tokens by default.
    public var unit: String { "tokens" }
    /// Nothing to do by default.
    public func didUpdate(step: Int, model: any DecoderOnlyModel) throws {}
}

/// Batches of example indices of at most `maxTokens` padded tokens each, cut from length-sorted
/// examples and shuffled; the plan of epoch e depends only on (seed, e). Objectives share it.
public enum LengthBatching {
    /// One epoch's batches of the examples whose `lengths` are in 1...maxLength.
    public static func epoch(lengths: [Int], maxTokens: Int, maxLength: Int, seed: UInt64, epoch: Int) -> [[Int]] {
        var rng = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        var indices = lengths.indices.filter { lengths[$0] > 0 && lengths[$0] <= maxLength }
        indices.shuffle(using: &rng)
        // Stable sort after a shuffle: equal lengths come in a fresh random order each epoch.
        indices = indices.enumerated().sorted { a, b in
            lengths[a.element] != lengths[b.element] ? lengths[a.element] < lengths[b.element] : a.offset < b.offset
        }.map(\.element)
        var batches: [[Int]] = []
        var current: [Int] = []
        var longest = 0
        for i in indices {
            if !current.isEmpty && (current.count + 1) * Swift.max(longest, lengths[i]) > maxTokens {
                batches.append(current)
                current = []
                longest = 0
            }
            current.append(i)
            longest = Swift.max(longest, lengths[i])
        }
        if !current.isEmpty { batches.append(current) }
        batches.shuffle(using: &rng)
        return batches
    }
}
