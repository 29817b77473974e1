import Foundation
import GlossaNN

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
