/// Corpus BLEU and chrF of one system output, as `sacrebleu -m bleu chrf` reports them.
public struct ScoreReport: Sendable, Equatable, Codable {
    /// BLEU with its precisions, brevity penalty and lengths.
    public var bleu: BLEUScore
    /// chrF.
    public var chrF: ChrFScore

    /// A report from already computed scores.
    public init(bleu: BLEUScore, chrF: ChrFScore) {
        self.bleu = bleu
        self.chrF = chrF
    }

    /// Scores hypotheses against one reference each, matched by line; an empty corpus scores 0.
    public init(
        hypotheses: [String], references: [String], bleu: BLEU = BLEU(), chrF: ChrF = ChrF()
    ) throws(MetricError) {
        self.bleu = try bleu.corpusScore(hypotheses: hypotheses, references: references)
        self.chrF = try chrF.corpusScore(hypotheses: hypotheses, references: references)
    }

    /// The two lines sacreBLEU prints, BLEU first.
    public var formatted: String { bleu.formatted + "\n" + chrF.formatted }
}

/// Splits UTF-8 bytes into lines the way sacreBLEU reads a file: on `\n` only, with no empty
/// line after a final newline; `\r` and other whitespace stay (both metrics ignore trailing whitespace).
public enum TextLines {
    /// The lines of `bytes`, or `MetricError.invalidUTF8` naming the first bad line.
    public static func decode(_ bytes: some Collection<UInt8>) throws(MetricError) -> [String] {
        var lines: [String] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            let end = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
            guard let line = String(validating: rest[..<end], as: UTF8.self) else {
                throw .invalidUTF8(line: lines.count + 1)
            }
            lines.append(line)
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
        }
        return lines
    }
}
