import Foundation
import Testing
import Glossa
import GlossaCausalLM
import GlossaNN
import GlossaTensor
import GlossaTestSupport

/// Runs of consecutive letters ("cdefg"): a tiny LM learns to continue them.
func alphabetRuns(count: Int, seed: UInt64) -> [[Int]] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
        let start = Int.random(in: 1...10, using: &rng), length = Int.random(in: 3...8, using: &rng)
        return Array(start..<(start + length))
    }
}

func tinySettings(steps: Int) -> TrainingSettings {
    var s = TrainingSettings()
    s.maxTokens = 200
    s.learningRate = 3e-3
    s.warmupSteps = 10
    s.labelSmoothing = 0
    s.steps = steps
    s.validateEvery = 1000
    s.checkpointEvery = 2
    s.averageLast = 1
    s.keepBest = false
    return s
}

/// The shared decoder-only training loop with the next-token objective.
@Suite struct DecoderTrainerTests {
    @Test func nextTokenLossFallsAndDevPerplexityWithIt() throws {
        let model = try CausalLMModel(tinyConfiguration(), seed: 1)
        let objective = LanguageModelingObjective(train: alphabetRuns(count: 400, seed: 2), dev: alphabetRuns(count: 40, seed: 3),
                                                  ids: model.specialIds, maxTokens: 200, maxLength: 16)
        let before = try withoutGrad { try objective.validate(model: model) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-lmtrain-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = Trainer(model: model, objective: objective, settings: tinySettings(steps: 60), directory: directory)
        let history = try trainer.run().history
        let after = try withoutGrad { try objective.validate(model: model) }
        let (start, end) = (before["perplexity"] ?? 0, after["perplexity"] ?? .infinity)
        #expect(start > 15, "an untrained model is near uniform over 20 tokens, got perplexity \(start)")
        #expect(end < start / 3, "dev perplexity went from \(start) to \(end)")
        #expect(history.last?.step == 60 && history.last?.dev["perplexity"] != nil)
        // The first record is the untrained model, before any update.
        #expect(history.first?.step == 0 && history.first?.trainLoss == nil)
        #expect(abs((history.first?.dev["perplexity"] ?? 0) - start) <= 1e-6 * start)
    }

    @Test func resumingRepeatsAnUninterruptedRun() throws {
        let data = alphabetRuns(count: 100, seed: 4)
        func train(_ steps: Int, resume: Bool, in directory: URL, model: CausalLMModel) throws {
            let objective = LanguageModelingObjective(train: data, dev: [], ids: model.specialIds, maxTokens: 100, maxLength: 16)
            var settings = tinySettings(steps: steps)
            settings.checkpointEvery = 3
            _ = try Trainer(model: model, objective: objective, settings: settings, directory: directory).run(resume: resume)
        }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-lmresume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let straight = try CausalLMModel(tinyConfiguration(), seed: 5)
        try train(6, resume: false, in: base.appendingPathComponent("a"), model: straight)
        try train(3, resume: false, in: base.appendingPathComponent("b"), model: try CausalLMModel(tinyConfiguration(), seed: 5))
        let resumed = try CausalLMModel(tinyConfiguration(), seed: 99)  // weights come from the checkpoint
        try train(6, resume: true, in: base.appendingPathComponent("b"), model: resumed)
        for ((name, a), (_, b)) in zip(straight.namedParameters(), resumed.namedParameters()) {
            assertClose(b.scalars, a.scalars, rtol: 0, atol: 0, name)
        }
    }

    @Test func accumulationAveragesOverTokensNotBatches() throws {
        // One update over two accumulated batches equals one update over their union.
        let data = alphabetRuns(count: 6, seed: 6)
        final class Fixed: DecoderObjective {
            let inner: LanguageModelingObjective
            let plan: [[Int]]
            init(_ inner: LanguageModelingObjective, plan: [[Int]]) { (self.inner, self.plan) = (inner, plan) }
            var name: String { "fixed" }
            var primaryMetric: PrimaryMetric? { nil }
            var batching: ExampleBatching { .bySize(count: 6, size: 6) }
            var next = 0
            func loss(batch: [Int], model: any DecoderOnlyModel, context: ForwardContext) throws -> ObjectiveLoss {
                // The batches of `plan` in turn, whatever the batcher cut.
                defer { next += 1 }
                return try inner.loss(batch: plan[next % plan.count], model: model, context: context)
            }
            func validate(model: any DecoderOnlyModel) throws -> [String: Double] { [:] }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-lmacc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var results: [CausalLMModel] = []
        for (plan, accumulate) in [([[0, 1], [2, 3, 4, 5]], 2), ([[0, 1, 2, 3, 4, 5]], 1)] {
            let model = try CausalLMModel(tinyConfiguration(), seed: 7)
            let inner = LanguageModelingObjective(train: data, dev: [], ids: model.specialIds, maxTokens: 1000, maxLength: 16)
            var settings = tinySettings(steps: 1)
            settings.accumulate = accumulate
            settings.clipNorm = 0
            _ = try Trainer(model: model, objective: Fixed(inner, plan: plan), settings: settings,
                            directory: directory.appendingPathComponent("\(accumulate)")).run()
            results.append(model)
        }
        for ((name, a), (_, b)) in zip(results[0].namedParameters(), results[1].namedParameters()) {
            assertClose(a.scalars, b.scalars, rtol: 1e-3, atol: 1e-6, name)
        }
    }

    @Test func streamedTextJoinsIntoTheFinalOutput() throws {
        let language = LanguageModel(model: try CausalLMModel(tinyConfiguration(), seed: 8), tokenizer: LetterTokenizer())
        var sampler = StochasticSampler(temperature: 1, seed: 3)
        var pieces: [String] = []
        let result = try language.continuation(of: "abc", sampler: &sampler, maxNewTokens: 12) { pieces.append($0) }
        #expect(pieces.joined() == result.text)
        #expect(!pieces.isEmpty)
        // Temperature 0 through the processors is greedy search exactly.
        let cold = try language.generate(["abc", "k"], sampler: StochasticSampler(temperature: 0), maxNewTokens: 12)
        let greedy = try language.generate(["abc", "k"], sampler: GreedySampler(), maxNewTokens: 12)
        #expect(cold == greedy)
    }

    @Test func groupSamplingMatchesOneAtATime() throws {
        // Sampling a group as one batch gives the greedy output in every row, like one row alone.
        let language = LanguageModel(model: try CausalLMModel(tinyConfiguration(), seed: 9), tokenizer: LetterTokenizer())
        var greedy = GreedySampler()
        let group = try language.sampleGroup([3, 4], count: 3, sampler: &greedy, maxNewTokens: 8)
        var single = GreedySampler()
        let alone = try language.sampleGroup([3, 4], count: 1, sampler: &single, maxNewTokens: 8)
        #expect(group.count == 3 && group.allSatisfy { $0.tokens == alone[0].tokens })
    }

    @Test func targetTokensBudgetStopsNextTokenTraining() throws {
        let model = try CausalLMModel(tinyConfiguration(), seed: 1)
        let objective = LanguageModelingObjective(train: alphabetRuns(count: 200, seed: 2), dev: [], ids: model.specialIds, maxTokens: 200, maxLength: 16)
        var settings = tinySettings(steps: 1)
        settings.steps = nil
        settings.targetTokens = 1000
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-lmbudget-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try Trainer(model: model as any DecoderOnlyModel, objective: objective, settings: settings, directory: directory).run()
        #expect(result.tokens >= 1000 && result.tokens < 1200, "\(result.tokens) tokens")
    }

    /// A loss that stops being a number ends the run with an error that names the last good checkpoint, which stays intact.
    @Test func aNaNLossStopsTheRunAndKeepsTheLastCheckpoint() throws {
        final class Diverging: DecoderObjective {
            let inner: LanguageModelingObjective
            var calls = 0
            init(_ inner: LanguageModelingObjective) { self.inner = inner }
            var name: String { "diverging" }
            var primaryMetric: PrimaryMetric? { nil }
            var batching: ExampleBatching { inner.batching }
            func loss(batch: [Int], model: any DecoderOnlyModel, context: ForwardContext) throws -> ObjectiveLoss {
                calls += 1
                var result = try inner.loss(batch: batch, model: model, context: context)
                if calls == 5 { result.loss = result.loss * Float.nan }
                return result
            }
            func validate(model: any DecoderOnlyModel) throws -> [String: Double] { [:] }
        }
        let model = try CausalLMModel(tinyConfiguration(), seed: 1)
        let objective = Diverging(LanguageModelingObjective(train: alphabetRuns(count: 100, seed: 2), dev: [], ids: model.specialIds,
                                                            maxTokens: 100, maxLength: 16))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-lmnan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = Trainer(model: model as any DecoderOnlyModel, objective: objective, settings: tinySettings(steps: 10), directory: directory)
        #expect {
            _ = try trainer.run()
        } throws: { error in
            "\(error)".contains("the loss became nan at update 5") && "\(error)".contains("step-0000004, is kept")
        }
        // The checkpoint before the NaN reads back, and resuming from it goes on.
        let checkpoint = directory.appendingPathComponent("checkpoints/step-0000004/model.safetensors")
        #expect(try Safetensors.read(contentsOf: checkpoint).tensors().values.allSatisfy { $0.scalars.allSatisfy(\.isFinite) })
        let resumed = try Trainer(model: try CausalLMModel(tinyConfiguration(), seed: 1) as any DecoderOnlyModel,
                                  objective: LanguageModelingObjective(train: alphabetRuns(count: 100, seed: 2), dev: [], ids: model.specialIds,
                                                                       maxTokens: 100, maxLength: 16),
                                  settings: tinySettings(steps: 6), directory: directory).run(resume: true)
        #expect(resumed.step == 6)
    }
}
