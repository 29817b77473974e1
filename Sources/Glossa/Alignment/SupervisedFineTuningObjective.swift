import Foundation
import GlossaNN
import GlossaTensor

/// A tokenised prompt and response, with its task in a multi-task mixture.
public struct TokenizedExample: Sendable, Equatable {
    /// Prompt ids.
    public var prompt: [Int]
    /// Response ids (no EOS).
    public var response: [Int]
    /// The task, if any.
    public var task: String?

    /// An example.
    public init(prompt: [Int], response: [Int], task: String? = nil) {
        self.prompt = prompt
        self.response = response
        self.task = task
    }

    /// Tokenises prompt/response pairs (tasks kept).
    public static func tokenize(_ examples: [PromptResponse], with tokenizer: any Tokenizer) throws -> [TokenizedExample] {
        let prompts = try tokenizer.encodeBatch(examples.map(\.prompt)), responses = try tokenizer.encodeBatch(examples.map(\.response))
        return zip(examples, zip(prompts, responses)).map { TokenizedExample(prompt: $1.0, response: $1.1, task: $0.task) }
    }
}

/// The tasks of a multi-task SFT run and each one's share of an epoch (`"tasks"` in the recipe's `"sft"` block): an
/// epoch holds `epochExamples` examples, of which task t draws `ratio_t / Σ ratio` (rounded), through
/// `ExampleMixture`. Ratios count examples, not tokens.
public struct TaskMixture: Sendable, Equatable {
    /// Task name → its mixing ratio (positive; only the ratios between tasks matter).
    public var ratios: [String: Double]
    /// Examples per epoch; by default as many as the listed tasks have (each task then drawn at its ratio).
    public var epochExamples: Int?

    /// A mixture.
    public init(ratios: [String: Double], epochExamples: Int? = nil) {
        self.ratios = ratios
        self.epochExamples = epochExamples
    }

    /// The task names, sorted (the order of groups and of reports).
    public var tasks: [String] { ratios.keys.sorted() }

    /// How many examples of each task an epoch draws, given how many training examples there are in all.
    public func perEpoch(available: Int) -> [String: Int] {
        let total = ratios.values.reduce(0, +), size = Double(epochExamples ?? available)
        return ratios.mapValues { total > 0 ? Int((size * $0 / total).rounded()) : 0 }
    }

    /// The draw over `examples`: one group per task of the mixture, of the examples whose task it is and whose
    /// `lengths` entry is positive (examples of other tasks are never drawn).
    public func exampleMixture(tasks: [String?], lengths: [Int]) -> ExampleMixture {
        let kept = tasks.indices.filter { lengths[$0] > 0 }
        let byTask = Dictionary(grouping: kept) { tasks[$0] ?? "" }
        let counts = perEpoch(available: ratios.keys.reduce(0) { $0 + (byTask[$1]?.count ?? 0) })
        return ExampleMixture(groups: self.tasks.map {
            ExampleMixture.Group(key: ExampleMixture.key(of: $0), indices: byTask[$0] ?? [], perEpoch: counts[$0] ?? 0)
        })
    }
}

/// Supervised fine-tuning (`"objective": "sft"`): cross-entropy on the response tokens and the closing
/// EOS only; the prompt is read but never scored. With a `TaskMixture`, each epoch draws every task's examples at its
/// ratio (one loss over the mixture). Dev: loss per response token (also per task when the examples have tasks), and,
/// when generation examples are given, the mean reward (chrF, accuracy) of greedy responses, per task.
public final class SupervisedFineTuningObjective: DecoderObjective {
    /// Training examples.
    public let train: [TokenizedExample]
    /// Dev examples for the response loss.
    public let dev: [TokenizedExample]
    let ids: SequenceSpecialIds
    let maxTokens: Int
    let maxLength: Int
    let labelSmoothing: Float
    let generation: GenerationCheck?
    /// The tasks and their shares, when the run is a mixture.
    public let mixture: TaskMixture?

    /// An objective over tokenised examples; examples longer than `maxLength` (start, prompt, response
    /// and EOS) are left out of training, and batches hold at most `maxTokens` padded tokens. With `mixture`, an epoch
    /// is its draw over the examples' tasks (examples of tasks it does not list are never drawn).
    public init(train: [TokenizedExample], dev: [TokenizedExample], ids: SequenceSpecialIds, maxTokens: Int, maxLength: Int,
                labelSmoothing: Float = 0, generation: GenerationCheck? = nil, mixture: TaskMixture? = nil) {
        self.train = train
        self.dev = dev
        self.ids = ids
        self.maxTokens = maxTokens
        self.maxLength = maxLength
        self.labelSmoothing = labelSmoothing
        self.generation = generation
        self.mixture = mixture
    }

