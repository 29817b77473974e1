import Foundation
import Testing
@testable import Glossa
import GlossaBuiltins
import GlossaMarian
import GlossaNN
import GlossaTensor

/// The trainer on a tiny Marian model and 200 real en-de pairs.
@Suite struct MarianTrainingTests {
    static let corpora = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../corpora").standardizedFileURL

    func setUp(dropout: Float = 0.1) throws -> (Translator, ParallelData) {
        let tokenizer = try MarianFixture.translator().sourceTokenizer
        var c = MarianConfiguration(vocabSize: 250, dModel: 32, encoderLayers: 1, decoderLayers: 1, heads: 4, ffnDim: 64,
                                    maxPositions: 128, padTokenId: 249, dropout: dropout)
        c.initStd = 0.05
        let model = try MarianModel(c, seed: 3)
        let files = ParallelFiles(source: Self.corpora.appendingPathComponent("en-de.dev.en").path,
                                  target: Self.corpora.appendingPathComponent("en-de.dev.de").path)
        let data = try ParallelData.load(files, source: tokenizer, target: tokenizer).prefix(200)
        return (Translator(model: model, sourceTokenizer: tokenizer, targetTokenizer: tokenizer), data)
    }

    func settings(steps: Int) -> TrainingSettings {
        var s = TrainingSettings()
        s.maxTokens = 600
        s.learningRate = 3e-3
        s.warmupSteps = 5
        s.steps = steps
        s.validateEvery = 1000
        s.checkpointEvery = 1000
        s.validationLines = 0
        return s
    }

    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("glossa-train-\(UInt64.random(in: 0...UInt64.max))")
    }

    func trainer(_ translator: Translator, _ data: ParallelData, dev: ParallelData?, steps: Int, in directory: URL) -> Trainer<TranslationObjective> {
        let settings = settings(steps: steps)
        return Trainer(model: translator, objective: TranslationObjective(translator: translator, train: data, dev: dev, settings: settings),
                       settings: settings, directory: directory)
    }

    @Test func lossFallsOnRealPairs() throws {
        let (translator, data) = try setUp()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trainer = trainer(translator, data, dev: data.prefix(50), steps: 40, in: dir)
        let before = try withoutGrad { try trainer.objective.validate(model: translator) }["loss"] ?? 0
        _ = try trainer.run()
        let after = try withoutGrad { try trainer.objective.validate(model: translator) }["loss"] ?? .infinity
        #expect(after < before - 0.5, "dev loss went from \(before) to \(after)")
    }

    @Test func interruptedRunResumesToTheSameWeights() throws {
        let straightDir = temporaryDirectory(), resumedDir = temporaryDirectory()
        defer { for d in [straightDir, resumedDir] { try? FileManager.default.removeItem(at: d) } }
        let (straight, data) = try setUp()
        _ = try trainer(straight, data, dev: nil, steps: 8, in: straightDir).run()

        // Stop after 3 updates as Ctrl-C would, then resume in a fresh process-like setup.
        let (first, _) = try setUp()
        let stop = StopSignal()
        let interrupted = try trainer(first, data, dev: nil, steps: 8, in: resumedDir).run(stop: stop) { event in
            if case .step(let progress) = event, progress.step == 3 { stop.raise() }
        }
        #expect(interrupted.outcome == .interrupted && interrupted.step == 3)
        let (second, _) = try setUp()
        _ = try trainer(second, data, dev: nil, steps: 8, in: resumedDir).run(resume: true)

        for (a, b) in zip(straight.model.namedParameters(), second.model.namedParameters()) {
            #expect(a.tensor.scalars == b.tensor.scalars, "\(a.name) differs after resuming")
        }
        let pad = second.model.stateDictionary()["model.shared.weight"]!.scalars[(249 * 32)..<(250 * 32)]
        #expect(pad.allSatisfy { $0 == 0 }, "the pad embedding must stay zero")
    }

    @Test func aWeightsOnlyMilestoneResumesWithFreshMoments() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (first, data) = try setUp()
        var s = settings(steps: 4)
        s.checkpointEvery = 4
        _ = try Trainer(model: first, objective: TranslationObjective(translator: first, train: data, dev: nil, settings: s),
                        settings: s, directory: dir).run()
        let checkpoint = dir.appendingPathComponent("checkpoints/step-0000004")
        try FileManager.default.removeItem(at: checkpoint.appendingPathComponent("optimizer.safetensors"))
        let (second, _) = try setUp()
        s.steps = 6
        var resumed: (step: Int, fresh: Bool)?
        let result = try Trainer(model: second, objective: TranslationObjective(translator: second, train: data, dev: nil, settings: s),
                                 settings: s, directory: dir).run(resume: true) { event in
            if case .resumed(_, let step, _, let fresh) = event { resumed = (step, fresh) }
        }
        #expect(resumed?.step == 4 && resumed?.fresh == true && result.step == 6)
    }

    @Test func shardsOnTheirOwnThreadsAddUpToTheWholeBatchGradient() throws {
        let (translator, data) = try setUp(dropout: 0)
        let objective = TranslationObjective(translator: translator, train: data, dev: nil, settings: settings(steps: 1))
        let parameters = translator.model.namedParameters().map(\.tensor).filter(\.requiresGrad)
        let batch = Array(0..<24)
        let whole = try objective.loss(batch: batch, model: translator, context: ForwardContext(training: true))
        (whole.loss * Float(whole.count)).backward()
        let expected = parameters.map { $0.grad?.scalars ?? [] }
        translator.model.zeroGrad()

        let parts = try ThreadShards(count: 3, seed: 1, step: 0, rank: 0).backward(batch, parameters: parameters, ready: nil) { shard, context in
            try objective.loss(batch: shard, model: translator, context: context)
        }
        #expect(parts.count == 3 && parts.map(\.count).reduce(0, +) == whole.count)
        let lossSum = parts.map { $0.value * Double($0.count) }.reduce(0, +)
        #expect(abs(lossSum - Double(whole.loss.item) * Double(whole.count)) < 1e-3 * lossSum)
        for (p, e) in zip(parameters, expected) {
            let got = p.grad?.scalars ?? []
            let scale = Swift.max(1, e.map(abs).max() ?? 0)
            let worst = zip(got, e).map { abs($0 - $1) }.max() ?? 0
            #expect(got.count == e.count && worst <= 1e-4 * scale, "gradient differs by \(worst) (scale \(scale))")
        }
    }

    @Test func targetTokensBudgetStopsNearIt() throws {
        let (translator, data) = try setUp()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var settings = settings(steps: 1)
        settings.steps = nil
        settings.targetTokens = 3000
        let result = try Trainer(model: translator, objective: TranslationObjective(translator: translator, train: data, dev: nil, settings: settings),
                                 settings: settings, directory: dir).run()
        // It stops at the first update that reaches the budget: past it by less than one batch of at most 600 tokens.
        #expect(result.tokens >= 3000 && result.tokens < 3600, "\(result.tokens) target tokens")
    }
}
