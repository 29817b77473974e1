import Foundation
import Glossa
import GlossaCausalLM
import GlossaNN
import GlossaTensor
import GlossaTestSupport
import Testing

/// The fraction of an output's letters among a, b, c: a reward a tiny policy learns in a few updates.
struct EarlyLettersReward: ReferenceReward {
    var name: String { "early-letters" }
    func score(output: String, reference: String) -> RewardScore {
        let hits = output.filter { "abc".contains($0) }.count
        return RewardScore(value: output.isEmpty ? 0 : Double(hits) / Double(output.count))
    }
}

/// A 2-layer, 32-wide causal LM over the letters.
func tinyModel(seed: UInt64 = 1) throws -> CausalLMModel {
    try CausalLMModel(CausalLMConfiguration(vocabSize: 20, hiddenSize: 32, intermediateSize: 48, layers: 2, heads: 4, maxPositions: 32,
                                            positions: .rotary, tied: true, bos: 0, eos: 0, pad: 19), seed: seed)
}

func settings(steps: Int, learningRate: Float = 3e-3) -> TrainingSettings {
    var s = TrainingSettings()
    s.maxTokens = 256
    s.learningRate = learningRate
    s.warmupSteps = 5
    s.labelSmoothing = 0
    s.steps = steps
    s.validateEvery = 1000
    s.checkpointEvery = 1000
    s.averageLast = 1
    s.keepBest = false
    return s
}

func train<Objective: DecoderObjective>(_ model: CausalLMModel, _ objective: Objective, steps: Int, learningRate: Float = 3e-3) throws -> [TrainingRecord] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-align-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let trainer = Trainer(model: model as any DecoderOnlyModel, objective: objective, settings: settings(steps: steps, learningRate: learningRate),
                          directory: directory)
    return try trainer.run().history
}

/// Copy tasks: the prompt is a few random letters, the response repeats them.
func copyExamples(count: Int, seed: UInt64) -> [TokenizedExample] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
        let letters = (0..<Int.random(in: 2...4, using: &rng)).map { _ in Int.random(in: 1...18, using: &rng) }
        return TokenizedExample(prompt: letters, response: letters)
    }
}

/// Each objective of the ladder on the shared loop, with the metric it exists to move.
@Suite struct ObjectiveTests {
    @Test func supervisedResponseLossFalls() throws {
        let model = try tinyModel()
        let objective = SupervisedFineTuningObjective(train: copyExamples(count: 300, seed: 2), dev: copyExamples(count: 40, seed: 3),
                                                      ids: model.specialIds, maxTokens: 256, maxLength: 16)
        let before = try withoutGrad { try objective.validate(model: model) }["loss"] ?? 0
        _ = try train(model, objective, steps: 80)
        let after = try withoutGrad { try objective.validate(model: model) }["loss"] ?? .infinity
        #expect(before > 2.5, "an untrained model is near uniform over 20 tokens, got \(before)")
        #expect(after < before - 0.4, "dev response loss went from \(before) to \(after)")
    }

    @Test func supervisedLossIgnoresThePrompt() throws {
        // Changing only the prompt's last token changes the response loss, but the prompt itself is never scored:
        // a batch whose response is only EOS has exactly one scored token per row.
        let model = try tinyModel()
        let (_, tokens) = try SupervisedFineTuningObjective.responseLoss(
            [TokenizedExample(prompt: [1, 2, 3, 4], response: []), TokenizedExample(prompt: [5], response: [])],
            model: model, context: ForwardContext())
        #expect(tokens == 2)
    }

    @Test func preferenceAccuracyAndMarginRise() throws {
        let model = try tinyModel(), reference = try tinyModel()
        // Chosen: the copy; rejected: the copy reversed.
        func pairs(_ seed: UInt64, _ n: Int) -> [TokenizedPair] {
            copyExamples(count: n, seed: seed).map { TokenizedPair(prompt: $0.prompt, chosen: $0.response, rejected: Array($0.response.reversed())) }
                .filter { $0.chosen != $0.rejected }
        }
        let objective = try DirectPreferenceObjective(train: pairs(4, 200), dev: pairs(5, 40), reference: reference, beta: 0.5,
                                                      maxTokens: 256, maxLength: 16)
        let before = try withoutGrad { try objective.validate(model: model) }
        #expect(before["accuracy"] == 0 && abs(before["reward_margin"] ?? 1) < 1e-6, "policy = reference at the start: \(before)")
        let history = try train(model, objective, steps: 40)
        let after = try withoutGrad { try objective.validate(model: model) }
        #expect((after["accuracy"] ?? 0) > 0.8, "held-out preference accuracy \(after)")
        let svg = String(decoding: try objective.reportFiles(history: history)["preference-curve.svg"] ?? Data(), as: UTF8.self)
        #expect(svg.contains("<svg") && svg.contains("held-out DPO loss"), "\(svg.prefix(200))")
        #expect((after["reward_margin"] ?? 0) > 0.1 && (after["loss"] ?? 1) < (before["loss"] ?? 0) - 0.05, "\(before) → \(after)")
        // The reference stayed frozen.
        #expect(reference.parameters.allSatisfy { !$0.requiresGrad })
    }

