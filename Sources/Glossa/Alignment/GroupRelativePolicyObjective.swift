import Foundation
import GlossaNN
import GlossaTensor

/// The settings of GRPO, read from the recipe's `"grpo"` block.
public struct GRPOSettings: Codable, Sendable, Equatable {
    /// Outputs sampled per prompt (G).
    public var groupSize: Int = 8
    /// Prompts per batch; a batch holds `promptsPerBatch` × G outputs.
    public var promptsPerBatch: Int = 4
    /// The longest sampled output.
    public var maxNewTokens: Int = 16
    /// Sampling temperature of the rollouts.
    public var temperature: Float = 1
    /// ε of the clipped ratio.
    public var clip: Float = 0.2
    /// β of the KL penalty to the reference.
    public var klCoefficient: Float = 0.04
    /// Updates made on each batch of rollouts (μ); the first is on-policy, later ones are clipped.
    public var updatesPerRollout: Int = 1
    /// What a group's centred rewards are divided by (`scale_rewards`).
    public var scaleRewards: AlignmentLosses.RewardScale = .group

    /// The keys of the "grpo" block these settings read.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case groupSize = "group_size", promptsPerBatch = "prompts_per_batch", maxNewTokens = "max_new_tokens"
        case temperature, clip, klCoefficient = "kl_coefficient", updatesPerRollout = "updates_per_rollout"
        case scaleRewards = "scale_rewards"
    }

    /// The defaults.
    public init() {}

    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = GRPOSettings()
        groupSize = try c.decodeIfPresent(Int.self, forKey: .groupSize) ?? d.groupSize
        promptsPerBatch = try c.decodeIfPresent(Int.self, forKey: .promptsPerBatch) ?? d.promptsPerBatch
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? d.maxNewTokens
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? d.temperature
        clip = try c.decodeIfPresent(Float.self, forKey: .clip) ?? d.clip
        klCoefficient = try c.decodeIfPresent(Float.self, forKey: .klCoefficient) ?? d.klCoefficient
        updatesPerRollout = try c.decodeIfPresent(Int.self, forKey: .updatesPerRollout) ?? d.updatesPerRollout
        if let name = try c.decodeIfPresent(String.self, forKey: .scaleRewards) {
            guard let scale = AlignmentLosses.RewardScale(rawValue: name) else {
                throw GlossaError.invalidConfiguration("grpo: scale_rewards must be "
                    + AlignmentLosses.RewardScale.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + ", not \"\(name)\"")
            }
            scaleRewards = scale
        }
    }

    /// Rejects settings that cannot train.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw GlossaError.invalidConfiguration("grpo: " + message) } }
        try require(groupSize >= 2, "group_size must be at least 2 (advantages compare outputs within a group)")
        try require(groupSize <= 1024, "group_size must be at most 1024, not \(groupSize)")
        try require(promptsPerBatch >= 1 && maxNewTokens >= 1 && updatesPerRollout >= 1,
                    "prompts_per_batch, max_new_tokens and updates_per_rollout must be positive")
        try require(promptsPerBatch <= 10_000 && maxNewTokens <= 100_000 && updatesPerRollout <= 1000,
                    "prompts_per_batch must be at most 10000, max_new_tokens at most 100000, updates_per_rollout at most 1000")
        try require(promptsPerBatch * groupSize <= 100_000, "a batch of prompts_per_batch × group_size = \(promptsPerBatch * groupSize) outputs is more than 100000")
        try require(temperature > 0 && temperature.isFinite, "temperature must be a positive finite number (rollouts are sampled)")
        try require(clip > 0 && clip < 1 && klCoefficient >= 0 && klCoefficient.isFinite,
                    "clip must be in (0, 1) and kl_coefficient a finite number ≥ 0")
    }
}

/// Group relative policy optimisation (`"objective": "grpo"`, Shao et al., 2024): for each prompt, G outputs
/// are sampled as one batch from the current policy, scored by a `Reward`, given group-normalised advantages,
/// and trained with the clipped ratio objective plus β·KL to a frozen reference copy.
public final class GroupRelativePolicyObjective: DecoderObjective, ReportingObjective {
    /// Training prompts with their references.
    public let train: [PromptReference]
    /// Held-out prompts, scored by greedy responses.
    public let dev: GenerationCheck?
    /// The frozen reference policy.
    public let reference: any DecoderOnlyModel
    /// Scores sampled outputs.
    public let reward: any Reward
    /// The settings.
    public let settings: GRPOSettings
    let tokenizer: any Tokenizer
    let prompts: [[Int]]
    var generator: SeededGenerator
    var rollout: Rollout?
    /// Mean training reward of each update's rollouts, by step: the reward curve.
    public private(set) var rewardCurve: [(step: Int, reward: Double)] = []
    var pendingRewards: [Double] = []

    /// One batch of sampled outputs, kept for the `updatesPerRollout` updates made on it.
    struct Rollout {
        var batch: [Int]
        var uses: Int
        var responses: ResponseBatch
        var sampling: Tensor
        var reference: Tensor
        var advantages: [Float]
        var metrics: [String: Double]
    }

    /// An objective over `train` prompts; `seed` fixes the rollouts' draws.
    public init(train: [PromptReference], dev: GenerationCheck?, reference: any DecoderOnlyModel, reward: any Reward,
                tokenizer: any Tokenizer, settings: GRPOSettings, seed: UInt64) throws {
        try settings.validate()
        guard !train.isEmpty else { throw GlossaError.invalidInput("grpo needs at least one training prompt") }
        self.train = train
        self.dev = dev
        self.reference = reference
        self.reward = reward
        self.tokenizer = tokenizer
        self.settings = settings
        self.prompts = try tokenizer.encodeBatch(train.map(\.prompt))
        self.generator = SeededGenerator(seed: seed &+ 0x5EED)
        reference.setTrainable(false)
    }

