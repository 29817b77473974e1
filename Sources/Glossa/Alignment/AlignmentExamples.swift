import Foundation
import GlossaNN

/// An SFT example: `{"prompt": …, "response": …}`, with `"task"` when it belongs to a task of a multi-task mixture.
public struct PromptResponse: Codable, Sendable, Equatable {
    /// What the model is given.
    public var prompt: String
    /// What it should answer.
    public var response: String
    /// The task it belongs to (`translate-en-de`, `language-id`, …), if any.
    public var task: String?

    /// An example.
    public init(prompt: String, response: String, task: String? = nil) {
        self.prompt = prompt
        self.response = response
        self.task = task
    }
}

/// A DPO example: `{"prompt": …, "chosen": …, "rejected": …}`.
public struct PreferencePair: Codable, Sendable, Equatable {
    /// What the model is given.
    public var prompt: String
    /// The preferred response y_w.
    public var chosen: String
    /// The dispreferred response y_l.
    public var rejected: String

    /// A pair.
    public init(prompt: String, chosen: String, rejected: String) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
    }
}

/// A GRPO or evaluation example: `{"prompt": …, "reference": …}`, the reference being what the reward checks against,
/// with `"task"` when it belongs to a task of a multi-task mixture (scored per task).
public struct PromptReference: Codable, Sendable, Equatable {
    /// What the model is given.
    public var prompt: String
    /// The answer or reference translation.
    public var reference: String
    /// The task it belongs to, if any.
    public var task: String?

    /// An example.
    public init(prompt: String, reference: String, task: String? = nil) {
        self.prompt = prompt
        self.reference = reference
        self.task = task
    }
}

/// JSON Lines files (one JSON object per line; blank lines skipped), read with line-numbered errors.
public enum JSONLines {
    /// Every record of `path`.
    public static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> [T] {
        let decoder = JSONDecoder()
        var out: [T] = []
        for (number, line) in try InputFile.lines(path, purpose: "the JSON Lines data file").enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            do {
                out.append(try decoder.decode(T.self, from: Data(line.utf8)))
            } catch let error as DecodingError {
                throw GlossaError.invalidInput("\(path):\(number + 1): \(describe(error))")
            } catch {
                throw GlossaError.invalidInput("\(path):\(number + 1): not a JSON object")
            }
        }
        return out
    }

    /// The bytes of `records` as JSON Lines (keys sorted, non-ASCII kept as is).
    public static func encode<T: Encodable>(_ records: [T]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for r in records {
            out.append(try encoder.encode(r))
            out.append(0x0A)
        }
        return out
    }
}

/// The decoder-only translation task of the ladder: `Translate to German: <en>` → `<de>`.
public enum TranslationPrompt {
    /// The prompt for one source sentence; `language` is the target language's English name.
    public static func prompt(_ source: String, language: String = "German") -> String {
        "Translate to \(language): \(source)"
    }

    /// SFT examples from aligned source and target lines (empty lines on either side are skipped).
    public static func examples(sources: [String], targets: [String], language: String = "German") throws -> [PromptResponse] {
        guard sources.count == targets.count else {
            throw GlossaError.invalidInput("\(sources.count) source lines but \(targets.count) target lines")
        }
        return zip(sources, targets).compactMap { s, t in
            s.isEmpty || t.isEmpty ? nil : PromptResponse(prompt: prompt(s, language: language), response: t)
        }
    }
}