    /// "sft".
    public var name: String { "sft" }

    /// The generation check's reward when there is one, else the dev response loss.
    public var primaryMetric: PrimaryMetric? {
        if generation != nil { return PrimaryMetric(name: "reward", higherIsBetter: true) }
        return dev.isEmpty ? nil : PrimaryMetric(name: "loss", higherIsBetter: false)
    }

    static func length(_ e: TokenizedExample) -> Int { 1 + e.prompt.count + e.response.count }

    public var batching: ExampleBatching {
        let lengths = ExampleBatching.capped(train.map(Self.length), maxLength: maxLength)
        return .byTokens(lengths: lengths, maxTokens: maxTokens, mixture: mixture?.exampleMixture(tasks: train.map(\.task), lengths: lengths))
    }

    /// Per task of the mixture: the examples epoch `epoch` of a run seeded `seed` draws and the response tokens (EOS
    /// included) they hold. A single-task run of one task with that many `epoch_examples` and that many `target_tokens`
    /// trains on the same examples of the task as the mixture's epoch. Empty without a mixture.
    public func epochComposition(seed: UInt64, epoch: Int = 0) -> [(task: String, examples: Int, responseTokens: Int)] {
        guard case .byTokens(_, _, _, _, let drawn?) = batching else { return [] }
        return zip(mixture?.tasks ?? [], drawn.groups).map { task, group in
            let rows = ExampleMixture(groups: [group]).draw(seed: seed, epoch: epoch)
            return (task, rows.count, rows.reduce(0) { $0 + train[$1].response.count + 1 })
        }
    }

    /// Yes: the loss is a sum of per-token terms, nothing is cached between batches.
    public var splitsAcrossThreads: Bool { true }

    public func loss(batch: [Int], model: any DecoderOnlyModel, context: ForwardContext) throws -> ObjectiveLoss {
        let (loss, tokens) = try Self.responseLoss(batch.map { train[$0] }, model: model, labelSmoothing: labelSmoothing, context: context)
        return ObjectiveLoss(loss: loss, count: tokens)
    }

    /// Mean cross-entropy over the response tokens (and EOS) of `examples`, and how many there were.
    public static func responseLoss(
        _ examples: [TokenizedExample], model: any DecoderOnlyModel, labelSmoothing: Float = 0, context: ForwardContext
    ) throws -> (loss: Tensor, tokens: Int) {
        let batch = try ResponseBatch(prompts: examples.map(\.prompt), responses: examples.map(\.response), ids: model.specialIds)
        return AlignmentLosses.supervised(logits: try batch.logits(model.decoder, context: context), targets: batch.targets,
                                          labelSmoothing: labelSmoothing)
    }

    /// Dev loss per response token (no smoothing) and its perplexity, also per task (`<task>/loss`) when the dev
    /// examples have tasks, and the generation check's scores.
    public func validate(model: any DecoderOnlyModel) throws -> [String: Double] {
        var out: [String: Double] = [:]
        if !dev.isEmpty {
            let limit = model.decoder.maxLength ?? Int.max
            let byTask = Dictionary(grouping: dev.filter { Self.length($0) <= limit }) { $0.task }
            var total = 0.0, tokens = 0
            for task in byTask.keys.sorted(by: { ($0 ?? "") < ($1 ?? "") }) {
                let kept = byTask[task] ?? []
                let plan = ExampleBatcher.epoch(.byTokens(lengths: kept.map(Self.length), maxTokens: maxTokens), seed: 0, epoch: 0)
                var taskTotal = 0.0, taskTokens = 0
                for batch in plan {
                    let (loss, n) = try Self.responseLoss(batch.map { kept[$0] }, model: model, context: ForwardContext())
                    taskTotal += Double(loss.item) * Double(n)
                    taskTokens += n
                }
                if let task { out["\(task)/loss"] = taskTotal / Double(Swift.max(taskTokens, 1)) }
                total += taskTotal
                tokens += taskTokens
            }
            out["loss"] = total / Double(Swift.max(tokens, 1))
            out["perplexity"] = Foundation.exp(out["loss"] ?? 0)
        }
        if let generation { out.merge(try generation.run(model), uniquingKeysWith: { $1 }) }
        return out
    }
}

