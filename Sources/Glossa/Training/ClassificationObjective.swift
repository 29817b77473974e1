import Foundation
import GlossaNN
import GlossaTensor

/// Cross-entropy of a classifier's softmax against each text's label, optionally class-weighted; validation
/// scores accuracy and macro-F1 on the dev texts.
public final class ClassificationObjective: TrainingObjective, ReportingObjective {
    /// Training texts as token ids (boundary tokens added, cut to the classifier's length) with label indices.
    public let train: [(ids: [Int], label: Int)]
    /// Dev texts, tokenised likewise.
    public let dev: [(ids: [Int], label: Int)]
    /// Each label's loss weight, scaled so the training texts' mean weight is 1 (so the learning rate means the
    /// same with or without weights).
    public let classWeights: [Float]
    /// The share of each training target spread evenly over all labels (0: plain cross-entropy); the dev loss is
    /// unsmoothed.
    public let labelSmoothing: Float
    let labels: [String]
    let maxTokens: Int
    let batchSize: Int

    /// An objective over `train` (and `dev`) for `classifier`, whose labels every example's label must be one of;
    /// `classWeights` by label (missing labels weigh 1) or `nil` for none; batches of at most `batchSize` texts and
    /// `maxTokens` padded tokens; `labelSmoothing` in [0, 1).
    public init(classifier: Classifier, train: [LabeledText], dev: [LabeledText], classWeights: [String: Float]? = nil,
                batchSize: Int = 64, maxTokens: Int, labelSmoothing: Float = 0) throws {
        let labels = classifier.labels
        self.labels = labels
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
        func tokenize(_ examples: [LabeledText], _ role: String) throws -> [(ids: [Int], label: Int)] {
            let ids = try classifier.tokenizer.encodeBatch(examples.map(\.text)).map(classifier.reader.frame)
            return try zip(ids, examples).map { ids, example in
                guard let label = index[example.label] else {
                    throw GlossaError.invalidInput("a \(role) example has the label \"\(example.label)\", which is not one of \(labels.joined(separator: ", "))")
                }
                return (ids, label)
            }
        }
        guard !train.isEmpty else { throw GlossaError.invalidInput("classification training needs at least one example") }
        guard batchSize >= 1 else { throw GlossaError.invalidInput("batch_size must be at least 1") }
        guard labelSmoothing >= 0 && labelSmoothing < 1 else { throw GlossaError.invalidInput("label_smoothing must be in [0, 1), not \(labelSmoothing)") }
        self.labelSmoothing = labelSmoothing
        self.train = try tokenize(train, "training")
        self.dev = try tokenize(dev, "dev")
        var weights = [Float](repeating: 1, count: labels.count)
        if let classWeights {
            for (label, weight) in classWeights {
                guard let i = index[label] else { throw GlossaError.invalidInput("class_weights names \"\(label)\", which is not a label") }
                guard weight > 0 && weight.isFinite else { throw GlossaError.invalidInput("class_weights[\(label)] must be a positive finite number") }
                weights[i] = weight
            }
            let mean = self.train.reduce(Float(0)) { $0 + weights[$1.label] } / Float(self.train.count)
            weights = weights.map { $0 / mean }
        }
        self.classWeights = weights
        self.batchSize = batchSize
        self.maxTokens = maxTokens
    }

    /// Weights inversely proportional to each label's share of `examples` (scikit-learn's `balanced`).
    public static func balancedWeights(_ examples: [LabeledText]) -> [String: Float] {
        var counts: [String: Int] = [:]
        for e in examples { counts[e.label, default: 0] += 1 }
        return counts.mapValues { Float(examples.count) / Float(counts.count * $0) }
    }

    /// "classification".
    public var name: String { "classification" }
    /// Texts.
    public var unit: String { "texts" }
    /// Dev macro-F1 (accuracy alone would favour the largest class).
    public var primaryMetric: PrimaryMetric? { dev.isEmpty ? nil : PrimaryMetric(name: "macro_f1", higherIsBetter: true) }

    public var batching: ExampleBatching { .byTokens(lengths: train.map(\.ids.count), maxTokens: maxTokens, maxExamples: batchSize) }

    public func network(of model: Classifier) -> any SavableModel { model.network }

