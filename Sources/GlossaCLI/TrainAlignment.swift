import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor

/// The recipe blocks of the fine-tuning objectives (`"sft"`, `"dpo"`, `"grpo"`), read beside the shared
/// recipe fields. Data paths are JSON Lines files; see docs/alignment.md.
struct AlignmentRecipe: Decodable {
    /// Greedy responses to held-out prompts scored by a reward at each validation.
    struct Generation: Decodable {
        var data: String
        var reward: String
        var limit: Int?
        var maxNewTokens: Int?
        enum CodingKeys: String, CodingKey { case data, reward, limit, maxNewTokens = "max_new_tokens" }
        init(from decoder: any Swift.Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            data = try c.decode(String.self, forKey: .data)
            reward = try c.decode(String.self, forKey: .reward)
            limit = try c.decodeIfPresent(Int.self, forKey: .limit)
            maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens)
            if let limit, limit < 0 {
                throw DecodingError.dataCorruptedError(forKey: .limit, in: c, debugDescription: "limit must not be negative, not \(limit)")
            }
            if let maxNewTokens, !(1...100_000).contains(maxNewTokens) {
                throw DecodingError.dataCorruptedError(forKey: .maxNewTokens, in: c, debugDescription: "max_new_tokens must be in 1...100000, not \(maxNewTokens)")
            }
        }
    }
    struct SFT: Decodable {
        var train: String
        var dev: String?
        var generation: Generation?
    }
    struct DPO: Decodable {
        var train: String
        var dev: String?
        var beta: Float?
        /// The frozen reference model; the recipe's `base` by default.
        var reference: String?
    }
    struct GRPO: Decodable {
        var train: String
        var dev: Generation?
        var reward: String
        var settings: GRPOSettings
        var reference: String?
        enum CodingKeys: String, CodingKey { case train, dev, reward, reference }
        init(from decoder: any Swift.Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            train = try c.decode(String.self, forKey: .train)
            dev = try c.decodeIfPresent(Generation.self, forKey: .dev)
            reward = try c.decode(String.self, forKey: .reward)
            reference = try c.decodeIfPresent(String.self, forKey: .reference)
            settings = try GRPOSettings(from: decoder)
        }
    }
    var sft: SFT?
    var dpo: DPO?
    var grpo: GRPO?

    static func load(_ inputs: ObjectiveInputs) throws -> AlignmentRecipe {
        do {
            return try JSONDecoder().decode(AlignmentRecipe.self, from: try InputFile.read(inputs.recipeURL.path, purpose: "the recipe", limit: InputFile.configurationLimit))
        } catch let error as DecodingError {
            throw CommandError(description: "\(inputs.recipeURL.lastPathComponent): \(error)")
        }
    }

    /// The generation check a block describes.
    static func check(_ g: Generation?, tokenizer: any Tokenizer) throws -> GenerationCheck? {
        guard let g else { return nil }
        var examples = try JSONLines.read(PromptReference.self, from: g.data)
        if let limit = g.limit { examples = Array(examples.prefix(limit)) }
        return GenerationCheck(examples: examples, reward: try Rewards.named(g.reward), tokenizer: tokenizer, maxNewTokens: g.maxNewTokens ?? 64)
    }

    /// A frozen copy of the reference model: `path`, else the recipe's `base`.
    static func reference(_ path: String?, inputs: ObjectiveInputs) throws -> any DecoderOnlyModel {
        guard let path = path ?? inputs.recipe.base else {
            throw CommandError(description: "\(inputs.recipe.objective ?? "") needs a reference model: give \"base\" (or \"reference\" in its block)")
        }
        let reference = try LanguageModel.load(URL(fileURLWithPath: path), registry: Registry.current).model
        try checkSameVocabulary(policy: inputs.model, reference: reference, referencePath: path)
        return reference
    }

    /// A reference scores the policy's token ids, so both must have one vocabulary.
    static func checkSameVocabulary(policy: any DecoderOnlyModel, reference: any DecoderOnlyModel, referencePath: String) throws {
        let mine = policy.decoder.vocabularySize, theirs = reference.decoder.vocabularySize
        guard mine == theirs else {
            throw CommandError(description: "the reference model \(referencePath) has a vocabulary of \(theirs) tokens but the policy's has \(mine); "
                               + "a reference must share the policy's tokenizer and vocabulary")
        }
    }

    /// The positions the model allows, capped by the recipe's `max_length`.
    static func limit(_ inputs: ObjectiveInputs) -> Int {
        Swift.min(inputs.recipe.training.maxLength, inputs.model.decoder.maxLength ?? Int.max)
    }
}

