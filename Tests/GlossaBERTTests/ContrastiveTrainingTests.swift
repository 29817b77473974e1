import Foundation
import Testing
import Glossa
import GlossaBERT
import GlossaBuiltins
import GlossaNN
import GlossaTensor
import GlossaTestSupport

@Suite struct ContrastiveTrainingTests {
    @Test func lossIsLowForMatchingRowsAndHasGradients() throws {
        let a = randomTensor([4, 8], seed: 1)
        let matching = inBatchNegativesLoss(anchors: a, positives: a).item
        let shuffled = inBatchNegativesLoss(anchors: a, positives: a.indexSelect(axis: 0, [1, 2, 3, 0])).item
        #expect(matching < shuffled)
        let x = Tensor(shape: [3, 5], scalars: randomTensor([3, 5], seed: 2).scalars, requiresGrad: true)
        let y = randomTensor([3, 5], seed: 3)
        checkGradients([x]) { inBatchNegativesLoss(anchors: $0[0], positives: y, scale: 5) }
    }

    @Test func precisionAtOne() {
        #expect(retrievalPrecisionAtOne(queries: [[1, 0], [0, 1]], candidates: [[2, 0.1], [0.1, 3]]) == 1)
        #expect(retrievalPrecisionAtOne(queries: [[1, 0], [0, 1]], candidates: [[0, 1], [1, 0]]) == 0)
    }

    static let pairs = [("hello world", "hallo welt"), ("the house", "das haus"), ("the dog", "der hund"), ("the cat", "die katze"),
                        ("good day", "gut tag"), ("the night", "die nacht"), ("small child", "klein kind"), ("new year", "neu jahr")]

    func settings(steps: Int?, learningRate: Float) -> TrainingSettings {
        var s = TrainingSettings()
        s.steps = steps
        s.schedule = .constant
        s.learningRate = learningRate
        s.warmupSteps = 0
        s.validateEvery = 1000
        s.checkpointEvery = 100
        s.averageLast = 1
        s.seed = 4
        return s
    }

    func directory() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("glossa-contrastive-\(UUID().uuidString)") }

    /// A tiny BERT learns to pair English words with German ones; the loss must fall and P@1 rise.
    @Test func trainingTinyBertRaisesRetrieval() throws {
        let base = try Embedder.load(BertFixture.directory, registry: builtinPlugins)
        let model = try BertModel(BertConfiguration(vocabSize: 285, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 64, maxPositions: 64), seed: 7)
        let embedder = Embedder(model: model, tokenizer: base.tokenizer, pooler: MeanPooler(), normalize: true, maxLength: 32)
        let objective = try ContrastiveObjective(embedder: embedder, pairs: Self.pairs, dev: Self.pairs, batchSize: 8, maxTokens: 1000)
        let folder = directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        var losses: [Double] = []
        let result = try Trainer(model: embedder, objective: objective, settings: settings(steps: 41, learningRate: 3e-3), directory: folder).run { event in
            if case .step(let progress) = event { losses.append(progress.loss) }
        }
        let before = result.history.first?.dev["p_at_1_forward"] ?? 1, after = result.history.last?.dev["p_at_1_forward"] ?? 0
        #expect(result.history.first?.step == 0 && losses.count == 41)
        #expect((losses.last ?? 1) < losses[0] * 0.5, "loss \(losses[0]) → \(losses.last ?? 0)")
        #expect(after >= 0.875 && after > before, "P@1 \(before) → \(after)")
    }

    func freshEmbedder() throws -> Embedder {
        let base = try Embedder.load(BertFixture.directory, registry: builtinPlugins)
        let model = try BertModel(BertConfiguration(vocabSize: 285, hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, maxPositions: 32), seed: 3)
        return Embedder(model: model, tokenizer: base.tokenizer, pooler: MeanPooler(), normalize: true, maxLength: 32)
    }

    func trainer(_ embedder: Embedder, steps: Int?, in folder: URL, tokens: Int? = nil) throws -> Trainer<ContrastiveObjective> {
        var settings = settings(steps: steps, learningRate: 1e-3)
        settings.targetTokens = tokens
        return Trainer(model: embedder, objective: try ContrastiveObjective(embedder: embedder, pairs: Self.pairs, dev: [], batchSize: 3, maxTokens: 1000),
                       settings: settings, directory: folder)
    }

    /// A run interrupted after 3 steps and resumed to 6 ends with the weights of an uninterrupted 6-step run.
    @Test func interruptedRunResumesToTheSameWeights() throws {
        let folder = directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let straight = try freshEmbedder()
        _ = try trainer(straight, steps: 6, in: folder.appendingPathComponent("a")).run()
        let stop = StopSignal()
        let first = try trainer(try freshEmbedder(), steps: 6, in: folder.appendingPathComponent("b")).run(stop: stop) { event in
            if case .step(let progress) = event, progress.step == 3 { stop.raise() }
        }
        #expect(first.step == 3 && first.outcome == .interrupted)
        let second = try freshEmbedder()
        let resumed = try trainer(second, steps: 6, in: folder.appendingPathComponent("b")).run(resume: true)
        #expect(resumed.step == 6)
        let a = straight.model.stateDictionary(), b = second.model.stateDictionary()
        for (name, tensor) in a { #expect(tensor.scalars == b[name]?.scalars, "\(name) differs after resume") }
    }

    /// With only a target-token budget, the run stops at the first update that reaches it.
    @Test func targetTokensBudgetStopsNearIt() throws {
        let folder = directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try trainer(try freshEmbedder(), steps: nil, in: folder, tokens: 200).run()
        // A batch of 3 pairs is at most 3 × 2 × 32 tokens.
        #expect(result.tokens >= 200 && result.tokens < 200 + 192, "\(result.tokens) tokens")
    }
}
