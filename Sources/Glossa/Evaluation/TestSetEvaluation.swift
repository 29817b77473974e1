import Foundation
import GlossaNN

/// Corpus BLEU and chrF of some lines of a test set.
public struct TestSetScores: Codable, Sendable, Equatable {
    /// How many lines were scored.
    public var lines: Int
    /// Corpus BLEU (13a tokenisation, sacreBLEU defaults).
    public var bleu: Double
    /// Corpus chrF (sacreBLEU defaults).
    public var chrF: Double
    /// Outputs that repeat themselves where the reference does not (`OutputChecks.repeats`).
    public var repeated: Int
    /// Outputs much shorter than their reference, a clause likely missing (`OutputChecks.isShort`).
    public var short: Int

    /// Scores of `lines` lines.
    public init(lines: Int, bleu: Double, chrF: Double, repeated: Int = 0, short: Int = 0) {
        self.lines = lines
        self.bleu = bleu
        self.chrF = chrF
        self.repeated = repeated
        self.short = short
    }

    enum CodingKeys: String, CodingKey { case lines, bleu, chrF, repeated, short }

    /// Also reads reports from before the output checks (counted as 0).
    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(lines: try c.decode(Int.self, forKey: .lines), bleu: try c.decode(Double.self, forKey: .bleu),
                  chrF: try c.decode(Double.self, forKey: .chrF), repeated: try c.decodeIfPresent(Int.self, forKey: .repeated) ?? 0,
                  short: try c.decodeIfPresent(Int.self, forKey: .short) ?? 0)
    }
}

/// The two failures a corpus score hides: an output that stutters ("Öffnen Sie die Datei Datei.", "Absatz....") and one
/// that stops early ("Wählen Sie die Zellen aus." for a sentence with a relative clause).
public enum OutputChecks {
    /// Words and punctuation marks, each mark a token of its own.
    static func tokens(_ text: String) -> [Substring] {
        var out: [Substring] = []
        for word in text.split(whereSeparator: \.isWhitespace) {
            var start = word.startIndex
            for i in word.indices where word[i].isPunctuation {
                if start < i { out.append(word[start..<i]) }
                out.append(word[i...i])
                start = word.index(after: i)
            }
            if start < word.endIndex { out.append(word[start...]) }
        }
        return out
    }

    /// The immediately repeated n-grams (1 ≤ n ≤ 4) of a token list, each as its n tokens joined by spaces.
    static func stutters(_ tokens: [Substring]) -> Set<String> {
        var found = Set<String>()
        for n in 1...4 where tokens.count >= 2 * n {
            for i in 0...(tokens.count - 2 * n) where tokens[i..<(i + n)].elementsEqual(tokens[(i + n)..<(i + 2 * n)]) {
                found.insert(tokens[i..<(i + n)].joined(separator: " "))
            }
        }
        return found
    }

    /// Whether `hypothesis` repeats an n-gram back to back (a word, "Datei Datei"; a mark, "...."; up to four tokens)
    /// that `reference` does not repeat.
    public static func repeats(_ hypothesis: String, reference: String) -> Bool {
        !stutters(tokens(hypothesis)).subtracting(stutters(tokens(reference))).isEmpty
    }

    /// Whether `hypothesis` has under 60% of the tokens of a reference of at least 5 tokens.
    public static func isShort(_ hypothesis: String, reference: String) -> Bool {
        let r = tokens(reference).count
        return r >= 5 && Double(tokens(hypothesis).count) < 0.6 * Double(r)
    }
}

/// Scores of one decoding of a test set: overall, per origin group and per source-length bucket, with its speed.
public struct TestSetResult: Codable, Sendable, Equatable {
    /// Every line.
    public var all: TestSetScores
    /// Keyed by origin; empty when the test set has no origins.
    public var byOrigin: [String: TestSetScores]
    /// Keyed by `TestSet.lengthBuckets` labels; empty buckets are left out.
    public var byLength: [String: TestSetScores]
    /// Wall-clock seconds of the translation.
    public var seconds: Double
    /// Test lines translated per second.
    public var sentencesPerSecond: Double
    /// Target tokens (EOS included) produced per second.
    public var generatedTokensPerSecond: Double
}

/// The translations of a test set together with their scores.
public struct TestSetTranslation: Sendable {
    /// The best hypothesis of each source line, in order ("" where there was none).
    public var hypotheses: [String]
    /// Their scores and the speed at which they were made.
    public var result: TestSetResult
}

/// A test set: source lines, their references and optionally each line's origin (a corpus or domain name).
public struct TestSet: Sendable {
    /// Source sentences.
    public var sources: [String]
    /// Reference translations, one per source.
    public var references: [String]
    /// Each line's origin, when known; lines with equal origins are also scored as a group.
    public var origins: [String]?

    /// Source length buckets in words (whitespace-separated), since attention's advantage grows with length.
    public static let lengthBuckets: [(label: String, range: ClosedRange<Int>)] = [
        ("1–10", 1...10), ("11–20", 11...20), ("21–40", 21...40), ("41+", 41...Int.max),
    ]

