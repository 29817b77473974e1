import Foundation
import Glossa
import GlossaCausalLM
import GlossaNN
import GlossaTensor
import GlossaTestSupport
import Testing

/// Multi-task SFT: the per-epoch draw of a task mixture, per-task dev loss, per-task scoring of greedy responses.
@Suite struct MultitaskTests {
    /// Two tasks over the letters: "copy" repeats the prompt, "first" answers with its first letter.
    func examples(count: Int, seed: UInt64) -> [TokenizedExample] {
        copyExamples(count: count, seed: seed).enumerated().map { i, e in
            i % 3 == 0 ? TokenizedExample(prompt: e.prompt, response: [e.prompt[0]], task: "first")
                : TokenizedExample(prompt: e.prompt, response: e.response, task: "copy")
        }
    }

    @Test func mixtureDrawsEachTaskAtItsShareWithoutRepeatsWithinAPass() {
        let mixture = ExampleMixture(groups: [
            ExampleMixture.Group(key: ExampleMixture.key(of: "a"), indices: Array(0..<10), perEpoch: 4),
            ExampleMixture.Group(key: ExampleMixture.key(of: "b"), indices: Array(10..<13), perEpoch: 5),
        ])
        var a: [Int] = [], b: [Int] = []
        for epoch in 0..<5 {
            let drawn = mixture.draw(seed: 7, epoch: epoch)
            #expect(drawn.count == 9)
            a += drawn.filter { $0 < 10 }
            b += drawn.filter { $0 >= 10 }
            #expect(drawn == mixture.draw(seed: 7, epoch: epoch), "an epoch's draw depends only on (seed, epoch)")
        }
        // 20 draws of a's 10 examples: two whole passes, each a permutation; b (3 examples, 5 per epoch) is repeated.
        #expect(Set(a.prefix(10)) == Set(0..<10) && Set(a.suffix(10)) == Set(0..<10), "\(a)")
        #expect(a.prefix(10) != a.suffix(10), "each pass is a fresh permutation")
        #expect(Set(b.prefix(3)) == Set(10..<13) && b.count == 25)
        // A group alone draws what it draws inside the mixture: a single-task run sees the same examples.
        let alone = ExampleMixture(groups: [mixture.groups[1]])
        #expect(alone.draw(seed: 7, epoch: 2) == mixture.draw(seed: 7, epoch: 2).filter { $0 >= 10 })
        #expect(ExampleMixture.key(of: "a") != ExampleMixture.key(of: "b"))
    }

    @Test func taskMixtureSplitsAnEpochByRatioAndBatchesOnlyItsTasks() {
        let mixture = TaskMixture(ratios: ["copy": 3, "first": 1], epochExamples: 40)
        #expect(mixture.perEpoch(available: 1000) == ["copy": 30, "first": 10])
        #expect(TaskMixture(ratios: ["copy": 1, "first": 1]).perEpoch(available: 7) == ["copy": 4, "first": 4])
        let train = examples(count: 60, seed: 1) + [TokenizedExample(prompt: [1], response: [2], task: "other")]
        let objective = SupervisedFineTuningObjective(train: train, dev: [], ids: SequenceSpecialIds(eos: 0, pad: 19, decoderStart: 0),
                                                      maxTokens: 64, maxLength: 16, mixture: mixture)
        let plan = ExampleBatcher.epoch(objective.batching, seed: 1, epoch: 0)
        let drawn = plan.flatMap { $0 }
        #expect(drawn.count == 40)
        #expect(drawn.filter { train[$0].task == "first" }.count == 10 && !drawn.contains(60), "no example of an unlisted task")
        #expect(plan.allSatisfy { batch in batch.count * (batch.map { 1 + train[$0].prompt.count + train[$0].response.count }.max() ?? 0) <= 64 })
        let composition = objective.epochComposition(seed: 1)
        #expect(composition.map(\.task) == ["copy", "first"] && composition.map(\.examples) == [30, 10])
        #expect(composition[1].responseTokens == 20, "one letter and EOS per 'first' example")
        let tokens = drawn.filter { train[$0].task == "copy" }.reduce(0) { $0 + train[$1].response.count + 1 }
        #expect(composition[0].responseTokens == tokens, "the tokens of the epoch's own draw")
    }

