import Foundation
import Glossa
import GlossaNN

/// What a decoder-only objective is built from: the recipe, the model being trained, its tokenizer, the plugins.
public struct ObjectiveInputs {
    /// The recipe (its `training` settings and the objective's block).
    public var recipe: Recipe
    /// The model to train.
    public var model: any DecoderOnlyModel
    /// Its tokenizer.
    public var tokenizer: any Tokenizer
    /// The plugins, for reference models.
    public var registry: PluginRegistry
    /// Where notes go.
    public var log: (String) -> Void
}

/// A decoder-only objective a recipe can name: the recipe block it reads, and how it is built.
public struct DecoderObjectiveEntry: Sendable {
    /// The recipe block the objective reads (`sft`), if any.
    public var block: String?
    /// Builds the objective.
    public var make: @Sendable (ObjectiveInputs) throws -> any DecoderObjective

    /// An entry.
    public init(block: String?, make: @escaping @Sendable (ObjectiveInputs) throws -> any DecoderObjective) {
        self.block = block
        self.make = make
    }
}

/// The objectives `"objective"` may name for a decoder-only plugin; a new objective adds one entry here.
public let decoderObjectives: [String: DecoderObjectiveEntry] = [
    "nll": DecoderObjectiveEntry(block: nil, make: makeLanguageModelingObjective),
    "sft": DecoderObjectiveEntry(block: "sft", make: makeSupervisedObjective),
    "dpo": DecoderObjectiveEntry(block: "dpo", make: makePreferenceObjective),
    "grpo": DecoderObjectiveEntry(block: "grpo", make: makePolicyObjective),
]

/// Next-token NLL on every line of both sides of the recipe's training files (dev likewise).
func makeLanguageModelingObjective(_ inputs: ObjectiveInputs) throws -> any DecoderObjective {
    let recipe = inputs.recipe
    let started = Date()
    func sentences(_ files: ParallelFiles?) throws -> [[Int]] {
        guard let files else { return [] }
        var lines = try InputFile.lines(files.source)
        if files.target != files.source { lines += try InputFile.lines(files.target) }
        return try inputs.tokenizer.encodeBatch(lines.filter { !$0.isEmpty })
    }
    let train = try sentences(recipe.data.train), dev = try sentences(recipe.data.dev)
    inputs.log(String(format: "data: %d training sentences (%d tokens), %d dev sentences, tokenised in %.1f s",
                      train.count, train.reduce(0) { $0 + $1.count + 1 }, dev.count, Date().timeIntervalSince(started)))
    let limit = Swift.min(recipe.training.maxLength, (inputs.model.decoder.maxLength ?? Int.max) - 1)
    return LanguageModelingObjective(train: train, dev: dev, ids: inputs.model.specialIds, maxTokens: recipe.training.maxTokens,
                                     maxLength: limit, labelSmoothing: recipe.training.labelSmoothing)
}

/// `"objective": "sft"`: response-only cross-entropy on the `"sft"` block's {prompt, response} JSONL; with `"tasks"`,
/// a mixture of the records' tasks at the given ratios, scored per task.
func makeSupervisedObjective(_ inputs: ObjectiveInputs) throws -> any DecoderObjective {
    guard let block = try inputs.recipe.block("sft", as: AlignmentBlocks.SFT.self) else {
        throw GlossaError.invalidConfiguration("objective sft needs an \"sft\" block with \"train\"")
    }
    func read(_ path: String) throws -> [TokenizedExample] {
        var records = try JSONLines.read(PromptResponse.self, from: path)
        if let tasks = block.tasks { records = try AlignmentBlocks.only(tasks, in: records, \.task, file: path, log: inputs.log) }
        return try TokenizedExample.tokenize(records, with: inputs.tokenizer)
    }
    let train = try read(block.train), dev = try block.dev.map(read) ?? []
    inputs.log("data: \(train.count) SFT examples (\(train.reduce(0) { $0 + $1.response.count + 1 }) response tokens), \(dev.count) dev examples")
    let mixture = block.tasks.map { TaskMixture(ratios: $0.mapValues(\.ratio), epochExamples: block.epochExamples) }
    let objective = SupervisedFineTuningObjective(
        train: train, dev: dev, ids: inputs.model.specialIds, maxTokens: inputs.recipe.training.maxTokens,
        maxLength: AlignmentBlocks.limit(inputs), labelSmoothing: inputs.recipe.training.labelSmoothing,
        generation: try AlignmentBlocks.check(block.generation, tokenizer: inputs.tokenizer, tasks: block.tasks), mixture: mixture)
    let composition = objective.epochComposition(seed: inputs.recipe.training.seed)
    if !composition.isEmpty {
        // What a single-task run of one task needs for the same budget: its "epoch_examples" and "target_tokens".
        inputs.log("mixture, per epoch: " + composition.map { "\($0.task) \($0.examples) examples" }.joined(separator: ", ")
                   + "; epoch 1: " + composition.map { "\($0.task) \($0.responseTokens)" }.joined(separator: ", ")
                   + " response tokens (\(composition.reduce(0) { $0 + $1.responseTokens }) in all)")
    }
    return objective
}

