import Foundation

/// One line of a rankings file (`glossa align rank`): a prompt, the responses shown for it, and the order a person
/// put them in. `ranking` lists tie groups of 0-based indices into `responses`, best first (`2=1 3` is
/// `[[1, 0], [2]]`); a skipped prompt has `skipped: true` and an empty ranking.
public struct RankingRecord: Codable, Sendable, Equatable {
    /// The prompt's position (0-based) in the prompts file it came from; resuming skips the indices already present.
    public var index: Int?
    /// What the model was given.
    public var prompt: String
    /// The distinct responses shown, in the order they were numbered (1, 2, …).
    public var responses: [String]
    /// Tie groups of response indices, best first; responses named in no group are unranked.
    public var ranking: [[Int]]
    /// True when the person skipped the prompt (no ranking).
    public var skipped: Bool?
    /// The model directory that sampled the responses.
    public var model: String?
    /// The seed of the prompt's samples.
    public var seed: UInt64?
    /// When the ranking was given (ISO 8601).
    public var time: String?

    /// A record.
    public init(index: Int?, prompt: String, responses: [String], ranking: [[Int]], skipped: Bool? = nil,
                model: String? = nil, seed: UInt64? = nil, time: String? = nil) {
        self.index = index
        self.prompt = prompt
        self.responses = responses
        self.ranking = ranking
        self.skipped = skipped
        self.model = model
        self.seed = seed
        self.time = time
    }

    /// Throws unless every index of `ranking` names a response and none appears twice.
    public func validate() throws {
        var seen = Set<Int>()
        for index in ranking.joined() {
            guard responses.indices.contains(index) else {
                throw GlossaError.invalidInput("ranking names response \(index) but there are \(responses.count) responses (indices are 0-based)")
            }
            guard seen.insert(index).inserted else { throw GlossaError.invalidInput("ranking names response \(index) twice") }
        }
        if ranking.contains(where: \.isEmpty) { throw GlossaError.invalidInput("ranking has an empty tie group") }
    }

    /// One comparison a ranking implies: `first` is preferred over `second`, or they are tied.
    public struct Comparison: Sendable, Equatable {
        /// The better response's index (either, when tied).
        public var first: Int
        /// The worse response's index.
        public var second: Int
        /// Whether the two are tied (the Bradley–Terry target is then ½).
        public var tie: Bool

        /// A comparison.
        public init(first: Int, second: Int, tie: Bool) {
            self.first = first
            self.second = second
            self.tie = tie
        }
    }

    /// Every pair the ranking implies: each response over every response in a lower group, and each pair within a group as a tie.
    public var comparisons: [Comparison] {
        var out: [Comparison] = []
        for (g, group) in ranking.enumerated() {
            for (i, a) in group.enumerated() {
                for b in group[(i + 1)...] { out.append(Comparison(first: a, second: b, tie: true)) }
                for lower in ranking[(g + 1)...] {
                    for b in lower { out.append(Comparison(first: a, second: b, tie: false)) }
                }
            }
        }
        return out
    }

    /// The DPO pairs of the ranking: one `{prompt, chosen, rejected}` per strict comparison (ties give none).
    public var preferencePairs: [PreferencePair] {
        comparisons.filter { !$0.tie }.map { PreferencePair(prompt: prompt, chosen: responses[$0.first], rejected: responses[$0.second]) }
    }

    /// The records of a rankings file, each checked; skipped records are kept (they mark prompts as done).
    public static func read(_ path: String) throws -> [RankingRecord] {
        let records = try JSONLines.read(RankingRecord.self, from: path)
        for (number, record) in records.enumerated() {
            do { try record.validate() } catch let error as GlossaError {
                throw GlossaError.invalidInput("\(path): record \(number + 1): \(error.description)")
            }
        }
        return records
    }
}

/// What a person types at the `rank>` prompt of `glossa align rank`.
public enum RankingCommand: Equatable, Sendable {
    /// A ranking of the shown responses: tie groups of 0-based indices, best first.
    case ranking([[Int]])
    /// Skip this prompt (recorded, so a rerun does not ask again).
    case skip
    /// Take back the last record and show its prompt again.
    case undo
    /// Stop; a rerun continues here.
    case quit
    /// Show the help.
    case help

    /// Parses one line for `count` responses numbered 1…count: `2 1 3` (best first), ties joined by `=` (`2=1 3`),
    /// or `s`, `u`, `q`, `?`. Every response must be named exactly once. Errors say what is wrong, for the person.
    public static func parse(_ line: String, count: Int) throws -> RankingCommand {
        let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
        switch text.lowercased() {
        case "s", "skip": return .skip
        case "u", "undo": return .undo
        case "q", "quit": return .quit
        case "?", "h", "help": return .help
        case "": throw GlossaError.invalidInput("type a ranking such as \(example(count)), or s, u, q (? for help)")
        default: break
        }
        var groups: [[Int]] = [], seen = Set<Int>()
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == ">" }) {
            var group: [Int] = []
            for part in word.split(separator: "=", omittingEmptySubsequences: false) {
                guard let n = Int(part), (1...count).contains(n) else {
                    throw GlossaError.invalidInput("\"\(part)\" is not a response number 1–\(count)")
                }
                guard seen.insert(n - 1).inserted else { throw GlossaError.invalidInput("response \(n) is named twice") }
                group.append(n - 1)
            }
            groups.append(group)
        }
        let missing = (0..<count).filter { !seen.contains($0) }.map { String($0 + 1) }
        guard missing.isEmpty else {
            throw GlossaError.invalidInput("rank every response: \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") missing")
        }
        return .ranking(groups)
    }

    /// `2 1 3`-style example for `count` responses.
    static func example(_ count: Int) -> String {
        count < 2 ? "\"1\"" : "\"" + ([2, 1] + Array(3...Swift.max(3, count)).prefix(count - 2)).map(String.init).joined(separator: " ") + "\""
    }
}
