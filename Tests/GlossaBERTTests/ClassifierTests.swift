import Foundation
import Testing
import Glossa
@testable import GlossaBERT
import GlossaBuiltins
import GlossaNN
import GlossaTensor
import GlossaTestSupport

/// The classification head, its objective on the one trainer, and the transformers layout, with the tiny
/// `BertForSequenceClassification` made by `scripts/fixtures/make_bert_classifier_fixture.py`.
@Suite struct ClassifierTests {
    static let fixture = BertFixture.directory.deletingLastPathComponent().appendingPathComponent("bert-classifier-tiny")

    struct Expected: Decodable {
        struct Case: Decodable { var text: String; var ids: [Int]; var logits: [Float]; var probabilities: [Float] }
        var labels: [String]
        var cases: [Case]
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixture.appendingPathComponent("expected.json")))
    }

    func scratch() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("glossa-classifier-\(UUID().uuidString)") }

    /// The gradient of the weighted cross-entropy through BERT's pooler (tanh of a dense layer over [CLS]) and the head.
    @Test func headGradientMatchesFiniteDifferences() throws {
        var generator = SeededGenerator(seed: 5)
        let dense = Linear(6, 6, generator: &generator), head = Linear(6, 3, generator: &generator)
        let states = Tensor(shape: [2, 3, 6], scalars: randomTensor([2, 3, 6], seed: 9).scalars, requiresGrad: true)
        let batch = TokenBatch([[1, 2, 3], [4, 5]], padId: 0)
        let weights = Tensor(shape: [2], scalars: [0.5, 1.5])
        checkGradients([states, head.weight, dense.weight]) { inputs in
            let logits = head(BertPoolerOutput(dense: dense).pool(inputs[0], batch: batch))
            return (logits.crossEntropyRows(targets: [2, 0]) * weights).mean()
        }
    }

    /// transformers' logits for the fixture's texts, from the directory as transformers wrote it.
    @Test func transformersDirectoryLoadsWithItsLogits() throws {
        let expected = try Self.expected()
        let classifier = try Classifier.load(Self.fixture, registry: builtinPlugins)
        #expect(classifier.labels == expected.labels)
        for c in expected.cases {
            let ids = try classifier.tokenize(c.text)
            #expect(ids == c.ids, "\(c.text)")
            let logits = try withoutGrad { try classifier.logits(tokenized: [ids], context: ForwardContext()) }.scalars
            for (a, b) in zip(logits, c.logits) { #expect(abs(a - b) <= 1e-4 + 1e-4 * abs(b), "\(c.text): \(logits) vs \(c.logits)") }
        }
        let top = try classifier.classify(expected.cases.map(\.text), topK: 2)
        for (predictions, c) in zip(top, expected.cases) {
            let best = c.probabilities.indices.max { c.probabilities[$0] < c.probabilities[$1] } ?? -1
            #expect(predictions.count == 2 && predictions[0].label == expected.labels[best])
            #expect(abs(predictions[0].probability - Double(c.probabilities[best])) < 1e-4)
        }
    }

    /// A classifier Glossa saves has the config keys, tensor names and shapes transformers wrote, and reads back alike.
    @Test func savedDirectoryHasTheTransformersLayout() throws {
        let classifier = try Classifier.load(Self.fixture, registry: builtinPlugins)
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        try classifier.save(to: folder)
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any])
        #expect(config["architectures"] as? [String] == ["BertForSequenceClassification"])
        #expect(config["id2label"] as? [String: String] == ["0": "negative", "1": "neutral", "2": "positive"])
        #expect(config["label2id"] as? [String: Int] == ["negative": 0, "neutral": 1, "positive": 2])
        #expect(config["glossa_pooling"] == nil)
        func shapes(_ url: URL) throws -> [String: [Int]] {
            try Safetensors.read(contentsOf: url.appendingPathComponent("model.safetensors")).tensors().mapValues(\.shape)
        }
        #expect(try shapes(folder) == (try shapes(Self.fixture)))
        let again = try Classifier.load(folder, registry: builtinPlugins)
        let texts = try Self.expected().cases.map(\.text)
        let a = try classifier.probabilities(tokenized: texts.map(classifier.tokenize)), b = try again.probabilities(tokenized: texts.map(again.tokenize))
        #expect(a == b)
    }

    /// Another pooling is recorded as `glossa_pooling` (no transformers class is claimed) and read back.
    @Test func otherPoolingIsRecorded() throws {
        let base = try Classifier.load(Self.fixture, registry: builtinPlugins)
        let model = try BertModel(BertConfiguration(vocabSize: 285, hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, maxPositions: 32), seed: 3)
        let classifier = try Classifier(model: model, tokenizer: base.tokenizer, labels: ["a", "b"], pooling: [.mean], maxLength: 32)
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        try classifier.save(to: folder)
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as? [String: Any])
        #expect(config["glossa_pooling"] as? [String] == ["mean"])
        #expect(config["architectures"] as? [String] == ["BertModel"])
        let again = try Classifier.load(folder, registry: builtinPlugins)
        #expect(again.network.poolingModes == [.mean])
        #expect(try again.classify(["the house"]).first?.first?.label == (try classifier.classify(["the house"]).first?.first?.label))
    }

    static let examples: [LabeledText] = [
        ("the house", "thing"), ("the dog", "animal"), ("the cat", "animal"), ("das haus", "thing"), ("der hund", "animal"),
        ("die katze", "animal"), ("small house", "thing"), ("good dog", "animal"), ("the night", "thing"), ("new cat", "animal"),
    ].map { LabeledText(text: $0.0, label: $0.1) }

    func tinyClassifier() throws -> Classifier {
        let base = try Classifier.load(Self.fixture, registry: builtinPlugins)
        let model = try BertModel(BertConfiguration(vocabSize: 285, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 64, maxPositions: 64), seed: 7)
        return try Classifier(model: model, tokenizer: base.tokenizer, labels: ["animal", "thing"], maxLength: 32, seed: 2)
    }

    func settings(steps: Int?, tokens: Int? = nil) -> TrainingSettings {
        var s = TrainingSettings()
        s.steps = steps
        s.targetTokens = tokens
        s.schedule = .constant
        s.learningRate = 3e-3
        s.warmupSteps = 0
        s.validateEvery = 1000
        s.checkpointEvery = 100
        s.seed = 4
        return s
    }

    /// On the one trainer, a tiny BERT's classification loss falls and its dev accuracy reaches 1.
    @Test func lossFallsOnATinyBert() throws {
        let classifier = try tinyClassifier()
        let objective = try ClassificationObjective(classifier: classifier, train: Self.examples, dev: Self.examples,
                                                    classWeights: ClassificationObjective.balancedWeights(Self.examples), batchSize: 10, maxTokens: 1000)
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        var losses: [Double] = []
        let result = try Trainer(model: classifier, objective: objective, settings: settings(steps: 30), directory: folder).run { event in
            if case .step(let progress) = event { losses.append(progress.loss) }
        }
        #expect(losses.count == 30 && (losses.last ?? 1) < losses[0] * 0.5, "loss \(losses.first ?? 0) → \(losses.last ?? 0)")
        #expect(result.history.last?.dev["accuracy"] == 1, "\(result.history.last?.dev ?? [:])")
        let report = try classifier.evaluate(Self.examples)
        #expect(report.accuracy == 1 && report.macroF1 == 1 && report.confusion == [[6, 0], [0, 4]])
    }

    /// A `target_tokens` budget ends the run once that many tokens have been trained on.
    @Test func targetTokensBudgetStopsIt() throws {
        let classifier = try tinyClassifier()
        let objective = try ClassificationObjective(classifier: classifier, train: Self.examples, dev: [], batchSize: 2, maxTokens: 1000)
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try Trainer(model: classifier, objective: objective, settings: settings(steps: nil, tokens: 40), directory: folder).run()
        let tokens = result.history.last?.tokens ?? 0
        #expect(tokens >= 40 && tokens < 40 + 2 * 32, "stopped after \(tokens) tokens")
        #expect(result.step >= 2 && result.step <= 6, "\(result.step) steps")
    }

    /// Label smoothing ε trains toward 1 − ε on the label and ε spread over all labels (the loss computed by hand
    /// from the logits of a briefly trained classifier, whose logits are far from even); ε outside [0, 1) is refused.
    @Test func labelSmoothingMixesInTheUniformTarget() throws {
        let classifier = try tinyClassifier()
        let folder = scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try Trainer(model: classifier, objective: try ClassificationObjective(classifier: classifier, train: Self.examples, dev: [],
                                                                                  batchSize: 10, maxTokens: 1000),
                        settings: settings(steps: 20), directory: folder).run()
        func objective(_ smoothing: Float) throws -> ClassificationObjective {
            try ClassificationObjective(classifier: classifier, train: Self.examples, dev: [], maxTokens: 1000, labelSmoothing: smoothing)
        }
        func loss(_ smoothing: Float) throws -> Float {
            try withoutGrad { try objective(smoothing).loss(batch: [0, 1, 2, 3], model: classifier, context: ForwardContext()) }.loss.scalars[0]
        }
        let plain = try objective(0)
        let logits = try withoutGrad { try classifier.logits(tokenized: (0..<4).map { plain.train[$0].ids }, context: ForwardContext()) }.scalars
        var expected: Float = 0, unsmoothed: Float = 0
        for i in 0..<4 {
            let row = Array(logits[(2 * i)..<(2 * i + 2)]), top = try #require(row.max())
            let logSumExp = top + log(row.map { exp($0 - top) }.reduce(0, +))
            let nll = row.map { logSumExp - $0 }
            expected += 0.8 * nll[plain.train[i].label] + 0.2 * (nll[0] + nll[1]) / 2
            unsmoothed += nll[plain.train[i].label]
        }
        expected /= 4
        unsmoothed /= 4
        let smoothed = try loss(0.2)
        #expect(abs(smoothed - expected) < 1e-5, "\(smoothed) vs \(expected)")
        #expect(abs(try loss(0) - unsmoothed) < 1e-5)
        #expect(smoothed - unsmoothed > 0.01, "smoothing a confident classifier's target raises its loss: \(smoothed) vs \(unsmoothed)")
        for bad: Float in [1, -0.1, .nan] {
            #expect(throws: GlossaError.self) { try objective(bad) }
        }
    }

    /// Labels outside the classifier's, and class weights for unknown labels, are errors that name them.
    @Test func unknownLabelsAreRefused() throws {
        let classifier = try tinyClassifier()
        #expect(throws: GlossaError.self) {
            try ClassificationObjective(classifier: classifier, train: [LabeledText(text: "x", label: "plant")], dev: [], maxTokens: 100)
        }
        #expect(throws: GlossaError.self) {
            try ClassificationObjective(classifier: classifier, train: Self.examples, dev: [], classWeights: ["plant": 2], maxTokens: 100)
        }
        #expect(throws: GlossaError.self) { try classifier.evaluate([LabeledText(text: "x", label: "plant")]) }
    }
}