/// Greedy responses to a fixed list of prompts, scored by a reward: the dev metric of SFT and GRPO, and what
/// `glossa align eval` reports. Examples with a `task` are scored per task, each by its own reward (`taskRewards`,
/// else `reward`).
public struct GenerationCheck: Sendable {
    /// The prompts and what the reward checks against.
    public var examples: [PromptReference]
    /// The reward (of every task `taskRewards` does not name).
    public var reward: any Reward
    /// Task name → its reward.
    public var taskRewards: [String: any Reward]
    /// The tokenizer of the model.
    public var tokenizer: any Tokenizer
    /// The longest response generated.
    public var maxNewTokens: Int

    /// A check of `examples` by `reward` (by `taskRewards[task]` where the example's task has one).
    public init(examples: [PromptReference], reward: any Reward, taskRewards: [String: any Reward] = [:], tokenizer: any Tokenizer,
                maxNewTokens: Int) {
        self.examples = examples
        self.reward = reward
        self.taskRewards = taskRewards
        self.tokenizer = tokenizer
        self.maxNewTokens = maxNewTokens
    }

    /// The first `limit` examples of each task (of all examples when none has a task), in their order.
    public static func firstPerTask(_ examples: [PromptReference], limit: Int) -> [PromptReference] {
        var seen: [String: Int] = [:]
        return examples.filter { e in
            seen[e.task ?? "", default: 0] += 1
            return (seen[e.task ?? ""] ?? 0) <= limit
        }
    }

    /// The greedy responses and their scores.
    public struct Report: Sendable {
        /// One response per example, in order.
        public var outputs: [String]
        /// Without tasks: the reward's mean value (`reward`) and parts (`accuracy`, `format`, `chrf`), with a chrF
        /// reward also corpus chrF and BLEU (`corpus_chrf`, `corpus_bleu`). With tasks: those keys per task as
        /// `<task>/<key>` (and `<task>/examples`), and `reward`, the mean over tasks of their rewards.
        public var metrics: [String: Double]
        /// The tasks scored, sorted (empty without tasks).
        public var tasks: [String]
    }

    /// Greedy responses to every prompt (one batched generation), scored.
    public func evaluate(_ model: any DecoderOnlyModel) throws -> Report {
        let tasked = examples.filter { $0.task != nil }.count
        guard tasked == 0 || tasked == examples.count else {
            throw GlossaError.invalidInput("\(examples.count - tasked) of \(examples.count) examples have no \"task\" while the others have one")
        }
        let outputs = try withoutGrad {
            try ResponseGeneration.greedyTexts(model, tokenizer: tokenizer, prompts: examples.map(\.prompt), maxNewTokens: maxNewTokens)
        }
        func scores(_ rows: [Int], _ reward: any Reward) throws -> [String: Double] {
            let o = rows.map { outputs[$0] }, r = rows.map { examples[$0].reference }
            var summary = try reward.summary(prompts: rows.map { examples[$0].prompt }, outputs: o, references: r)
            if reward is ChrFReward {
                summary["corpus_chrf"] = try ChrF().corpusScore(hypotheses: o, references: r).score
                summary["corpus_bleu"] = try BLEU().corpusScore(hypotheses: o, references: r).score
            }
            return summary
        }
        guard tasked > 0 else { return Report(outputs: outputs, metrics: try scores(Array(examples.indices), reward), tasks: []) }
        let byTask = Dictionary(grouping: examples.indices) { examples[$0].task ?? "" }
        var metrics: [String: Double] = [:]
        for (task, rows) in byTask {
            for (key, value) in try scores(rows, taskRewards[task] ?? reward) { metrics["\(task)/\(key)"] = value }
            metrics["\(task)/examples"] = Double(rows.count)
        }
        metrics["reward"] = byTask.keys.reduce(0) { $0 + (metrics["\($1)/reward"] ?? 0) } / Double(byTask.count)
        return Report(outputs: outputs, metrics: metrics, tasks: byTask.keys.sorted())
    }

    /// `evaluate(model).metrics`.
    public func run(_ model: any DecoderOnlyModel) throws -> [String: Double] {
        try evaluate(model).metrics
    }
}
