import Foundation
import Glossa
import GlossaCausalLM
import GlossaNN
import GlossaTensor
import GlossaTestSupport
import Testing

/// Rankings of random letter strings by the early-letters reward (the hidden "person"), ties where it is equal.
func earlyLetterRankings(count: Int, responses: Int = 3, seed: UInt64) -> [RankingRecord] {
    var rng = SeededGenerator(seed: seed)
    let letters = Array("abcdefghijklmnopqr"), truth = EarlyLettersReward()
    func word() -> String { String((0..<Int.random(in: 2...5, using: &rng)).map { _ in letters[Int.random(in: 0..<18, using: &rng)] }) }
    return (0..<count).map { i in
        let texts = (0..<responses).map { _ in word() }
        let values = texts.map { truth.score(output: $0, reference: "").value }
        // Tie groups by value, best first.
        let groups = Set(values).sorted(by: >).map { v in texts.indices.filter { values[$0] == v } }
        return RankingRecord(index: i, prompt: String(letters[3 + i % 15]), responses: texts, ranking: groups)
    }
}

func tinyRewardModel(seed: UInt64 = 1) throws -> RewardModel {
    RewardModel(network: try RewardNetwork(backbone: .decoder(try tinyModel(seed: seed)), seed: seed), tokenizer: LetterTokenizer(), maxLength: 32)
}

func trainReward(_ model: RewardModel, _ objective: RewardModelObjective, steps: Int) throws -> [TrainingRecord] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-reward-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    return try Trainer(model: model, objective: objective, settings: settings(steps: steps, learningRate: 3e-3), directory: directory).run().history
}

/// Rankings, the Bradley–Terry reward model, and GRPO against it.
@Suite struct RewardModelTests {
    @Test func rankingLinesParse() throws {
        #expect(try RankingCommand.parse("2 1 3", count: 3) == .ranking([[1], [0], [2]]))
        #expect(try RankingCommand.parse(" 2=1 3 ", count: 3) == .ranking([[1, 0], [2]]))
        #expect(try RankingCommand.parse("3=1=2", count: 3) == .ranking([[2, 0, 1]]))
        #expect(try RankingCommand.parse("s", count: 3) == .skip)
        #expect(try RankingCommand.parse("U", count: 3) == .undo)
        #expect(try RankingCommand.parse("q", count: 3) == .quit)
        for bad in ["2 1", "2 1 1", "4 1 2", "0 1 2", "2==1 3", "x", ""] {
            #expect(throws: GlossaError.self, "\(bad)") { try RankingCommand.parse(bad, count: 3) }
        }
    }