    @Test func validationScoresEachTaskAndTheirMean() throws {
        let model = try tinyModel()
        let dev = examples(count: 30, seed: 4)
        let prompts = dev.map { PromptReference(prompt: String($0.prompt.map { Character(UnicodeScalar(96 + $0)!) }), reference: "abc", task: $0.task) }
        let check = GenerationCheck(examples: prompts, reward: ChrFReward(), taskRewards: ["first": ExactMatchReward()],
                                    tokenizer: LetterTokenizer(), maxNewTokens: 4)
        let objective = SupervisedFineTuningObjective(train: dev, dev: dev, ids: model.specialIds, maxTokens: 256, maxLength: 16,
                                                      generation: check, mixture: TaskMixture(ratios: ["copy": 1, "first": 1]))
        let scores = try withoutGrad { try objective.validate(model: model) }
        for key in ["loss", "copy/loss", "first/loss", "copy/chrf", "copy/corpus_chrf", "first/accuracy", "reward"] {
            #expect(scores[key] != nil, "\(key) missing from \(scores.keys.sorted())")
        }
        #expect(scores["first/chrf"] == nil && scores["copy/accuracy"] == nil, "each task by its own reward")
        #expect(scores["copy/examples"] == 20 && scores["first/examples"] == 10)
        let mean = ((scores["copy/reward"] ?? .nan) + (scores["first/reward"] ?? .nan)) / 2
        #expect(abs((scores["reward"] ?? 0) - mean) < 1e-12, "the primary reward is the mean over tasks")
        // The overall dev loss is the token-weighted mean of the tasks' losses.
        let copyTokens = Double(dev.filter { $0.task == "copy" }.reduce(0) { $0 + $1.response.count + 1 })
        let firstTokens = Double(dev.filter { $0.task == "first" }.count * 2)
        let weighted = ((scores["copy/loss"] ?? 0) * copyTokens + (scores["first/loss"] ?? 0) * firstTokens) / (copyTokens + firstTokens)
        #expect(abs((scores["loss"] ?? 0) - weighted) < 1e-9)

        // One set of examples with and without tasks is refused, not scored half one way.
        var mixed = prompts
        mixed[0].task = nil
        let bad = GenerationCheck(examples: mixed, reward: ChrFReward(), tokenizer: LetterTokenizer(), maxNewTokens: 4)
        #expect(throws: GlossaError.self) { try bad.run(model) }
        #expect(GenerationCheck.firstPerTask(prompts, limit: 3).count == 6)
    }

    @Test func mixtureTrainsBothTasks() throws {
        let model = try tinyModel()
        let objective = SupervisedFineTuningObjective(train: examples(count: 300, seed: 2), dev: examples(count: 60, seed: 3),
                                                      ids: model.specialIds, maxTokens: 256, maxLength: 16,
                                                      mixture: TaskMixture(ratios: ["copy": 1, "first": 1], epochExamples: 120))
        let before = try withoutGrad { try objective.validate(model: model) }
        _ = try train(model, objective, steps: 60)
        let after = try withoutGrad { try objective.validate(model: model) }
        for task in ["copy", "first"] {
            #expect((after["\(task)/loss"] ?? .infinity) < (before["\(task)/loss"] ?? 0) - 0.3, "\(task): \(before) → \(after)")
        }
    }

    @Test func exactMatchIsTrimmedEquality() {
        let r = ExactMatchReward()
        #expect(r.score(output: " calc\n", reference: "calc").value == 1)
        #expect(r.score(output: "Calc", reference: "calc").value == 0)
        #expect(r.score(output: "calc writer", reference: "calc").components["accuracy"] == 0)
        #expect((try? Rewards.named("exact"))?.name == "exact")
    }
}
