import Foundation
import Testing
import Glossa
@testable import GlossaBERT
import GlossaBuiltins
import GlossaNN
import GlossaTensor
import GlossaTestSupport

/// Masked-LM pretraining: BERT's masking rule, the objective on the one trainer, and the transformers
/// `BertForMaskedLM` layout, with the tiny fixture made by `scripts/fixtures/make_bert_mlm_fixture.py`.
@Suite struct MaskedLanguageModelTests {
    static let fixture = BertFixture.directory.deletingLastPathComponent().appendingPathComponent("bert-mlm-tiny")

    struct Expected: Decodable {
        struct Case: Decodable { var ids: [Int]; var positions: [Int]; var logits: [[Float]] }
        var mask_token_id: Int
        var cases: [Case]
    }

    func scratch() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("glossa-mlm-\(UUID().uuidString)") }

    func fixtureModel() throws -> MaskedLanguageModel {
        let configuration = try JSONDecoder().decode(BertConfiguration.self, from: Data(contentsOf: Self.fixture.appendingPathComponent("config.json")))
        let model = MaskedLanguageModel(base: try BertModel(configuration, initialize: false))
        try model.loadCheckpoint(try Safetensors.read(contentsOf: Self.fixture.appendingPathComponent("model.safetensors")).tensors())
        return model
    }

    /// transformers' logits at the [MASK] positions, from the directory as transformers wrote it (tied decoder).
    @Test func transformersDirectoryLoadsWithItsLogits() throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.fixture.appendingPathComponent("expected.json")))
        let model = try fixtureModel()
        for c in expected.cases {
            let logits = try withoutGrad { try model.logits(TokenBatch([c.ids], padId: 0), positions: c.positions, context: ForwardContext()) }
            #expect(logits.shape == [c.positions.count, 285])
            for (row, want) in zip(0..<c.positions.count, c.logits) {
                let got = Array(logits.scalars[(row * 285)..<((row + 1) * 285)])
                let worst = zip(got, want).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
                #expect(worst < 1e-4, "\(c.ids) at \(c.positions[row]): relative difference \(worst)")
            }
        }
    }

    /// A masked LM Glossa saves claims `BertForMaskedLM` and has exactly transformers' tensor names and shapes (no
    /// pooler, no stored decoder weight), and reads back with the same logits.
    @Test func savedDirectoryHasTheTransformersLayout() throws {
        let model = try fixtureModel()
        let tokenizer = try Classifier.load(ClassifierTests.fixture, registry: builtinPlugins).tokenizer
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        try model.save(to: folder, tokenizer: tokenizer)
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any])
        #expect(config["architectures"] as? [String] == ["BertForMaskedLM"])
        func shapes(_ url: URL) throws -> [String: [Int]] {
            try Safetensors.read(contentsOf: url.appendingPathComponent("model.safetensors")).tensors().mapValues(\.shape)
        }
        #expect(try shapes(folder) == (try shapes(Self.fixture)))
        let again = try fixtureModel()
        try again.loadCheckpoint(try Safetensors.read(contentsOf: folder.appendingPathComponent("model.safetensors")).tensors())
        let batch = TokenBatch([[2, 30, 4, 3]], padId: 0)
        let a = try withoutGrad { try model.logits(batch, positions: [1, 2], context: ForwardContext()) }.scalars
        let b = try withoutGrad { try again.logits(batch, positions: [1, 2], context: ForwardContext()) }.scalars
        #expect(a == b)
        // The saved directory also opens as a plain encoder (the `bert.` prefix and the `cls.` head are dropped).
        #expect(try Embedder.load(folder, registry: builtinPlugins).embed(["the house"]).first?.count == 32)
    }

    /// Seeded, and BERT's rule: about 15% of the maskable tokens chosen, of those about 80% masked, 10% replaced by a
    /// random token and 10% kept; boundary tokens never chosen.
    @Test func maskingIsSeededAndFollowsTheRule() throws {
        var source = SeededGenerator(seed: 1)
        let ids = (0..<60_000).map { $0 % 50 == 49 ? 0 : Int.random(in: 5..<1000, using: &source) }  // 0: a boundary token
        let randomIds = Array(5..<1000)
        func run(_ seed: UInt64) -> (input: [Int], positions: [Int], targets: [Int]) {
            var generator = SeededGenerator(seed: seed)
            return MaskingRule.bert.apply(to: ids, maskId: 2, randomIds: randomIds, maskable: { $0 != 0 }, using: &generator)
        }
        let result = run(7)
        #expect(result.input == run(7).input && result.positions == run(7).positions)
        #expect(result.positions != run(8).positions)
        let maskable = ids.filter { $0 != 0 }.count
        let chosen = Double(result.positions.count) / Double(maskable)
        #expect(abs(chosen - 0.15) < 0.006, "chosen \(chosen)")
        #expect(result.positions.allSatisfy { ids[$0] != 0 } && result.targets == result.positions.map { ids[$0] })
        let n = Double(result.positions.count)
        let masked = Double(result.positions.filter { result.input[$0] == 2 }.count) / n
        let kept = Double(result.positions.filter { result.input[$0] == ids[$0] }.count) / n
        let random = 1 - masked - kept
        #expect(abs(masked - 0.8) < 0.015 && abs(kept - 0.1) < 0.012 && abs(random - 0.1) < 0.012, "masked \(masked), kept \(kept), random \(random)")
        let unchosen = Set(result.positions)
        #expect(ids.indices.allSatisfy { unchosen.contains($0) || result.input[$0] == ids[$0] })
        // A short text with nothing drawn still gets one position, so no batch is empty.
        var generator = SeededGenerator(seed: 3)
        #expect(MaskingRule(probability: 1e-9, maskShare: 1, randomShare: 0).apply(to: [9, 0], maskId: 2, randomIds: randomIds,
                                                                                  maskable: { $0 != 0 }, using: &generator).positions == [0])
    }

    /// Rules and settings outside their ranges are refused with an error, not a crash.
    @Test func badSettingsAreRefused() throws {
        for rule in [MaskingRule(probability: 0, maskShare: 0.8, randomShare: 0.1), MaskingRule(probability: 1.5, maskShare: 0.8, randomShare: 0.1),
                     MaskingRule(probability: 0.15, maskShare: 0.9, randomShare: 0.2), MaskingRule(probability: 0.15, maskShare: -0.1, randomShare: 0.1),
                     MaskingRule(probability: .nan, maskShare: 0.8, randomShare: 0.1)] {
            #expect(throws: GlossaError.self) { try rule.check() }
        }
        let tokenizer = try Classifier.load(ClassifierTests.fixture, registry: builtinPlugins).tokenizer
        #expect(throws: GlossaError.self) {
            try MaskedLanguageModelingObjective(train: [[]], dev: [], tokenizer: tokenizer, maxLength: 32, maxTokens: 100, seed: 1)
        }
        #expect(throws: GlossaError.self) {
            try MaskedLanguageModelingObjective(train: [[5, 6]], dev: [], tokenizer: tokenizer, maskId: 10_000, maxLength: 32, maxTokens: 100, seed: 1)
        }
    }

    /// On the one trainer, a tiny BERT's masked-token loss falls and its dev masked-token accuracy rises.
    @Test func lossFallsOnATinyBert() throws {
        let tokenizer = try Classifier.load(ClassifierTests.fixture, registry: builtinPlugins).tokenizer
        let texts = ["the house is small", "the dog is good", "the cat is small", "das haus ist klein", "der hund ist gut", "the night is good"]
        let ids = try tokenizer.encodeBatch(texts)
        let base = try BertModel(BertConfiguration(vocabSize: 285, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 64, maxPositions: 64), seed: 7)
        let model = MaskedLanguageModel(base: base, seed: 2)
        let objective = try MaskedLanguageModelingObjective(train: Array(repeating: ids, count: 4).flatMap { $0 }, dev: ids, tokenizer: tokenizer,
                                                            maxLength: 32, maxTokens: 400, seed: 3)
        var settings = TrainingSettings()
        settings.steps = 60
        settings.schedule = .constant
        settings.learningRate = 3e-3
        settings.warmupSteps = 0
        settings.validateEvery = 60
        settings.checkpointEvery = 100
        settings.seed = 4
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try Trainer(model: model, objective: objective, settings: settings, directory: folder).run()
        let before = try #require(result.history.first?.dev), after = try #require(result.history.last?.dev)
        #expect((after["loss"] ?? 99) < (before["loss"] ?? 0) * 0.6, "dev loss \(before) → \(after)")
        #expect((after["accuracy"] ?? 0) > (before["accuracy"] ?? 1) + 0.2, "dev accuracy \(before) → \(after)")
    }
}
