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

    /// A tiny BERT learns to pair English words with German ones; the loss must fall and P@1 rise.
    @Test func trainingTinyBertRaisesRetrieval() throws {
        let pairs = [("hello world", "hallo welt"), ("the house", "das haus"), ("the dog", "der hund"), ("the cat", "die katze"),
                     ("good day", "gut tag"), ("the night", "die nacht"), ("small child", "klein kind"), ("new year", "neu jahr")]
        let base = try Embedder.load(BertFixture.directory, registry: builtinPlugins)
        let model = try BertModel(BertConfiguration(vocabSize: 285, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 64, maxPositions: 64), seed: 7)
        let embedder = Embedder(model: model, tokenizer: base.tokenizer, pooler: MeanPooler(), normalize: true, maxLength: 32)
        func precision() throws -> Double {
            retrievalPrecisionAtOne(queries: try embedder.embed(pairs.map(\.0)), candidates: try embedder.embed(pairs.map(\.1)))
        }
        let before = try precision()
        let trainer = ContrastiveTrainer(embedder: embedder, schedule: .constant(3e-3), seed: 1)
        let first = try trainer.train(on: pairs)
        var last = first
        for _ in 0..<40 { last = try trainer.train(on: pairs) }
        #expect(last < first * 0.5, "loss \(first) → \(last)")
        let after = try precision()
        #expect(after >= 0.875 && after > before, "P@1 \(before) → \(after)")
    }

    /// A run interrupted after 3 steps and resumed to 6 ends with the weights of an uninterrupted 6-step run.
    @Test func interruptedRunResumesToTheSameWeights() throws {
        let pairs = [("hello world", "hallo welt"), ("the house", "das haus"), ("the dog", "der hund"), ("the cat", "die katze"),
                     ("good day", "gut tag"), ("the night", "die nacht"), ("small child", "klein kind"), ("new year", "neu jahr")]
        let base = try Embedder.load(BertFixture.directory, registry: builtinPlugins)
        func fresh() throws -> ContrastiveTrainer {
            let model = try BertModel(BertConfiguration(vocabSize: 285, hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, maxPositions: 32), seed: 3)
            let embedder = Embedder(model: model, tokenizer: base.tokenizer, pooler: MeanPooler(), normalize: true, maxLength: 32)
            return ContrastiveTrainer(embedder: embedder, schedule: .constant(1e-3), seed: 9)
        }
        let settings = ContrastiveRunSettings(batchSize: 3, steps: 6, minutes: nil, checkpointEvery: 100, seed: 4)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-contrastive-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }

        let straight = try fresh()
        _ = try straight.run(pairs: pairs, settings: settings, directory: folder.appendingPathComponent("a"), resume: false, shouldStop: { false }, log: { _ in })

        let first = try fresh()
        _ = try first.run(pairs: pairs, settings: settings, directory: folder.appendingPathComponent("b"), resume: false,
                          shouldStop: { first.step >= 3 }, log: { _ in })
        #expect(first.step == 3)
        let second = try fresh()
        _ = try second.run(pairs: pairs, settings: settings, directory: folder.appendingPathComponent("b"), resume: true, shouldStop: { false }, log: { _ in })
        #expect(second.step == 6)
        let a = straight.embedder.model.stateDictionary(), b = second.embedder.model.stateDictionary()
        for (name, tensor) in a { #expect(tensor.scalars == b[name]?.scalars, "\(name) differs after resume") }
    }
}