    /// "grpo".
    public var name: String { "grpo" }
    /// Sampled outputs.
    public var unit: String { "samples" }
    /// Held-out mean reward of greedy responses.
    public var primaryMetric: PrimaryMetric? { dev == nil ? nil : PrimaryMetric(name: "reward", higherIsBetter: true) }

    /// Shuffled prompts in batches of `promptsPerBatch`, each batch given `updatesPerRollout` times in a row.
    public var batching: ExampleBatching {
        .bySize(count: train.count, size: settings.promptsPerBatch, repeats: settings.updatesPerRollout)
    }

    /// Samples G outputs per prompt of `batch` with the current policy, scores them, and records the
    /// sampling and reference log-probabilities the loss compares against.
    func sample(_ batch: [Int], model: any DecoderOnlyModel) throws -> Rollout {
        let g = settings.groupSize
        let rowsPrompts = batch.flatMap { [[Int]](repeating: prompts[$0], count: g) }
        let sampler = StochasticSampler(temperature: settings.temperature, seed: generator.next())
        let responses = try withoutGrad {
            try ResponseGeneration.generate(model, prompts: rowsPrompts, sampler: sampler, maxNewTokens: settings.maxNewTokens, batchSize: 64)
        }
        let texts = try responses.map { try tokenizer.decode($0.tokens) }
        let references = batch.flatMap { [String](repeating: train[$0].reference, count: g) }
        let scores = try reward.scores(prompts: batch.flatMap { [String](repeating: train[$0].prompt, count: g) }, outputs: texts,
                                       references: references)
        let layout = try ResponseBatch(prompts: rowsPrompts, responses: responses.map(\.tokens), ids: model.specialIds,
                                       closed: responses.map(\.closed))
        let (sampling, referenceLP) = try withoutGrad {
            (try SequenceScoring.tokenLogProbabilities(model.decoder, batch: layout, context: ForwardContext()),
             try SequenceScoring.tokenLogProbabilities(reference.decoder, batch: layout, context: ForwardContext()))
        }
        var metrics: [String: Double] = ["reward": scores.map(\.value).reduce(0, +) / Double(scores.count),
                                         "length": Double(layout.scoredCount) / Double(scores.count)]
        for key in Set(scores.flatMap(\.components.keys)) {
            metrics[key] = scores.reduce(0) { $0 + ($1.components[key] ?? 0) } / Double(scores.count)
        }
        return Rollout(batch: batch, uses: 0, responses: layout, sampling: sampling, reference: referenceLP,
                       advantages: AlignmentLosses.groupAdvantages(scores.map(\.value), groupSize: g, scale: settings.scaleRewards),
                       metrics: metrics)
    }

    public func loss(batch: [Int], model: any DecoderOnlyModel, context: ForwardContext) throws -> ObjectiveLoss {
        if rollout == nil || rollout?.batch != batch || (rollout?.uses ?? 0) >= settings.updatesPerRollout {
            rollout = try sample(batch, model: model)
            pendingRewards.append(rollout?.metrics["reward"] ?? 0)
        }
        guard var current = rollout else { throw GlossaError.invalidInput("grpo: no rollout") }
        current.uses += 1
        rollout = current
        let lp = try SequenceScoring.tokenLogProbabilities(model.decoder, batch: current.responses, context: context)
        let result = AlignmentLosses.policy(logProbabilities: lp, sampling: current.sampling, reference: current.reference,
                                            mask: current.responses.scoredMask, advantages: current.advantages,
                                            clip: settings.clip, klCoefficient: settings.klCoefficient)
        var metrics = current.metrics
        metrics["kl"] = result.kl
        metrics["clipped"] = result.clippedFraction
        return ObjectiveLoss(loss: result.loss, count: current.advantages.count, tokens: current.responses.scoredCount, metrics: metrics)
    }

    /// Records the mean reward of the rollouts sampled for this update.
    public func didUpdate(step: Int, model: any DecoderOnlyModel) throws {
        guard !pendingRewards.isEmpty else { return }
        rewardCurve.append((step, pendingRewards.reduce(0, +) / Double(pendingRewards.count)))
        pendingRewards = []
    }

    /// `reward-curve.svg`: the rollout reward (a moving mean over 25 updates, this run's updates only) and,
    /// from `history`, the held-out greedy reward and accuracy; `reward-curve.json`: each update's rollout reward.
    public func reportFiles(history: [TrainingRecord]) throws -> [String: Data] {
        let window = 25
        let smoothed = rewardCurve.indices.map { i in
            let slice = rewardCurve[Swift.max(0, i - window + 1)...i]
            return (x: Double(rewardCurve[i].step), y: slice.reduce(0) { $0 + $1.reward } / Double(slice.count))
        }
        let lines = [LinePlot.Series(name: "rollout reward (mean of \(window) updates)", points: smoothed)]
            + [series("held-out greedy reward", "reward", in: history), series("held-out greedy accuracy", "accuracy", in: history)].compactMap { $0 }
        let plot = LinePlot(title: "GRPO (\(reward.name) reward)", xLabel: "update", yLabel: "reward / accuracy", series: lines)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let rows = rewardCurve.map { ["step": Double($0.step), "reward": $0.reward] }
        return ["reward-curve.svg": Data(plot.svg().utf8), "reward-curve.json": try encoder.encode(rows)]
    }

    /// Mean reward and its parts of greedy responses to the held-out prompts.
    public func validate(model: any DecoderOnlyModel) throws -> [String: Double] {
        try dev?.run(model) ?? [:]
    }
}
