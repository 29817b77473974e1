import Foundation
import GlossaNN
import GlossaTensor

// Training: one loop, pluggable objectives.
//
//   TrainingObjective (what you write)            Trainer (the one loop)
//   ───────────────────────────────────────       ─────────────────────────────────────────────────────
//   batching → lengths (or groups) of examples     batches by tokens, length-bucketed, seeded per epoch;
//   loss(batch:model:context:) → ObjectiveLoss     the budget (steps, minutes, target tokens), the optimizer
//   validate(model:) → [String: Double]            and schedule from the settings, clipping, accumulation,
//   primaryMetric (keep-best), didUpdate(…)        validation, checkpoints (atomic, resumable), keep-best,
//                                                  averaging, progress as events.
//
// An objective owns its data (sentence pairs, token sequences, prompt/response pairs, preference triples,
// prompts with a reward) and anything else it needs (a frozen reference model, a sampler). The trainer only
// asks it for the lengths of its examples, one scalar loss per batch, and dev metrics.
//
//   let objective = try LanguageModelingObjective(train: ..., dev: ..., ids: model.specialIds, ...)
//   let trainer = Trainer(model: model, objective: objective, settings: recipe.training, directory: outputURL)
//   let result = try trainer.run { event in print(event) }
//   let note = try trainer.chooseFinalWeights()
//
// Gradients: the loop back-propagates `loss × count` of each batch and divides the summed gradient by the
// total count of the update, so an update's gradient is that of the mean over all its units (tokens for
// NLL/SFT/translation, pairs for DPO and contrastive, sampled outputs for GRPO) however they fall into batches.

/// What an objective returns for one batch.
public struct ObjectiveLoss {
    /// A scalar: the mean loss over the batch's `count` units (on the tape, for `backward`).
    public var loss: Tensor
    /// How many units the mean is over (tokens, pairs, samples); weights the batch within an update.
    public var count: Int
    /// Target tokens trained on (the `target_tokens` budget counts these); `count` when the units are tokens.
    public var tokens: Int
    /// Extra numbers to log, each a mean over the batch (accuracy, reward, KL, …).
    public var metrics: [String: Double]

    /// A batch result.
    public init(loss: Tensor, count: Int, tokens: Int? = nil, metrics: [String: Double] = [:]) {
        self.loss = loss
        self.count = count
        self.tokens = tokens ?? count
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

/// How an objective's training examples are cut into batches (`ExampleBatcher` does the cutting).
public enum ExampleBatching: Sendable {
    /// Batches of at most `maxTokens` padded tokens (and at most `maxExamples` examples), cut from examples sorted by
    /// `sortKeys` (by default `lengths`, the padded tokens each example costs; 0 leaves an example out). With a
    /// `mixture`, an epoch holds the examples it draws for that epoch (a task mixture) instead of every example once.
    case byTokens(lengths: [Int], maxTokens: Int, maxExamples: Int? = nil, sortKeys: [Int]? = nil, mixture: ExampleMixture? = nil)
    /// Shuffled batches of `size` of the `count` examples, each batch given `repeats` times in a row (GRPO reuses a
    /// rollout for several updates).
    case bySize(count: Int, size: Int, repeats: Int = 1)
}

/// A training objective: the loss of a batch of examples, and dev metrics, for a model of type `Model`.
public protocol TrainingObjective: AnyObject {
    /// What the objective trains: `any DecoderOnlyModel`, a `Translator`, an `Embedder`.
    associatedtype Model
    /// A short name for logs (`translation`, `nll`, `sft`).
    var name: String { get }
    /// The unit `ObjectiveLoss.count` counts, for the progress line (`tokens`, `pairs`).
    var unit: String { get }
    /// How the training examples are batched; computed once per run.
    var batching: ExampleBatching { get }
    /// The network whose parameters the trainer updates, checkpoints and averages.
    func network(of model: Model) -> any SavableModel
    /// The loss of one batch of example indices, with gradients recorded (the trainer calls `backward`).
    func loss(batch: [Int], model: Model, context: ForwardContext) throws -> ObjectiveLoss
    /// Dev metrics, computed without gradients or dropout (`loss`, `perplexity`, `chrf`, …).
    func validate(model: Model) throws -> [String: Double]
    /// The dev metric that picks the best checkpoint; `nil` keeps none.
    var primaryMetric: PrimaryMetric? { get }
    /// Whether the run validates before the first update too (the starting point of the curves).
    var validatesAtStart: Bool { get }
    /// Called after each optimizer update (refresh a sampling policy, anneal a coefficient).
    func didUpdate(step: Int, model: Model) throws
    /// Whether a batch's loss is a sum over its examples that `loss` may compute on several threads at once, so the
    /// trainer can split each batch into one shard per thread, run each shard's forward and backward on a thread of
    /// its own and add the gradients (no intra-product splitting, no idle core between products).
    var splitsAcrossThreads: Bool { get }
}

extension TrainingObjective {
    /// Tokens by default.
    public var unit: String { "tokens" }
    /// Yes by default.
    public var validatesAtStart: Bool { true }
    /// Nothing to do by default.
    public func didUpdate(step: Int, model: Model) throws {}
    /// No by default: the loss couples a batch's examples (in-batch negatives, group baselines) or keeps state.
    public var splitsAcrossThreads: Bool { false }
}

/// An objective for a decoder-only model (next-token NLL, SFT, DPO, GRPO, …).
public protocol DecoderObjective: TrainingObjective where Model == any DecoderOnlyModel {}

extension DecoderObjective {
    /// The model itself.
    public func network(of model: any DecoderOnlyModel) -> any SavableModel { model }
}

/// An objective that leaves files beside the trained model (plots, curves), written with the model.
public protocol ReportingObjective {
    /// File name → contents; `history` is the trainer's records, kept across resumes.
    func reportFiles(history: [TrainingRecord]) throws -> [String: Data]
}

extension ReportingObjective {
    /// One line of the records' `dev` (or, with `train`, `trainMetrics`) value `key`, by step.
    func series(_ name: String, _ key: String, train: Bool = false, in history: [TrainingRecord]) -> LinePlot.Series? {
        let points = history.compactMap { r in (train ? r.trainMetrics[key] : r.dev[key]).map { (x: Double(r.step), y: $0) } }
        return points.isEmpty ? nil : LinePlot.Series(name: name, points: points)
    }
}
