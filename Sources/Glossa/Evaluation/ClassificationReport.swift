import Foundation

/// How well predicted labels match the true ones: accuracy, macro-F1, per-class precision, recall and F1, and the
/// confusion matrix (`confusion[true][predicted]`).
public struct ClassificationReport: Codable, Sendable, Equatable {
    /// One label's scores.
    public struct ClassScore: Codable, Sendable, Equatable {
        /// The label.
        public var label: String
        /// Of the texts predicted as this label, the share that are (0 when none were predicted).
        public var precision: Double
        /// Of the texts of this label, the share predicted as it (0 when it has none).
        public var recall: Double
        /// The harmonic mean of precision and recall (0 when both are 0).
        public var f1: Double
        /// Texts of this label.
        public var support: Int
    }

    /// The labels, in index order.
    public var labels: [String]
    /// The number of texts scored.
    public var count: Int
    /// The share predicted right.
    public var accuracy: Double
    /// The unweighted mean of the per-class F1 over labels with support or predictions (scikit-learn's `macro`
    /// over the labels present).
    public var macroF1: Double
    /// Per-class scores, in label order.
    public var classes: [ClassScore]
    /// `confusion[true][predicted]` counts.
    public var confusion: [[Int]]

    enum CodingKeys: String, CodingKey { case labels, count, accuracy, macroF1 = "macro_f1", classes, confusion }

    /// Scores `predicted` against `truth`, both label indices into `labels` (out-of-range indices are not counted).
    public init(labels: [String], truth: [Int], predicted: [Int]) {
        let k = labels.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for (t, p) in zip(truth, predicted) where (0..<k).contains(t) && (0..<k).contains(p) { confusion[t][p] += 1 }
        let count = confusion.reduce(0) { $0 + $1.reduce(0, +) }
        var classes: [ClassScore] = [], present: [Double] = []
        for c in 0..<k {
            let hit = confusion[c][c], support = confusion[c].reduce(0, +), predictedCount = confusion.reduce(0) { $0 + $1[c] }
            let precision = predictedCount > 0 ? Double(hit) / Double(predictedCount) : 0
            let recall = support > 0 ? Double(hit) / Double(support) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            classes.append(ClassScore(label: labels[c], precision: precision, recall: recall, f1: f1, support: support))
            if support > 0 || predictedCount > 0 { present.append(f1) }
        }
        self.labels = labels
        self.count = count
        accuracy = count > 0 ? Double((0..<k).reduce(0) { $0 + confusion[$1][$1] }) / Double(count) : 0
        macroF1 = present.isEmpty ? 0 : present.reduce(0, +) / Double(present.count)
        self.classes = classes
        self.confusion = confusion
    }

    /// The per-class table and the totals as Markdown.
    public var markdown: String {
        var lines = [String(format: "accuracy %.4f, macro-F1 %.4f (%d texts)", accuracy, macroF1, count), "",
                     "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for c in classes { lines.append(String(format: "| %@ | %.4f | %.4f | %.4f | %d |", c.label, c.precision, c.recall, c.f1, c.support)) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The confusion matrix as an SVG heat map.
    public func confusionSVG(title: String) -> String {
        ConfusionMatrixPlot(title: title, labels: labels, counts: confusion).svg()
    }
}

extension Classifier {
    /// Classifies `examples` and scores the predictions; a label the classifier does not know is an error.
    public func evaluate(_ examples: [LabeledText], batchSize: Int = 32) throws -> ClassificationReport {
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
        let truth = try examples.map { example in
            guard let i = index[example.label] else {
                throw GlossaError.invalidInput("the label \"\(example.label)\" is not one of this classifier's: \(labels.joined(separator: ", "))")
            }
            return i
        }
        let sequences = try tokenizer.encodeBatch(examples.map(\.text)).map(reader.frame)
        return ClassificationReport(labels: labels, truth: truth, predicted: try predict(tokenized: sequences, batchSize: batchSize))
    }
}