/// `"objective": "sft"`: response-only cross-entropy on the `"sft"` block's {prompt, response} JSONL.
func makeSupervisedObjective(_ inputs: ObjectiveInputs) throws -> any DecoderObjective {
    guard let block = try AlignmentRecipe.load(inputs).sft else { throw CommandError(description: "objective sft needs an \"sft\" block with \"train\"") }
    let train = try TokenizedExample.tokenize(try JSONLines.read(PromptResponse.self, from: block.train), with: inputs.tokenizer)
    let dev = try block.dev.map { try TokenizedExample.tokenize(try JSONLines.read(PromptResponse.self, from: $0), with: inputs.tokenizer) } ?? []
    inputs.log("data: \(train.count) SFT examples (\(train.reduce(0) { $0 + $1.response.count + 1 }) response tokens), \(dev.count) dev examples")
    return SupervisedFineTuningObjective(train: train, dev: dev, ids: inputs.model.specialIds, maxTokens: inputs.recipe.training.maxTokens,
                                         maxLength: AlignmentRecipe.limit(inputs), labelSmoothing: inputs.recipe.training.labelSmoothing,
                                         generation: try AlignmentRecipe.check(block.generation, tokenizer: inputs.tokenizer))
}

/// `"objective": "dpo"`: the `"dpo"` block's {prompt, chosen, rejected} JSONL against a frozen reference.
func makePreferenceObjective(_ inputs: ObjectiveInputs) throws -> any DecoderObjective {
    guard let block = try AlignmentRecipe.load(inputs).dpo else { throw CommandError(description: "objective dpo needs a \"dpo\" block with \"train\"") }
    let train = try TokenizedPair.tokenize(try JSONLines.read(PreferencePair.self, from: block.train), with: inputs.tokenizer)
    let dev = try block.dev.map { try TokenizedPair.tokenize(try JSONLines.read(PreferencePair.self, from: $0), with: inputs.tokenizer) } ?? []
    inputs.log("data: \(train.count) preference pairs, \(dev.count) held-out pairs")
    return try DirectPreferenceObjective(train: train, dev: dev, reference: try AlignmentRecipe.reference(block.reference, inputs: inputs),
                                         beta: block.beta ?? 0.1, maxTokens: inputs.recipe.training.maxTokens, maxLength: AlignmentRecipe.limit(inputs))
}

/// `"objective": "grpo"`: the `"grpo"` block's {prompt, reference} JSONL, rewarded by a built-in reward.
func makePolicyObjective(_ inputs: ObjectiveInputs) throws -> any DecoderObjective {
    guard let block = try AlignmentRecipe.load(inputs).grpo else {
        throw CommandError(description: "objective grpo needs a \"grpo\" block with \"train\" and \"reward\"")
    }
    let train = try JSONLines.read(PromptReference.self, from: block.train)
    let dev = try AlignmentRecipe.check(block.dev, tokenizer: inputs.tokenizer)
    inputs.log("data: \(train.count) prompts, \(dev?.examples.count ?? 0) held-out prompts; G = \(block.settings.groupSize), reward \(block.reward)")
    return try GroupRelativePolicyObjective(train: train, dev: dev, reference: try AlignmentRecipe.reference(block.reference, inputs: inputs),
                                            reward: try Rewards.named(block.reward), tokenizer: inputs.tokenizer, settings: block.settings,
                                            seed: inputs.recipe.training.seed)
}
