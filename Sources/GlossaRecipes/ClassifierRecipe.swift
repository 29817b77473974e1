import Foundation
import Glossa
import GlossaNN
import GlossaSentencePiece
import GlossaTensor

/// The `classification` block of an encoder recipe with `"objective": "classification"`: the labelled files and the
/// head's settings.
struct ClassificationBlock: Decodable {
    /// Training examples (`label<TAB>text` TSV, or JSON Lines with `text` and `label`).
    var train: String
    /// Dev examples: validation during training, and the reported scores.
    var dev: String?
    /// Test examples, scored once on the final model.
    var test: String?
    /// The files' format; by default each file's extension decides (`.jsonl` is JSON Lines, else TSV).
    var format: LabeledTextFormat?
    /// The labels in logit order (default: the training labels, sorted).
    var labels: [String]?
    /// `"balanced"`, or a weight per label (missing labels weigh 1); none by default.
    var classWeights: Weights?
    /// Pooling modes (`mean`, `cls`, …); by default the encoder's own classification pooler (BERT's `pooler_output`,
    /// which keeps the directory a transformers `BertForSequenceClassification`), else mean pooling.
    var pooling: [PoolingMode]?
    /// Dropout on the pooled vector.
    var dropout: Float = 0.1
    /// Texts per batch, at most (batches also hold at most `max_tokens` padded tokens).
    var batchSize = 64

    enum Weights: Equatable {
        case balanced
        case given([String: Float])
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case train, dev, test, format, labels, classWeights = "class_weights", pooling, dropout, batchSize = "batch_size"
    }

