import ArgumentParser
import Foundation
import Glossa
import GlossaNN

extension LabeledTextFormat: ExpressibleByArgument {}

/// How `glossa classify` writes its predictions.
enum ClassificationFormat: String, ExpressibleByArgument, CaseIterable {
    /// `label<TAB>probability` (top-k pairs side by side), one line per text.
    case tsv
    /// `{"predictions": [{"label": …, "probability": …}, …]}`, one object per text.
    case jsonl
}

/// `glossa classify`: the most probable labels of each text, or scores on a labelled file.
struct ClassifyCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify", abstract: "Classify texts: one line of labels and probabilities per text or standard-input line.",
        discussion: """
            Without TEXT arguments, standard input is read line by line and each line's prediction is written and \
            flushed as soon as it is classified (an empty line is classified as the empty text, so output lines \
            match input lines). With --evaluate FILE (label<TAB>text TSV, or JSON Lines with "text" and "label"), \
            prints accuracy, macro-F1 and per-class precision and recall instead, and with --report DIR writes \
            evaluation.json and the confusion matrix as confusion.svg there.
            """)

    @Argument(help: "Texts to classify (default: standard input, one text per line).")
    var texts: [String] = []

    @Option(help: "The classifier's model directory (a transformers BertForSequenceClassification directory works too).")
    var model: String

    @Option(help: "Labels per text, most probable first (at most the classifier's label count are printed).")
    var topK = 1

    @Option(help: "Output format.")
    var format: ClassificationFormat = .tsv

    @Option(help: "Score the classifier on this labelled file instead of classifying texts.")
    var evaluate: String?

    @Option(help: "The --evaluate file's format (default: by its extension, .jsonl is JSON Lines, else TSV).")
    var labelsFormat: LabeledTextFormat?

    @Option(help: "With --evaluate: a folder to write evaluation.json and confusion.svg into.")
    var report: String?

    @Option(help: "Texts per forward pass.")
    var batchSize = 32

    @Flag(help: "Replace invalid UTF-8 with U+FFFD instead of stopping with an error.")
    var replaceInvalid = false

    @OptionGroup var threads: ThreadOptions

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        try FlagBounds.requireDirectory(model, "--model")
        try FlagBounds.check(topK, FlagBounds.labels, "--top-k")
        try FlagBounds.check(batchSize, FlagBounds.batchSize, "--batch-size")
        if report != nil && evaluate == nil { throw ValidationError("--report needs --evaluate FILE.") }
        if evaluate != nil && !texts.isEmpty { throw ValidationError("--evaluate reads its texts from the file; give no TEXT arguments.") }
    }

    func run(plugins: PluginRegistry) throws {
        threads.apply()
        let classifier = try Classifier.load(URL(fileURLWithPath: model), registry: plugins)
        try compute.prepare(classifier.network, directory: URL(fileURLWithPath: model))
        if let evaluate { return try score(classifier, file: evaluate) }
        let sink = try OutputSink(path: nil)
        let write: ([String]) throws -> Void = { batch in
            for predictions in try classifier.classify(batch, topK: topK, batchSize: batchSize) {
                try sink.write(Data(try Self.line(predictions, format: format).utf8))
                try sink.flush()
            }
        }
        if !texts.isEmpty {
            try write(texts)
        } else {
            try readLines(chunk: 8 * batchSize, replaceInvalid: replaceInvalid, write)
        }
        try sink.close()
    }

    /// Prints the scores on a labelled file, and writes the report files when asked.
    func score(_ classifier: Classifier, file: String) throws {
        let examples = try LabeledText.read(file, format: labelsFormat)
        guard !examples.isEmpty else { throw CommandError(description: "\(file) holds no labelled examples") }
        let result = try classifier.evaluate(examples, batchSize: batchSize)
        let sink = try OutputSink(path: nil)
        try sink.write(Data(result.markdown.utf8))
        if let report {
            let folder = URL(fileURLWithPath: report)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try AtomicFile.write(try encoder.encode(result), to: folder.appendingPathComponent("evaluation.json"))
            let title = "\(URL(fileURLWithPath: file).lastPathComponent): accuracy \(String(format: "%.4f", result.accuracy))"
            try AtomicFile.write(Data(result.confusionSVG(title: title).utf8), to: folder.appendingPathComponent("confusion.svg"))
        }
        try sink.close()
    }

    /// One output line for a text's predictions.
    static func line(_ predictions: [(label: String, probability: Double)], format: ClassificationFormat) throws -> String {
        switch format {
        case .tsv:
            return predictions.map { "\($0.label)\t\(String(format: "%.6g", $0.probability))" }.joined(separator: "\t") + "\n"
        case .jsonl:
            struct Prediction: Encodable { var label: String; var probability: Double }
            struct Line: Encodable { var predictions: [Prediction] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let rounded = predictions.map { Prediction(label: $0.label, probability: (($0.probability * 1e6).rounded()) / 1e6) }
            return String(decoding: try encoder.encode(Line(predictions: rounded)), as: UTF8.self) + "\n"
        }
    }
}