    /// The weighted mean (label-smoothed) cross-entropy of the batch's texts; `tokens` counts their tokens for the budget.
    public func loss(batch: [Int], model: Classifier, context: ForwardContext) throws -> ObjectiveLoss {
        let examples = batch.map { train[$0] }
        let logits = try model.logits(tokenized: examples.map(\.ids), context: context)  // [B, K]
        let losses = logits.crossEntropyRows(targets: examples.map(\.label), labelSmoothing: labelSmoothing)  // [B]
        let weights = Tensor(shape: [examples.count], scalars: examples.map { classWeights[$0.label] })
        let loss = (losses * weights).mean()
        let k = labels.count, scores = logits.scalars
        let hits = examples.enumerated().filter { i, e in
            let row = scores[(i * k)..<((i + 1) * k)]
            return row.indices.max { row[$0] < row[$1] } == i * k + e.label
        }.count
        return ObjectiveLoss(loss: loss, count: examples.count, tokens: examples.reduce(0) { $0 + $1.ids.count },
                             metrics: ["accuracy": Double(hits) / Double(examples.count)])
    }

    /// Dev loss (unweighted), accuracy and macro-F1.
    public func validate(model: Classifier) throws -> [String: Double] {
        guard !dev.isEmpty else { return [:] }
        let probabilities = try model.probabilities(tokenized: dev.map(\.ids))
        let predicted = probabilities.map { p in p.indices.max { p[$0] < p[$1] } ?? 0 }
        let report = ClassificationReport(labels: labels, truth: dev.map(\.label), predicted: predicted)
        let loss = zip(probabilities, dev).reduce(0.0) { $0 - log(Double(Swift.max($1.0[$1.1.label], 1e-12))) } / Double(dev.count)
        return ["loss": loss, "accuracy": report.accuracy, "macro_f1": report.macroF1]
    }

    /// `curves.svg`: dev accuracy and macro-F1 by step.
    public func reportFiles(history: [TrainingRecord]) throws -> [String: Data] {
        let lines = [series("dev accuracy", "accuracy", in: history), series("dev macro-F1", "macro_f1", in: history)].compactMap { $0 }
        guard !lines.isEmpty else { return [:] }
        return ["curves.svg": Data(LinePlot(title: "classification", xLabel: "step", yLabel: "dev score", series: lines).svg().utf8)]
    }
}

/// A text and its class label.
public struct LabeledText: Sendable, Equatable {
    /// The text to classify.
    public var text: String
    /// Its label.
    public var label: String

    /// A labelled text.
    public init(text: String, label: String) {
        self.text = text
        self.label = label
    }
}

/// The two layouts of a labels file: `label<TAB>text` lines, or JSON Lines `{"text": …, "label": …}`.
public enum LabeledTextFormat: String, Sendable, CaseIterable, Codable {
    /// `label<TAB>text`, one example a line (the text may hold further tabs).
    case tsv
    /// `{"text": "…", "label": "…"}` one object a line (a numeric label is read as its decimal string).
    case jsonl

    /// The format a file's extension implies: `.jsonl`/`.json` are JSON Lines, anything else TSV.
    public init(path: String) {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        self = ext == "jsonl" || ext == "json" ? .jsonl : .tsv
    }

    /// Every example of `path`, in file order; blank lines are skipped, anything else that is not an example is an
    /// error naming the file and line.
    public func read(_ path: String) throws -> [LabeledText] {
        var examples: [LabeledText] = []
        for (number, line) in try InputFile.lines(path, purpose: "the labelled examples").enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            let place = "\(path):\(number + 1)"
            switch self {
            case .tsv:
                guard let tab = line.firstIndex(of: "\t") else {
                    throw GlossaError.invalidInput("\(place): expected label<TAB>text, found no tab")
                }
                let label = String(line[..<tab]).trimmingCharacters(in: .whitespaces)
                guard !label.isEmpty else { throw GlossaError.invalidInput("\(place): the label before the tab is empty") }
                examples.append(LabeledText(text: String(line[line.index(after: tab)...]), label: label))
            case .jsonl:
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw GlossaError.invalidInput("\(place): not a JSON object")
                }
                guard let text = object["text"] as? String else { throw GlossaError.invalidInput("\(place): no string \"text\"") }
                let label: String
                if let name = object["label"] as? String, !name.isEmpty {
                    label = name
                } else if let number = object["label"] as? NSNumber, !(object["label"] is Bool), number.doubleValue == number.doubleValue.rounded() {
                    label = String(number.intValue)
                } else {
                    throw GlossaError.invalidInput("\(place): \"label\" must be a non-empty string or an integer")
                }
                examples.append(LabeledText(text: text, label: label))
            }
        }
        return examples
    }
}

extension LabeledText {
    /// The examples of `path` in `format` (by default the one its extension implies).
    public static func read(_ path: String, format: LabeledTextFormat? = nil) throws -> [LabeledText] {
        try (format ?? LabeledTextFormat(path: path)).read(path)
    }

    /// The sorted distinct labels of `examples`.
    public static func labels(of examples: [LabeledText]) -> [String] { Array(Set(examples.map(\.label))).sorted() }
}