    init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        train = try c.decode(String.self, forKey: .train)
        dev = try c.decodeIfPresent(String.self, forKey: .dev)
        test = try c.decodeIfPresent(String.self, forKey: .test)
        if let name = try c.decodeIfPresent(String.self, forKey: .format) {
            guard let format = LabeledTextFormat(rawValue: name) else {
                throw DecodingError.dataCorruptedError(forKey: .format, in: c, debugDescription: "format must be tsv or jsonl, not \"\(name)\"")
            }
            self.format = format
        }
        labels = try c.decodeIfPresent([String].self, forKey: .labels)
        if let labels, labels.count < 2 || Set(labels).count != labels.count {
            throw DecodingError.dataCorruptedError(forKey: .labels, in: c, debugDescription: "labels must be at least 2 distinct names")
        }
        if let name = try? c.decodeIfPresent(String.self, forKey: .classWeights) {
            guard name == "balanced" else {
                throw DecodingError.dataCorruptedError(forKey: .classWeights, in: c, debugDescription: "class_weights must be \"balanced\" or an object of label weights, not \"\(name)\"")
            }
            classWeights = .balanced
        } else if let given = try c.decodeIfPresent([String: Float].self, forKey: .classWeights) {
            classWeights = .given(given)
        }
        if let names = try? c.decodeIfPresent(String.self, forKey: .pooling) {
            pooling = try [Self.mode(names, c)]
        } else if let names = try c.decodeIfPresent([String].self, forKey: .pooling) {
            pooling = try names.map { try Self.mode($0, c) }
        }
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0.1
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 64
        guard (0..<1).contains(dropout) else {
            throw DecodingError.dataCorruptedError(forKey: .dropout, in: c, debugDescription: "dropout must be in [0, 1), not \(dropout)")
        }
        guard (1...100_000).contains(batchSize) else {
            throw DecodingError.dataCorruptedError(forKey: .batchSize, in: c, debugDescription: "batch_size must be in 1...100000, not \(batchSize)")
        }
    }

    static func mode(_ name: String, _ c: KeyedDecodingContainer<CodingKeys>) throws -> PoolingMode {
        guard let mode = PoolingMode(name: name) else {
            throw DecodingError.dataCorruptedError(forKey: .pooling, in: c, debugDescription:
                "unknown pooling \"\(name)\" (known: \(PoolingMode.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return mode
    }

    /// The weights by label, for `train`.
    func weights(for train: [LabeledText]) -> [String: Float]? {
        switch classWeights {
        case .none: return nil
        case .balanced: return ClassificationObjective.balancedWeights(train)
        case .given(let weights): return weights
        }
    }
}

extension RecipeRun {
    func trainClassifier(make: (PluginConfiguration) throws -> any EncoderModel, tokenizer: SentencePieceTokenizer, folder: RunFolder,
                         stop: StopSignal?, events: @escaping (RecipeEvent) -> Void) throws -> RecipeResult {
        guard let block = try recipe.block("classification", as: ClassificationBlock.self) else {
            throw GlossaError.invalidConfiguration("objective classification needs a \"classification\" block with \"train\"")
        }
        let initial = try recipe.block("initialize_from", as: InitializeFrom.self)
        let model = try make(PluginConfiguration(json: try recipe.model.filled(from: tokenizer, eos: false).data()))
        if let initial, !resume { try initial.apply(to: model) { events(.note($0)) } }
        let train = try LabeledText.read(block.train, format: block.format)
        let dev = try block.dev.map { try LabeledText.read($0, format: block.format) } ?? []
        let test = try block.test.map { try LabeledText.read($0, format: block.format) } ?? []
        let labels = block.labels ?? LabeledText.labels(of: train)
        let classifier = try Classifier(model: model, tokenizer: tokenizer, labels: labels, pooling: block.pooling, dropout: block.dropout,
                                        maxLength: recipe.training.maxLength, seed: recipe.training.seed)
        events(.note(describe(classifier.network, "\(recipe.plugin) classifier", vocabulary: tokenizer.vocabularySize)))
        events(.note("data: \(train.count) training texts, \(dev.count) dev, \(test.count) test; \(labels.count) labels: \(labels.joined(separator: ", "))"))
        let objective = try ClassificationObjective(classifier: classifier, train: train, dev: dev, classWeights: block.weights(for: train),
                                                    batchSize: block.batchSize, maxTokens: recipe.training.maxTokens,
                                                    labelSmoothing: recipe.training.labelSmoothing)
        let (result, weights) = try runTrainer(classifier, objective, folder: folder.url, stop: stop, events: events)
        guard try writesModel(result) else { return withoutModel(result, folder) }
        let final = try withoutGrad { try objective.validate(model: classifier) }
        try classifier.save(to: folder.url, dtype: (recipe.dtype ?? .f32).safetensors)
        var files = try objective.reportFiles(history: result.history)
        var reports: [(String, ClassificationReport)] = []
        for (split, examples) in [("dev", dev), ("test", test)] where !examples.isEmpty {
            let report = try classifier.evaluate(examples)
            reports.append((split, report))
            files["confusion-\(split).svg"] = Data(report.confusionSVG(title: "\(recipe.output): \(split) confusion").utf8)
            events(.note(String(format: "%@: accuracy %.4f, macro-F1 %.4f (%d texts)", split, report.accuracy, report.macroF1, report.count)))
        }
        files["README.md"] = Data(classifierCard(reports: reports, steps: result.step, seconds: result.seconds, parameters: classifier.network.parameterCount,
                                                        start: initial?.description ?? "random initialisation").utf8)
        for (name, data) in files { try AtomicFile.write(data, to: folder.url.appendingPathComponent(name)) }
        let evaluation = try reports.reduce(into: [String: Any]()) { out, entry in
            out[entry.0] = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(entry.1))
        }
        return try finish(result, weights: weights, finalDev: final, objective: objective.name, folder: folder, events: events,
                          extra: ["evaluation": evaluation])
    }

    /// The model card: what it is, how to use it, and the scores of each split.
    func classifierCard(reports: [(String, ClassificationReport)], steps: Int, seconds: Double, parameters: Int, start: String) -> String {
        var card = """
            # Sequence classifier (`\(recipe.plugin)`)

            A \(String(format: "%.1f", Double(parameters) / 1e6)) M-parameter \(recipe.plugin) encoder with a linear classification head, \
            trained by Glossa from \(start) with `glossa train --recipe` (\(steps) steps, \(Int(seconds)) s on the CPU; settings in `training.json`).

            Use: `glossa classify --model <this directory>` (one `label<TAB>probability` line per input line), or
            `glossa classify --model <this directory> --evaluate FILE` for the scores below on other data.

            """
        for (split, report) in reports {
            card += "\n## \(split)\n\n" + report.markdown + "\n![confusion matrix](confusion-\(split).svg)\n"
        }
        return card
    }
}