    /// A test set; the lists must have one entry per line each.
    public init(sources: [String], references: [String], origins: [String]? = nil) throws {
        guard sources.count == references.count else {
            throw GlossaError.invalidInput("there are \(sources.count) sources but \(references.count) references; they must have one line per segment each")
        }
        if let origins, origins.count != sources.count {
            throw GlossaError.invalidInput("there are \(origins.count) origins, not \(sources.count) as there are sources")
        }
        self.sources = sources
        self.references = references
        self.origins = origins
    }

    /// Reads aligned text files (one segment per line), keeping the first `limit` lines when given; errors name the files.
    public static func load(source: String, references: String, origins: String? = nil, limit: Int? = nil) throws -> TestSet {
        var s = try InputFile.lines(source), r = try InputFile.lines(references)
        guard s.count == r.count else {
            throw GlossaError.invalidInput("\(source) has \(s.count) lines but \(references) has \(r.count); they must have one line per segment each")
        }
        var o = try origins.map { try InputFile.lines($0) }
        if let o, o.count != s.count {
            throw GlossaError.invalidInput("\(origins ?? "") has \(o.count) lines, not \(s.count) as \(source) has")
        }
        if let limit {
            s = Array(s.prefix(Swift.max(0, limit)))
            r = Array(r.prefix(Swift.max(0, limit)))
            o = o.map { Array($0.prefix(Swift.max(0, limit))) }
        }
        return try TestSet(sources: s, references: r, origins: o)
    }

    /// The same test set with each origin cut at its first ":", so that `bible:Gen.1.1` counts as `bible`.
    public func groupingOrigins() -> TestSet {
        var copy = self
        copy.origins = origins?.map { String($0.split(separator: ":", maxSplits: 1).first ?? "") }
        return copy
    }

    /// The `lengthBuckets` label of a source line (an empty line counts as the shortest bucket).
    public static func lengthBucket(_ line: String) -> String {
        let words = line.split(whereSeparator: \.isWhitespace).count
        return lengthBuckets.first { $0.range.contains(words) }?.label ?? lengthBuckets[0].label
    }

    /// Corpus BLEU and chrF of `hypotheses` (one per line) over all lines, each origin and each length bucket;
    /// `seconds` and `generatedTokens` describe how they were made.
    public func score(_ hypotheses: [String], seconds: Double = 0, generatedTokens: Int = 0) throws -> TestSetResult {
        guard hypotheses.count == sources.count else {
            throw GlossaError.invalidInput("there are \(hypotheses.count) hypotheses for \(sources.count) test lines")
        }
        func scores(_ indices: [Int]) throws -> TestSetScores {
            let h = indices.map { hypotheses[$0] }, r = indices.map { references[$0] }
            return TestSetScores(lines: indices.count, bleu: try BLEU().corpusScore(hypotheses: h, references: r).score,
                                 chrF: try ChrF().corpusScore(hypotheses: h, references: r).score,
                                 repeated: zip(h, r).filter { OutputChecks.repeats($0, reference: $1) }.count,
                                 short: zip(h, r).filter { OutputChecks.isShort($0, reference: $1) }.count)
        }
        var byOrigin: [String: TestSetScores] = [:]
        if let origins {
            for name in Set(origins) { byOrigin[name] = try scores(origins.indices.filter { origins[$0] == name }) }
        }
        let buckets = sources.map(Self.lengthBucket)
        var byLength: [String: TestSetScores] = [:]
        for (label, _) in Self.lengthBuckets {
            let indices = buckets.indices.filter { buckets[$0] == label }
            if !indices.isEmpty { byLength[label] = try scores(indices) }
        }
        // A clock that did not move must not make the speeds infinite.
        let time = Swift.max(seconds, 1e-9)
        return TestSetResult(all: try scores(Array(hypotheses.indices)), byOrigin: byOrigin, byLength: byLength, seconds: seconds,
                             sentencesPerSecond: Double(hypotheses.count) / time, generatedTokensPerSecond: Double(generatedTokens) / time)
    }

    /// Translates the sources with `translate` (one list of candidates per source, best first), times it and scores
    /// the best candidates; generated tokens are counted with the translator's target tokenizer.
    public func evaluate(_ translator: Translator, translate: ([String]) throws -> [[GeneratedText]]) throws -> TestSetTranslation {
        let start = Date()
        let outputs = try translate(sources)
        let seconds = Date().timeIntervalSince(start)
        let hypotheses = sources.indices.map { outputs.indices.contains($0) ? outputs[$0].first?.text ?? "" : "" }
        let generated = try hypotheses.reduce(0) { $0 + (try translator.targetTokenizer.encode($1)).count + 1 }
        return TestSetTranslation(hypotheses: hypotheses, result: try score(hypotheses, seconds: seconds, generatedTokens: generated))
    }

    /// Translates with `search` (greedy or beam, with its processors) and scores the result.
    public func evaluate(_ translator: Translator, search: SearchSettings, batchSize: Int = 32, batchTokens: Int = 0) throws -> TestSetTranslation {
        try evaluate(translator) { try translator.translate($0, search: search, batchSize: batchSize, batchTokens: batchTokens) }
    }
}
