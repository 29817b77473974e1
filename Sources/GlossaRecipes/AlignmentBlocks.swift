import Foundation
import Glossa
import GlossaNN

/// The recipe blocks of the fine-tuning objectives (`"sft"`, `"dpo"`, `"grpo"`). Data paths are JSON Lines files;
/// see docs/alignment.md. Every block rejects keys it does not know.
enum AlignmentBlocks {
    /// Greedy responses to held-out prompts scored by a reward at each validation.
    struct Generation: Decodable {
        var data: String
        var reward: String
        var limit: Int?
        var maxNewTokens: Int?
        enum CodingKeys: String, CodingKey, CaseIterable { case data, reward, limit, maxNewTokens = "max_new_tokens" }
        init(from decoder: any Swift.Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
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
        enum CodingKeys: String, CodingKey, CaseIterable { case train, dev, generation }
        init(from decoder: any Swift.Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            train = try c.decode(String.self, forKey: .train)
            dev = try c.decodeIfPresent(String.self, forKey: .dev)
            generation = try c.decodeIfPresent(Generation.self, forKey: .generation)
        }
    }

    struct DPO: Decodable {
        var train: String
        var dev: String?
        var beta: Float?
        /// The frozen reference model; the recipe's `base` by default.
        var reference: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case train, dev, beta, reference }
        init(from decoder: any Swift.Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            train = try c.decode(String.self, forKey: .train)
            dev = try c.decodeIfPresent(String.self, forKey: .dev)
            beta = try c.decodeIfPresent(Float.self, forKey: .beta)
            reference = try c.decodeIfPresent(String.self, forKey: .reference)
            if let beta, !(beta > 0 && beta.isFinite) {
                throw DecodingError.dataCorruptedError(forKey: .beta, in: c, debugDescription: "beta must be a positive finite number, not \(beta)")
            }
        }
    }

    struct GRPO: Decodable {
        var train: String
        var dev: Generation?
        var reward: String
        var settings: GRPOSettings
        var reference: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case train, dev, reward, reference }
        init(from decoder: any Swift.Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue) + GRPOSettings.CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            train = try c.decode(String.self, forKey: .train)
            dev = try c.decodeIfPresent(Generation.self, forKey: .dev)
            reward = try c.decode(String.self, forKey: .reward)
            reference = try c.decodeIfPresent(String.self, forKey: .reference)
            settings = try GRPOSettings(from: decoder)
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
            throw GlossaError.invalidConfiguration("\(inputs.recipe.objective ?? "") needs a reference model: give \"base\" (or \"reference\" in its block)")
        }
        let reference = try LanguageModel.load(URL(fileURLWithPath: path), registry: inputs.registry).model
        try checkSharedVocabulary(policy: inputs.model, reference: reference, referencePath: path)
        return reference
    }

    /// The positions the model allows, capped by the recipe's `max_length`.
    static func limit(_ inputs: ObjectiveInputs) -> Int {
        Swift.min(inputs.recipe.training.maxLength, inputs.model.decoder.maxLength ?? Int.max)
    }
}