/// `"objective": "dpo"`: the `"dpo"` block's {prompt, chosen, rejected} JSONL against a frozen reference.
func makePreferenceObjective(_ inputs: ObjectiveInputs) throws -> any DecoderObjective {
    guard let block = try inputs.recipe.block("dpo", as: AlignmentBlocks.DPO.self) else {
        throw GlossaError.invalidConfiguration("objective dpo needs a \"dpo\" block with \"train\"")
    }
    let given = try block.train.map { try JSONLines.read(PreferencePair.self, from: $0) } ?? []
    let ranked = try block.rankings.flatMap { try RankingRecord.read($0) }.flatMap(\.preferencePairs)
    let train = try TokenizedPair.tokenize(given + ranked, with: inputs.tokenizer)
    let dev = try block.dev.map { try TokenizedPair.tokenize(try JSONLines.read(PreferencePair.self, from: $0), with: inputs.tokenizer) } ?? []
    inputs.log("data: \(train.count) preference pairs (\(ranked.count) from rankings), \(dev.count) held-out pairs")
    return try DirectPreferenceObjective(train: train, dev: dev, reference: try AlignmentBlocks.reference(block.reference, inputs: inputs),
                                         beta: block.beta ?? 0.1, maxTokens: inputs.recipe.training.maxTokens, maxLength: AlignmentBlocks.limit(inputs))
}

/// `"objective": "grpo"`: the `"grpo"` block's {prompt, reference} JSONL, rewarded by a built-in reward.
func makePolicyObjective(_ inputs: ObjectiveInputs) throws -> any DecoderObjective {
    guard let block = try inputs.recipe.block("grpo", as: AlignmentBlocks.GRPO.self) else {
        throw GlossaError.invalidConfiguration("objective grpo needs a \"grpo\" block with \"train\" and \"reward\"")
    }
    let train = try JSONLines.read(PromptReference.self, from: block.train)
    let dev = try AlignmentBlocks.check(block.dev, tokenizer: inputs.tokenizer)
    let reward: any Reward
    if !block.rewardModels.isEmpty {
        reward = try LearnedReward(models: try block.rewardModels.map { try RewardModel.load(URL(fileURLWithPath: $0), registry: inputs.registry) },
                                   monitor: try block.monitorReward.map(Rewards.named))
    } else {
        reward = try Rewards.named(block.reward ?? "")
    }
    inputs.log("data: \(train.count) prompts, \(dev?.examples.count ?? 0) held-out prompts; G = \(block.settings.groupSize), reward "
               + (block.rewardModels.isEmpty ? block.reward ?? ""
                  : (block.rewardModels.count == 1 ? "model " : "ensemble of ") + block.rewardModels.joined(separator: ", ")
                    + (block.monitorReward.map { " (monitoring \($0))" } ?? "")))
    return try GroupRelativePolicyObjective(train: train, dev: dev, reference: try AlignmentBlocks.reference(block.reference, inputs: inputs),
                                            reward: reward, tokenizer: inputs.tokenizer, settings: block.settings,
                                            seed: inputs.recipe.training.seed)
}
