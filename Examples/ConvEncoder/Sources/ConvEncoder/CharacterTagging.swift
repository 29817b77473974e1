import Foundation

/// The per-character task: restore capitalisation and sentence punctuation to lowercased text with the
/// punctuation taken out. Labels are per character (grapheme cluster) of the stripped, lowercased line:
/// whether it was upper case, and which mark (if any) followed it. Characters rather than SentencePiece
/// pieces because case is a property of letters ("OK", "iPhone" split no cleaner into pieces of
/// lowercased text), the mark's slot is after a character, and the alphabet is small, so the parameters go
/// to the convolutions instead of an 8k-row embedding table.
public enum CharacterTagging {
    /// The marks stripped and restored, in label order after "none".
    public static let marks: [Character] = [".", ",", "?"]
    /// Label k = 4·cap + mark: O, PERIOD, COMMA, QUESTION, CAP, CAP+PERIOD, CAP+COMMA, CAP+QUESTION.
    public static let labels = ["O", "PERIOD", "COMMA", "QUESTION", "CAP", "CAP+PERIOD", "CAP+COMMA", "CAP+QUESTION"]
    /// The attributes F1 is reported for: capitalisation and each mark.
    public static let attributes = ["CAP", "PERIOD", "COMMA", "QUESTION"]

    /// One line of the task: the model's input and one label per character of it.
    public struct Example: Sendable, Equatable {
        /// Lowercased, sentence punctuation removed.
        public var characters: [Character]
        /// One label index per character.
        public var labels: [Int]
    }

    /// The task made from a cased, punctuated line. A run of `.`, `,` and `?` that follows a non-space
    /// character and ends at a space or the line's end is sentence punctuation: it is removed, and the
    /// character before it gets the run's first mark ("..." is one period).
    /// Everything else stays as it is, lowercased ("3.5", "file.txt", "e.g" + PERIOD).
    public static func example(_ line: String) -> Example {
        let text = Array(line)
        var characters: [Character] = [], labels: [Int] = []
        var i = 0
        while i < text.count {
            let ch = text[i]
            if marks.contains(ch), let last = characters.last, !last.isWhitespace {
                var end = i
                while end < text.count && marks.contains(text[end]) { end += 1 }
                if end == text.count || text[end].isWhitespace {
                    let mark = (marks.firstIndex(of: ch) ?? 0) + 1
                    labels[labels.count - 1] = labels[labels.count - 1] / 4 * 4 + mark
                    i = end
                    continue
                }
            }
            let lower = String(ch).lowercased()
            if lower.count == 1, let low = lower.first, low != ch {
                characters.append(low)
                labels.append(4)
            } else {
                characters.append(ch)
                labels.append(0)
            }
            i += 1
        }
        return Example(characters: characters, labels: labels)
    }

    /// The line `labels` describe: upper case where CAP, the mark after the character.
    public static func restore(_ characters: [Character], labels: [Int]) -> String {
        var line = ""
        for (ch, label) in zip(characters, labels) {
            line += label >= 4 ? String(ch).uppercased() : String(ch)
            if label % 4 > 0 { line.append(marks[label % 4 - 1]) }
        }
        return line
    }

    /// Whether `label` has `attribute` (an entry of `attributes`).
    public static func has(_ label: Int, _ attribute: Int) -> Bool {
        attribute == 0 ? label >= 4 : label % 4 == attribute
    }
}

/// Precision, recall and F1 of each attribute over every character, and the accuracy of the whole label.
public struct TaggingScores: Codable, Sendable, Equatable {
    /// One attribute's counts and scores.
    public struct Attribute: Codable, Sendable, Equatable {
        /// CAP, PERIOD, COMMA or QUESTION.
        public var name: String
        /// How often gold has it.
        public var support: Int
        /// True positives, false positives, false negatives.
        public var truePositives = 0, falsePositives = 0, falseNegatives = 0
        /// tp / (tp + fp), 0 when nothing was predicted.
        public var precision: Double { truePositives + falsePositives == 0 ? 0 : Double(truePositives) / Double(truePositives + falsePositives) }
        /// tp / (tp + fn).
        public var recall: Double { truePositives + falseNegatives == 0 ? 0 : Double(truePositives) / Double(truePositives + falseNegatives) }
        /// The harmonic mean of the two.
        public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
    }

    /// CAP, PERIOD, COMMA, QUESTION.
    public var attributes: [Attribute]
    /// Characters scored.
    public var characters = 0
    /// Characters whose whole label is right.
    public var correct = 0

    /// Scores of predicted against gold label sequences (pairs of equal length).
    public init(gold: [[Int]], predicted: [[Int]]) {
        attributes = CharacterTagging.attributes.map { Attribute(name: $0, support: 0) }
        for (g, p) in zip(gold, predicted) {
            for (a, b) in zip(g, p) {
                characters += 1
                if a == b { correct += 1 }
                for k in attributes.indices {
                    let (isGold, isPredicted) = (CharacterTagging.has(a, k), CharacterTagging.has(b, k))
                    if isGold { attributes[k].support += 1 }
                    if isGold && isPredicted { attributes[k].truePositives += 1 }
                    if !isGold && isPredicted { attributes[k].falsePositives += 1 }
                    if isGold && !isPredicted { attributes[k].falseNegatives += 1 }
                }
            }
        }
    }

    /// The mean F1 of the attributes.
    public var macroF1: Double { attributes.isEmpty ? 0 : attributes.map(\.f1).reduce(0, +) / Double(attributes.count) }
    /// The share of characters with the whole label right.
    public var accuracy: Double { characters == 0 ? 0 : Double(correct) / Double(characters) }
}
