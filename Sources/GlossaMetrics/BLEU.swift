import Foundation

/// Corpus BLEU (Papineni et al., 2002) computed exactly as sacreBLEU 2.x does at its defaults
/// (`metrics/bleu.py`): 13a tokenization, n-grams up to 4, `exp` smoothing, brevity penalty,
/// case-sensitive, no effective order, one reference per hypothesis.
public struct BLEU: Sendable, Equatable {
    /// How zero n-gram matches are smoothed (Chen and Cherry, 2014, as named in sacreBLEU).
    public enum Smoothing: Sendable, Equatable {
        /// No smoothing: a zero precision makes BLEU zero.
        case none
        /// Method 1: a zero match count becomes `value` (sacreBLEU's default value is 0.1).
        case floor(Double)
        /// Method 2: adds `value` to matches and totals of orders 2 and up (sacreBLEU's default value is 1).
        case addK(Double)
        /// Method 3, NIST's mteval-v13a smoothing; sacreBLEU's default.
        case exp
    }

    /// The highest n-gram order counted.
    public let maxOrder: Int
    /// The smoothing method.
    public let smoothing: Smoothing
    /// The tokenizer applied to hypotheses and references.
    public let tokenizer = Tokenizer13a()

    /// sacreBLEU's default BLEU.
    public init() {
        maxOrder = 4
        smoothing = .exp
    }

    /// BLEU with another maximum order or smoothing; `maxOrder` must be at least 1.
    public init(maxOrder: Int, smoothing: Smoothing = .exp) throws(MetricError) {
        guard maxOrder >= 1 else {
            throw .invalidConfiguration("BLEU's maximum n-gram order must be at least 1, but it is \(maxOrder).")
        }
        self.maxOrder = maxOrder
        self.smoothing = smoothing
    }

    /// Corpus BLEU of hypotheses against one reference each, matched by line.
    public func corpusScore(hypotheses: [String], references: [String]) throws(MetricError) -> BLEUScore {
        guard hypotheses.count == references.count else {
            throw .lineCountMismatch(hypotheses: hypotheses.count, references: references.count)
        }
        var total = BLEUStatistics(maxOrder: maxOrder)
        for (hypothesis, reference) in zip(hypotheses, references) {
            total += statistics(hypothesis: hypothesis, reference: reference)
        }
        return score(total)
    }

    /// The sufficient statistics of one segment; sum them over a corpus and pass the sum to `score(_:)`.
    public func statistics(hypothesis: String, reference: String) -> BLEUStatistics {
        let hyp = ngrams(hypothesis)
        let ref = ngrams(reference)
        var stats = BLEUStatistics(maxOrder: maxOrder)
        stats.hypothesisLength = hyp.length
        stats.referenceLength = ref.length
        for order in 0..<maxOrder {
            for (gram, count) in hyp.counts[order] {
                stats.totals[order] += count
                if let refCount = ref.counts[order][gram] { stats.matches[order] += min(count, refCount) }
            }
        }
        return stats
    }

    /// BLEU from summed statistics (sacreBLEU's `compute_bleu` with `effective_order=False`).
    public func score(_ stats: BLEUStatistics) -> BLEUScore {
        var brevityPenalty = 1.0
        if stats.hypothesisLength < stats.referenceLength {
            brevityPenalty = stats.hypothesisLength > 0
                ? exp(1 - Double(stats.referenceLength) / Double(stats.hypothesisLength)) : 0
        }
        var precisions = [Double](repeating: 0, count: maxOrder)
        let ratio = stats.referenceLength > 0 ? Double(stats.hypothesisLength) / Double(stats.referenceLength) : 0
        func report(_ value: Double) -> BLEUScore {
            BLEUScore(
                score: value, precisions: precisions, brevityPenalty: brevityPenalty, ratio: ratio,
                hypothesisLength: stats.hypothesisLength, referenceLength: stats.referenceLength,
                matches: stats.matches, totals: stats.totals)
        }
        guard stats.matches.contains(where: { $0 != 0 }) else { return report(0) }

        var smoothMteval = 1.0
        for n in 0..<min(maxOrder, stats.matches.count, stats.totals.count) {
            var matches = Double(stats.matches[n])
            var total = Double(stats.totals[n])
            if case let .addK(k) = smoothing, n > 0 {
                matches += k
                total += k
            }
            if total == 0 { break }
            if matches == 0 {
                switch smoothing {
                case .exp:
                    smoothMteval *= 2
                    precisions[n] = 100 / (smoothMteval * total)
                case let .floor(value):
                    precisions[n] = 100 * value / total
                case .none, .addK:
                    break
                }
            } else {
                precisions[n] = 100 * matches / total
            }
        }
        // sacreBLEU's `my_log` floors log(0) at -9999999999, which makes the score exactly 0.
        let logSum = precisions.reduce(0.0) { $0 + ($1 == 0 ? -9_999_999_999 : log($1)) }
        return report(brevityPenalty * exp(logSum / Double(maxOrder)))
    }