    @Test func policyRewardRises() throws {
        let model = try tinyModel(), reference = try tinyModel()
        let prompts = (0..<16).map { i in PromptReference(prompt: String(Array("defghijklmnopqr")[i % 15]), reference: "") }
        var grpo = GRPOSettings()
        grpo.groupSize = 8
        grpo.promptsPerBatch = 2
        grpo.maxNewTokens = 5
        grpo.klCoefficient = 0.01
        grpo.updatesPerRollout = 2
        let objective = try GroupRelativePolicyObjective(train: prompts, dev: nil, reference: reference, reward: EarlyLettersReward(),
                                                         tokenizer: LetterTokenizer(), settings: grpo, seed: 3)
        _ = try train(model, objective, steps: 40, learningRate: 1e-2)
        let curve = objective.rewardCurve.map(\.reward)
        #expect(curve.count == 20, "one rollout per two updates: \(curve.count)")
        let first = curve.prefix(4).reduce(0, +) / 4, last = curve.suffix(4).reduce(0, +) / 4
        #expect(last > first + 0.3, "rollout reward went from \(first) to \(last): \(curve)")
        let svg = String(decoding: try objective.reportFiles(history: [])["reward-curve.svg"] ?? Data(), as: UTF8.self)
        #expect(svg.hasPrefix("<svg") || svg.contains("<svg"))
    }

    @Test func groupsAreSampledAsOneBatchAndRepeatUnderASeed() throws {
        let model = try tinyModel()
        let prompts = [[4, 5], [4, 5], [4, 5], [6]]
        let sampler = StochasticSampler(temperature: 1, seed: 9)
        let a = try ResponseGeneration.generate(model, prompts: prompts, sampler: sampler, maxNewTokens: 6)
        let b = try ResponseGeneration.generate(model, prompts: prompts, sampler: sampler, maxNewTokens: 6)
        #expect(a == b && a.count == 4)
        #expect(Set(a.prefix(3).map(\.tokens)).count > 1, "three draws from one prompt should differ: \(a)")
        // Greedy generation of a row does not depend on the other rows of its batch.
        let greedyAlone = try ResponseGeneration.generate(model, prompts: [[6]], sampler: GreedySampler(), maxNewTokens: 6)
        let greedyMixed = try ResponseGeneration.generate(model, prompts: prompts, sampler: GreedySampler(), maxNewTokens: 6)
        #expect(greedyAlone[0] == greedyMixed[3])
    }

    /// With only a target-token budget, each objective stops at the first update that reaches it (never before,
    /// and past it by less than one update's tokens).
    @Test func targetTokensBudgetStopsEveryObjective() throws {
        func budgeted<Objective: DecoderObjective>(_ objective: Objective, model: CausalLMModel, tokens: Int) throws -> TrainingResult {
            var s = settings(steps: 1)
            s.steps = nil
            s.targetTokens = tokens
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-budget-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            return try Trainer(model: model as any DecoderOnlyModel, objective: objective, settings: s, directory: directory).run()
        }
        let model = try tinyModel()
        let sft = SupervisedFineTuningObjective(train: copyExamples(count: 100, seed: 2), dev: [], ids: model.specialIds, maxTokens: 256, maxLength: 16)
        let pairs = copyExamples(count: 100, seed: 4).map { TokenizedPair(prompt: $0.prompt, chosen: $0.response, rejected: Array($0.response.reversed())) }
        let dpo = try DirectPreferenceObjective(train: pairs, dev: [], reference: try tinyModel(), beta: 0.5, maxTokens: 256, maxLength: 16)
        var grpoSettings = GRPOSettings()
        grpoSettings.groupSize = 4
        grpoSettings.promptsPerBatch = 2
        grpoSettings.maxNewTokens = 4
        let prompts = (0..<8).map { PromptReference(prompt: String(Array("defghijk")[$0]), reference: "") }
        let grpo = try GroupRelativePolicyObjective(train: prompts, dev: nil, reference: try tinyModel(), reward: EarlyLettersReward(),
                                                    tokenizer: LetterTokenizer(), settings: grpoSettings, seed: 3)
        // The most tokens one update can add: a batch of at most 256 padded tokens; a GRPO batch of 8 outputs × 5.
        for (name, result, most) in [("sft", try budgeted(sft, model: model, tokens: 500), 256),
                                     ("dpo", try budgeted(dpo, model: try tinyModel(), tokens: 500), 256),
                                     ("grpo", try budgeted(grpo, model: try tinyModel(), tokens: 60), 40)] {
            #expect(result.outcome == .finished && result.tokens >= (name == "grpo" ? 60 : 500), "\(name): \(result.tokens)")
            #expect(result.tokens < (name == "grpo" ? 60 : 500) + most, "\(name) went \(result.tokens) tokens")
        }
    }
}
