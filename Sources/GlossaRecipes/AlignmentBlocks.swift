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

    /// One task of a multi-task SFT mixture: its mixing ratio and the reward its greedy responses are scored by.
    struct Task: Decodable {
        var ratio: Double
        var reward: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case ratio, reward }
        init(from decoder: any Swift.Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ratio = try c.decode(Double.self, forKey: .ratio)
            reward = try c.decodeIfPresent(String.self, forKey: .reward)
            guard ratio > 0, ratio.isFinite else {
                throw DecodingError.dataCorruptedError(forKey: .ratio, in: c, debugDescription: "ratio must be a positive finite number, not \(ratio)")
            }
            if let reward { _ = try Rewards.named(reward) }
        }
    }

    struct SFT: Decodable {
        var train: String
        var dev: String?
        var generation: Generation?
        /// Task name → its ratio and reward: the mixture (only these tasks are trained and scored).
        var tasks: [String: Task]?
        var epochExamples: Int?
        enum CodingKeys: String, CodingKey, CaseIterable { case train, dev, generation, tasks, epochExamples = "epoch_examples" }
        init(from decoder: any Swift.Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            train = try c.decode(String.self, forKey: .train)
            dev = try c.decodeIfPresent(String.self, forKey: .dev)
            generation = try c.decodeIfPresent(Generation.self, forKey: .generation)
            tasks = try c.decodeIfPresent([String: Task].self, forKey: .tasks)
            epochExamples = try c.decodeIfPresent(Int.self, forKey: .epochExamples)
            if let tasks, tasks.isEmpty || tasks.keys.contains(where: { $0.isEmpty }) {
                throw DecodingError.dataCorruptedError(forKey: .tasks, in: c, debugDescription: "tasks must name at least one task, and no task may be named \"\"")
            }
            if let epochExamples, !(1...100_000_000).contains(epochExamples) {
                throw DecodingError.dataCorruptedError(forKey: .epochExamples, in: c, debugDescription: "epoch_examples must be in 1...100000000, not \(epochExamples)")
            }
            if epochExamples != nil && tasks == nil {
                throw DecodingError.dataCorruptedError(forKey: .epochExamples, in: c, debugDescription: "epoch_examples needs \"tasks\" (the mixture it sizes)")
            }
        }
    }

    struct DPO: Decodable {
        /// {prompt, chosen, rejected} pairs.
        var train: String?
        /// Rankings files (`glossa align rank`): each ranking gives a pair for every two responses it puts in order.
        var rankings: [String]
        var dev: String?
        var beta: Float?
        /// The frozen reference model; the recipe's `base` by default.
        var reference: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case train, rankings, dev, beta, reference }
        init(from decoder: any Swift.Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            train = try c.decodeIfPresent(String.self, forKey: .train)
            if let one = try? c.decodeIfPresent(String.self, forKey: .rankings) { rankings = [one] } else {
                rankings = try c.decodeIfPresent([String].self, forKey: .rankings) ?? []
            }
            if train == nil && rankings.isEmpty {
                throw DecodingError.dataCorruptedError(forKey: .train, in: c, debugDescription: "give train (preference pairs) or rankings (rankings files), or both")
            }
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
        /// A built-in reward (`arithmetic`, `chrf`).
        var reward: String?
        /// Reward model directories (`"objective": "reward"`; one path or a list, an ensemble) to optimise against instead.
        var rewardModels: [String]
        /// With `reward_model`: a built-in reward computed beside it and logged (`true_reward`), never optimised.
        var monitorReward: String?
        var settings: GRPOSettings
        var reference: String?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case train, dev, reward, rewardModel = "reward_model", monitorReward = "monitor_reward", reference
        }
        init(from decoder: any Swift.Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue) + GRPOSettings.CodingKeys.allCases.map(\.rawValue))
            let c = try decoder.container(keyedBy: CodingKeys.self)
            train = try c.decode(String.self, forKey: .train)
            dev = try c.decodeIfPresent(Generation.self, forKey: .dev)
            reward = try c.decodeIfPresent(String.self, forKey: .reward)
            if let one = try? c.decodeIfPresent(String.self, forKey: .rewardModel) {
                rewardModels = [one]
            } else {
                rewardModels = try c.decodeIfPresent([String].self, forKey: .rewardModel) ?? []
                if c.contains(.rewardModel) && rewardModels.isEmpty {
                    throw DecodingError.dataCorruptedError(forKey: .rewardModel, in: c, debugDescription: "reward_model must name at least one directory")
                }
            }
            monitorReward = try c.decodeIfPresent(String.self, forKey: .monitorReward)
            guard (reward == nil) != rewardModels.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .reward, in: c, debugDescription: "give reward (a built-in reward) or reward_model (a directory or a list of them), one of them")
            }
            if monitorReward != nil && rewardModels.isEmpty {
                throw DecodingError.dataCorruptedError(forKey: .monitorReward, in: c, debugDescription: "monitor_reward goes with reward_model")
            }
            reference = try c.decodeIfPresent(String.self, forKey: .reference)
            settings = try GRPOSettings(from: decoder)
        }
    }

    /// The generation check a block describes; with `tasks`, only their examples, each task scored by its own reward
    /// (the block's `reward` for those that name none), and `limit` counts per task.
    static func check(_ g: Generation?, tokenizer: any Tokenizer, tasks: [String: Task]? = nil) throws -> GenerationCheck? {
        guard let g else { return nil }
        var examples = try JSONLines.read(PromptReference.self, from: g.data)
        if let tasks { examples = try only(tasks, in: examples, \.task, file: g.data, log: nil) }
        if let limit = g.limit { examples = GenerationCheck.firstPerTask(examples, limit: limit) }
        return GenerationCheck(examples: examples, reward: try Rewards.named(g.reward),
                               taskRewards: try (tasks ?? [:]).compactMapValues { try $0.reward.map(Rewards.named) },
                               tokenizer: tokenizer, maxNewTokens: g.maxNewTokens ?? 64)
    }

    /// The records of the mixture's tasks: every record must name a task, and records of other tasks are left out
    /// (counted in `log`, when given; a task of the mixture without records is an error then).
    static func only<T>(_ tasks: [String: Task], in records: [T], _ task: KeyPath<T, String?>, file: String, log: ((String) -> Void)?) throws -> [T] {
        let missing = records.filter { $0[keyPath: task] == nil }.count
        guard missing == 0 else {
            throw GlossaError.invalidInput("\(file): \(missing) of \(records.count) records have no \"task\"; the recipe's \"tasks\" needs one on every record")
        }
        let counts = Dictionary(grouping: records) { $0[keyPath: task] ?? "" }.mapValues(\.count)
        if let log {
            if let absent = tasks.keys.sorted().first(where: { counts[$0] == nil }) {
                throw GlossaError.invalidInput("\(file) has no records of task \"\(absent)\" (its tasks: \(counts.keys.sorted().joined(separator: ", ")))")
            }
            let others = counts.filter { tasks[$0.key] == nil }.sorted { $0.key < $1.key }
            if !others.isEmpty { log("\(file): left out \(others.map { "\($0.value) \($0.key)" }.joined(separator: ", ")) (tasks not in the mixture)") }
        }
        return records.filter { tasks[$0[keyPath: task] ?? ""] != nil }
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
