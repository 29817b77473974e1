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