    /// Token count and n-gram counts (orders 1 through `maxOrder`) of a right-stripped, tokenized line.
    private func ngrams(_ line: String) -> (length: Int, counts: [[ArraySlice<Unicode.Scalar>: Int]]) {
        let (text, words) = tokenizer.tokenize(PythonText.rstrip(Array(line.unicodeScalars)))
        let counts = (1...maxOrder).map { PythonText.countWordNGrams(text: text, words: words, order: $0) }
        return (words.count, counts)
    }
}

/// The sufficient statistics of BLEU for one segment or, summed, a corpus.
public struct BLEUStatistics: Sendable, Equatable, Codable {
    /// Tokens in the hypothesis.
    public var hypothesisLength: Int
    /// Tokens in the reference.
    public var referenceLength: Int
    /// Clipped n-gram matches, index 0 for unigrams.
    public var matches: [Int]
    /// Hypothesis n-grams, index 0 for unigrams.
    public var totals: [Int]

    /// All-zero statistics for n-gram orders 1 through `maxOrder`.
    public init(maxOrder: Int) {
        hypothesisLength = 0
        referenceLength = 0
        matches = [Int](repeating: 0, count: max(0, maxOrder))
        totals = matches
    }

    /// Adds another segment's statistics (of the same maximum order).
    public static func += (lhs: inout BLEUStatistics, rhs: BLEUStatistics) {
        lhs.hypothesisLength += rhs.hypothesisLength
        lhs.referenceLength += rhs.referenceLength
        for i in 0..<min(lhs.matches.count, rhs.matches.count) { lhs.matches[i] += rhs.matches[i] }
        for i in 0..<min(lhs.totals.count, rhs.totals.count) { lhs.totals[i] += rhs.totals[i] }
    }
}

/// A BLEU score with the details sacreBLEU prints beside it.
public struct BLEUScore: Sendable, Equatable, Codable {
    /// BLEU on sacreBLEU's 0–100 scale.
    public var score: Double
    /// Smoothed n-gram precisions in percent, index 0 for unigrams.
    public var precisions: [Double]
    /// The brevity penalty, in 0...1.
    public var brevityPenalty: Double
    /// Hypothesis length over reference length (0 when the references are empty).
    public var ratio: Double
    /// Tokens in all hypotheses.
    public var hypothesisLength: Int
    /// Tokens in all references.
    public var referenceLength: Int
    /// Clipped n-gram matches, index 0 for unigrams.
    public var matches: [Int]
    /// Hypothesis n-grams, index 0 for unigrams.
    public var totals: [Int]

    /// sacreBLEU's line: `BLEU = 12.34 45.6/20.1/10.0/5.0 (BP = 1.000 ratio = 1.012 hyp_len = 10 ref_len = 9)`.
    public var formatted: String {
        let precisionText = precisions.map { String(format: "%.1f", $0) }.joined(separator: "/")
        return String(format: "BLEU = %.2f ", score) + precisionText
            + String(format: " (BP = %.3f ratio = %.3f ", brevityPenalty, ratio)
            + "hyp_len = \(hypothesisLength) ref_len = \(referenceLength))"
    }
}
