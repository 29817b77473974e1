import Foundation

/// A reward's verdict on one output: the scalar GRPO optimises and the parts it is made of.
public struct RewardScore: Sendable, Equatable {
    /// The reward.
    public var value: Double
    /// Named parts (`accuracy`, `format`, `chrf`), each reported as a mean over outputs.
    public var components: [String: Double]

    /// A score and its parts.
    public init(value: Double, components: [String: Double] = [:]) {
        self.value = value
        self.components = components
    }
}

/// Scores a model's outputs for their prompts: a checker against a reference answer, a metric against a reference
/// translation (`ReferenceReward`), or a learned reward model that reads the prompt and the output (`LearnedReward`).
/// GRPO reads rewards only through this protocol.
public protocol Reward: Sendable {
    /// A short name for recipes and logs (`arithmetic`, `chrf`, `learned`).
    var name: String { get }
    /// The score of each `outputs[i]` (decoded response text) for `prompts[i]`, whose reference is `references[i]`.
    func scores(prompts: [String], outputs: [String], references: [String]) throws -> [RewardScore]
}

/// A reward computed from an output and its example's reference alone, one output at a time.
public protocol ReferenceReward: Reward {
    /// The score of `output` (the decoded response text) given the example's `reference`.
    func score(output: String, reference: String) -> RewardScore
}

extension ReferenceReward {
    /// Each output against its reference; the prompts are not read.
    public func scores(prompts: [String], outputs: [String], references: [String]) throws -> [RewardScore] {
        guard outputs.count == references.count else {
            throw GlossaError.invalidInput("\(outputs.count) outputs but \(references.count) references")
        }
        return zip(outputs, references).map { score(output: $0, reference: $1) }
    }

    /// Mean value and mean of each component over several outputs.
    public func summary(outputs: [String], references: [String]) -> [String: Double] {
        RewardScore.summary(outputs.indices.map { score(output: outputs[$0], reference: references[$0]) })
    }
}

extension Reward {
    /// Mean value (`reward`) and mean of each component over several outputs.
    public func summary(prompts: [String], outputs: [String], references: [String]) throws -> [String: Double] {
        RewardScore.summary(try scores(prompts: prompts, outputs: outputs, references: references))
    }
}

extension RewardScore {
    /// `reward`: the mean value; each component: its mean over the scores (0 where a score lacks it).
    public static func summary(_ scores: [RewardScore]) -> [String: Double] {
        var totals: [String: Double] = ["reward": 0]
        for s in scores {
            totals["reward", default: 0] += s.value
            for (k, v) in s.components { totals[k, default: 0] += v }
        }
        let n = Double(Swift.max(scores.count, 1))
        return totals.mapValues { $0 / n }
    }
}

/// R1-Zero-style rule reward for the arithmetic task (DeepSeek-AI, 2025): an accuracy reward of 1 when
/// the answer inside `<answer>…</answer>` equals the reference, plus a format reward `formatWeight`
/// when the whole output is exactly one such tag around an integer. A bare correct number earns nothing.
public struct ArithmeticReward: ReferenceReward {
    /// The weight of the format reward.
    public var formatWeight: Double

    /// The arithmetic reward with a format bonus of `formatWeight` (0.5 by default).
    public init(formatWeight: Double = 0.5) { self.formatWeight = formatWeight }

    /// "arithmetic".
    public var name: String { "arithmetic" }

    public func score(output: String, reference: String) -> RewardScore {
        let answer = Self.taggedAnswer(in: output)
        let formatted = Self.isWellFormatted(output)
        let correct = answer.map { $0 == reference.trimmingCharacters(in: .whitespaces) } ?? false
        let accuracy: Double = correct ? 1 : 0, format: Double = formatted ? 1 : 0
        return RewardScore(value: accuracy + formatWeight * format, components: ["accuracy": accuracy, "format": format])
    }

    /// The text of the first `<answer>…</answer>`, trimmed; `nil` when there is none.
    public static func taggedAnswer(in output: String) -> String? {
        guard let open = output.range(of: "<answer>"),
              let close = output.range(of: "</answer>", range: open.upperBound..<output.endIndex) else { return nil }
        return output[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
    }

    /// Whether `output` is exactly `<answer>N</answer>` for an integer N (spaces around allowed).
    public static func isWellFormatted(_ output: String) -> Bool {
        let text = output.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("<answer>"), text.hasSuffix("</answer>"), text.count > 17 else { return false }
        let inner = text.dropFirst(8).dropLast(9).trimmingCharacters(in: .whitespaces)
        let digits = inner.hasPrefix("-") ? inner.dropFirst() : Substring(inner)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }
}

/// Sentence chrF (sacreBLEU's chrF2) against the reference translation, scaled to [0, 1].
public struct ChrFReward: ReferenceReward {
    /// The metric.
    public var metric: ChrF

    /// sacreBLEU's default chrF2.
    public init(metric: ChrF = ChrF()) { self.metric = metric }

    /// "chrf".
    public var name: String { "chrf" }

    public func score(output: String, reference: String) -> RewardScore {
        let chrF = metric.sentenceScore(hypothesis: output, reference: reference).score / 100
        return RewardScore(value: chrF, components: ["chrf": chrF])
    }
}

/// 1 when the output is the reference (both trimmed of surrounding white space), else 0: the accuracy of a label
/// task (language id, a help page's module) answered in words.
public struct ExactMatchReward: ReferenceReward {
    /// An exact-match reward.
    public init() {}

    /// "exact".
    public var name: String { "exact" }

    public func score(output: String, reference: String) -> RewardScore {
        let hit: Double = output.trimmingCharacters(in: .whitespacesAndNewlines) == reference.trimmingCharacters(in: .whitespacesAndNewlines) ? 1 : 0
        return RewardScore(value: hit, components: ["accuracy": hit])
    }
}

/// The built-in rewards by name, for recipes and the CLI.
public enum Rewards {
    /// The names `named` knows.
    public static let names = ["arithmetic", "chrf", "exact"]

    /// `arithmetic`, `chrf` or `exact`.
    public static func named(_ name: String) throws -> any ReferenceReward {
        switch name {
        case "arithmetic": return ArithmeticReward()
        case "chrf": return ChrFReward()
        case "exact": return ExactMatchReward()
        default: throw GlossaError.invalidConfiguration("unknown reward \"\(name)\"; known: \(names.joined(separator: ", "))")
        }
    }
}