    @Test func aRankingImpliesEveryPairAndTies() throws {
        let record = RankingRecord(index: 0, prompt: "p", responses: ["a", "b", "c"], ranking: [[1, 0], [2]])
        try record.validate()
        #expect(record.comparisons == [.init(first: 1, second: 0, tie: true), .init(first: 1, second: 2, tie: false),
                                       .init(first: 0, second: 2, tie: false)])
        #expect(record.preferencePairs == [PreferencePair(prompt: "p", chosen: "b", rejected: "c"), PreferencePair(prompt: "p", chosen: "a", rejected: "c")])
        #expect(throws: GlossaError.self) { try RankingRecord(index: 0, prompt: "p", responses: ["a"], ranking: [[0], [1]]).validate() }
        #expect(throws: GlossaError.self) { try RankingRecord(index: 0, prompt: "p", responses: ["a", "b"], ranking: [[0, 0]]).validate() }
    }

    @Test func bradleyTerryMatchesItsDefinitionAndItsGradient() throws {
        let delta = Tensor([0.5, -1, 2])
        let ties = [false, true, false]
        func softplus(_ x: Double) -> Double { log(1 + exp(x)) }
        let expected = (softplus(-0.5) + 0.5 * (softplus(1) + softplus(-1)) + softplus(-2)) / 3
        #expect(abs(Double(RewardModelObjective.bradleyTerry(delta, ties: ties).item) - expected) < 1e-5)
        checkGradients([Tensor([0.3, -0.7, 1.1])]) { RewardModelObjective.bradleyTerry($0[0], ties: ties) }
        // A tie's loss is smallest where the two rewards are equal.
        let tie = [true]
        #expect(RewardModelObjective.bradleyTerry(Tensor([0]), ties: tie).item < RewardModelObjective.bradleyTerry(Tensor([0.5]), ties: tie).item)
    }

    @Test func heldOutPairwiseAccuracyRises() throws {
        let model = try tinyRewardModel()
        let train = try TokenizedRanking.tokenize(earlyLetterRankings(count: 300, seed: 2), with: model)
        let dev = try TokenizedRanking.tokenize(earlyLetterRankings(count: 60, seed: 3), with: model)
        let objective = try RewardModelObjective(train: train, dev: dev, batchSize: 16, maxTokens: 1024)
        let before = try objective.validate(model: model)["accuracy"] ?? 1
        _ = try trainReward(model, objective, steps: 120)
        let after = try objective.validate(model: model)
        #expect((after["accuracy"] ?? 0) > 0.85 && (after["accuracy"] ?? 0) > before + 0.2, "held-out pairwise accuracy \(before) → \(after)")
        #expect((after["ties"] ?? 0) > 0, "the data has ties: \(after)")
        // The trained network is what scores: padding a batch does not change a row's reward.
        let rows = try model.rows(prompts: ["d", "d"], responses: ["abc", "qrqrqr"])
        let alone = try model.score(rows: [rows[0]]), together = try model.score(rows: rows)
        #expect(abs(alone[0] - together[0]) < 1e-4 && together[0] > together[1])
    }

    @Test func anEnsembleAveragesScoresStandardisedOnTheFirstBatch() throws {
        let a = try tinyRewardModel(seed: 1), b = try tinyRewardModel(seed: 2)
        let ensemble = try LearnedReward(models: [a, b])
        let first = ["abc", "qrq", "d", "klmno"], second = ["ab", "rrr", "ddd", "e"]
        let prompts = [String](repeating: "d", count: 4), references = [String](repeating: "", count: 4)
        let scales = try [a, b].map { model in
            let s = try model.score(prompts: prompts, responses: first)
            let mean = s.reduce(0, +) / 4
            return (mean, (s.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 4).squareRoot())
        }
        func expected(_ outputs: [String]) throws -> [Double] {
            let raw = try [a, b].map { try $0.score(prompts: prompts, responses: outputs) }
            return (0..<4).map { i in ((raw[0][i] - scales[0].0) / scales[0].1 + (raw[1][i] - scales[1].0) / scales[1].1) / 2 }
        }
        // The second batch is standardised with the first batch's means and deviations, not its own.
        for outputs in [first, second] {
            let got = try ensemble.scores(prompts: prompts, outputs: outputs, references: references).map(\.value)
            #expect(zip(got, try expected(outputs)).allSatisfy { abs($0 - $1) < 1e-9 }, "\(got)")
        }
        // One model scores as it is.
        let one = try LearnedReward(model: a).scores(prompts: prompts, outputs: second, references: references).map(\.value)
        #expect(one == (try a.score(prompts: prompts, responses: second)))
        #expect(throws: GlossaError.self) { try LearnedReward(models: []) }
    }

    @Test func grpoAgainstTheLearnedRewardRaisesTheTrueOne() throws {
        let rewardModel = try tinyRewardModel(seed: 5)
        let objective = try RewardModelObjective(train: try TokenizedRanking.tokenize(earlyLetterRankings(count: 300, seed: 6), with: rewardModel),
                                                 dev: [], batchSize: 16, maxTokens: 1024)
        _ = try trainReward(rewardModel, objective, steps: 120)
        let learned = LearnedReward(model: rewardModel, monitor: EarlyLettersReward())
        let scored = try learned.scores(prompts: ["d", "d"], outputs: ["abc", "qrq"], references: ["", ""])
        #expect(scored[0].components["true_reward"] == 1 && scored[1].components["true_reward"] == 0 && scored[0].value > scored[1].value)
        #expect(rewardModel.network.parameters.allSatisfy { !$0.requiresGrad }, "the reward model is frozen")

        let model = try tinyModel(), reference = try tinyModel()
        let prompts = (0..<16).map { i in PromptReference(prompt: String(Array("defghijklmnopqr")[i % 15]), reference: "") }
        var grpo = GRPOSettings()
        grpo.groupSize = 8
        grpo.promptsPerBatch = 2
        grpo.maxNewTokens = 5
        grpo.klCoefficient = 0.01
        grpo.updatesPerRollout = 2
        let policy = try GroupRelativePolicyObjective(train: prompts, dev: nil, reference: reference, reward: learned,
                                                      tokenizer: LetterTokenizer(), settings: grpo, seed: 3)
        _ = try train(model, policy, steps: 40, learningRate: 1e-2)
        // The true reward of the rollouts, which GRPO never saw, rises with the learned one.
        let samples = try withoutGrad {
            try ResponseGeneration.generate(model, prompts: prompts.map { try LetterTokenizer().encode($0.prompt) },
                                            sampler: StochasticSampler(temperature: 1, seed: 11), maxNewTokens: 5)
        }
        let before = try withoutGrad {
            try ResponseGeneration.generate(reference, prompts: prompts.map { try LetterTokenizer().encode($0.prompt) },
                                            sampler: StochasticSampler(temperature: 1, seed: 11), maxNewTokens: 5)
        }
        func truthOf(_ rows: [GeneratedResponse]) throws -> Double {
            EarlyLettersReward().summary(outputs: try rows.map { try LetterTokenizer().decode($0.tokens) },
                                         references: [String](repeating: "", count: rows.count))["reward"] ?? 0
        }
        let (t0, t1) = (try truthOf(before), try truthOf(samples))
        #expect(t1 > t0 + 0.2, "true reward of samples \(t0) → \(t1)")
    }
}
