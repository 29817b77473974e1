import Foundation

/// chrF (Popović, 2015) and chrF++ (Popović, 2017) computed exactly as sacreBLEU 2.x does (`metrics/chrf.py`).
///
/// The defaults are sacreBLEU's: character n-grams up to 6, no word n-grams, β = 2, whitespace removed,
/// case-sensitive, and `eps_smoothing=False` (precision and recall averaged over the orders that have
/// n-grams on both sides). Characters are Unicode code points, as in Python.
public struct ChrF: Sendable, Equatable {
    /// The highest character n-gram order.
    public let charOrder: Int
    /// The highest word n-gram order; 2 gives chrF++.
    public let wordOrder: Int
    /// Recall is weighted β times as much as precision.
    public let beta: Int
    /// Whether whitespace takes part in character n-grams.
    public let includeWhitespace: Bool
    /// Whether to average per-order F-scores with ε for empty orders (chrF++.py, NLTK and Moses style).
    public let epsSmoothing: Bool

    /// sacreBLEU's default chrF2.
    public init() {
        charOrder = 6
        wordOrder = 0
        beta = 2
        includeWhitespace = false
        epsSmoothing = false
    }

    /// chrF with other settings; orders must be non-negative with at least one order in all, β non-negative.
    public init(
        charOrder: Int, wordOrder: Int = 0, beta: Int = 2, includeWhitespace: Bool = false, epsSmoothing: Bool = false
    ) throws(MetricError) {
        guard charOrder >= 0, wordOrder >= 0, charOrder + wordOrder >= 1 else {
            throw .invalidConfiguration(
                "chrF needs non-negative n-gram orders and at least one in all, "
                    + "but the character order is \(charOrder) and the word order is \(wordOrder).")
        }
        guard beta >= 0 else { throw .invalidConfiguration("chrF's beta must be non-negative, but it is \(beta).") }
        self.charOrder = charOrder
        self.wordOrder = wordOrder
        self.beta = beta
        self.includeWhitespace = includeWhitespace
        self.epsSmoothing = epsSmoothing
    }

    /// The metric's name as sacreBLEU prints it: `chrF2`, or `chrF2++` with word order 2.
    public var name: String { "chrF\(beta)" + String(repeating: "+", count: wordOrder) }

    /// Corpus chrF of hypotheses against one reference each, matched by line.
    public func corpusScore(hypotheses: [String], references: [String]) throws(MetricError) -> ChrFScore {
        guard hypotheses.count == references.count else {
            throw .lineCountMismatch(hypotheses: hypotheses.count, references: references.count)
        }
        var total = ChrFStatistics(orders: charOrder + wordOrder)
        for (hypothesis, reference) in zip(hypotheses, references) {
            total += statistics(hypothesis: NGrams(hypothesis, self), reference: NGrams(reference, self))
        }
        return score(total)
    }

    /// Sentence chrF against one reference (sacreBLEU's `sentence_chrf(hypothesis, [reference])`).
    public func sentenceScore(hypothesis: String, reference: String) -> ChrFScore {
        score(statistics(hypothesis: hypothesis, reference: reference))
    }

    /// Sentence chrF against the best of several references, chosen as sacreBLEU chooses it.
    public func sentenceScore(hypothesis: String, references: [String]) throws(MetricError) -> ChrFScore {
        guard !references.isEmpty else { throw .noReferences }
        let hyp = NGrams(hypothesis, self)
        var best = ChrFStatistics(orders: charOrder + wordOrder)
        var bestF = -1.0
        for reference in references {
            let stats = statistics(hypothesis: hyp, reference: NGrams(reference, self))
            let f = fScore(stats)
            if f > bestF {
                bestF = f
                best = stats
            }
        }
        return score(best)
    }

    /// The sufficient statistics of one segment; sum them over a corpus and pass the sum to `score(_:)`.
    public func statistics(hypothesis: String, reference: String) -> ChrFStatistics {
        statistics(hypothesis: NGrams(hypothesis, self), reference: NGrams(reference, self))
    }

    /// chrF from summed statistics.
    public func score(_ stats: ChrFStatistics) -> ChrFScore {
        ChrFScore(name: name, score: fScore(stats))
    }

    /// sacreBLEU's `_compute_f_score`, operation for operation.
    private func fScore(_ stats: ChrFStatistics) -> Double {
        let eps = 1e-16
        let factor = Double(beta * beta)
        var score = 0.0
        var averagePrecision = 0.0
        var averageRecall = 0.0
        var effectiveOrder = 0
        for counts in stats.orders {
            let precision = counts.hypothesis > 0 ? Double(counts.matches) / Double(counts.hypothesis) : eps
            let recall = counts.reference > 0 ? Double(counts.matches) / Double(counts.reference) : eps
            let denominator = factor * precision + recall
            score += denominator > 0 ? (1 + factor) * precision * recall / denominator : eps
            if counts.hypothesis > 0 && counts.reference > 0 {
                averagePrecision += precision
                averageRecall += recall
                effectiveOrder += 1
            }
        }
        if epsSmoothing { return 100 * score / Double(stats.orders.count) }
        if effectiveOrder == 0 {
            averagePrecision = 0
            averageRecall = 0
        } else {
            averagePrecision /= Double(effectiveOrder)
            averageRecall /= Double(effectiveOrder)
        }
        guard averagePrecision + averageRecall != 0 else { return 0 }
        return 100 * ((1 + factor) * averagePrecision * averageRecall / (factor * averagePrecision + averageRecall))
    }

    private func statistics(hypothesis: NGrams, reference: NGrams) -> ChrFStatistics {
        var stats = ChrFStatistics(orders: 0)
        for (hyp, ref) in zip(hypothesis.counts, reference.counts) {
            var counts = ChrFStatistics.Counts()
            var hypCount = 0
            for (gram, count) in hyp {
                hypCount += count
                if let refCount = ref[gram] { counts.matches += min(count, refCount) }
            }
            // sacreBLEU counts hypothesis n-grams only where the reference has some of that order.
            counts.hypothesis = ref.isEmpty ? 0 : hypCount
            counts.reference = ref.values.reduce(0, +)
            stats.orders.append(counts)
        }
        return stats
    }

    /// The characters of sacreBLEU's PUNCTS set, split off the ends of words for chrF++.
    private static let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)

    /// Character n-gram counts (orders 1...charOrder) followed by word n-gram counts (1...wordOrder).
    private struct NGrams {
        var counts: [[ArraySlice<Unicode.Scalar>: Int]] = []

        init(_ line: String, _ metric: ChrF) {
            let scalars = Array(line.unicodeScalars)
            let chars = metric.includeWhitespace ? scalars : scalars.filter { !PythonText.isWhitespace($0) }
            for n in stride(from: 1, through: metric.charOrder, by: 1) {
                counts.append(PythonText.countSlices(of: chars, length: n))
            }
            guard metric.wordOrder > 0 else { return }
            let (text, words) = PythonText.splitJoined(Self.separatingPunctuation(scalars))
            for n in 1...metric.wordOrder {
                counts.append(PythonText.countWordNGrams(text: text, words: words, order: n))
            }
        }

        /// sacreBLEU's `_remove_punctuation`: one leading or trailing punctuation mark becomes its own word.
        private static func separatingPunctuation(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
            let (text, words) = PythonText.splitJoined(scalars)
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(text.count + words.count)
            for range in words {
                let word = text[range]
                if !out.isEmpty { out.append(" ") }
                if word.count > 1, let last = word.last, ChrF.punctuation.contains(last) {
                    out.append(contentsOf: word.dropLast())
                    out.append(" ")
                    out.append(last)
                } else if word.count > 1, let first = word.first, ChrF.punctuation.contains(first) {
                    out.append(first)
                    out.append(" ")
                    out.append(contentsOf: word.dropFirst())
                } else {
                    out.append(contentsOf: word)
                }
            }
            return out
        }
    }
}

/// The sufficient statistics of chrF for one segment or, summed, a corpus.
public struct ChrFStatistics: Sendable, Equatable, Codable {
    /// N-gram counts of one order.
    public struct Counts: Sendable, Equatable, Codable {
        /// Hypothesis n-grams (zero when the reference has none of this order).
        public var hypothesis = 0
        /// Reference n-grams.
        public var reference = 0
        /// Clipped matches.
        public var matches = 0
        /// Zero counts.
        public init() {}
    }

    /// Character orders 1...charOrder, then word orders 1...wordOrder.
    public var orders: [Counts]

    /// All-zero statistics for `orders` n-gram orders in all.
    public init(orders: Int) {
        self.orders = [Counts](repeating: Counts(), count: max(0, orders))
    }

    /// Adds another segment's statistics (of the same orders).
    public static func += (lhs: inout ChrFStatistics, rhs: ChrFStatistics) {
        for i in 0..<min(lhs.orders.count, rhs.orders.count) {
            lhs.orders[i].hypothesis += rhs.orders[i].hypothesis
            lhs.orders[i].reference += rhs.orders[i].reference
            lhs.orders[i].matches += rhs.orders[i].matches
        }
    }
}

/// A chrF score with the name sacreBLEU gives it.
public struct ChrFScore: Sendable, Equatable, Codable {
    /// `chrF2`, or `chrF2++` for word order 2.
    public var name: String
    /// chrF on sacreBLEU's 0–100 scale.
    public var score: Double

    /// sacreBLEU's line, e.g. `chrF2 = 45.67`.
    public var formatted: String { name + String(format: " = %.2f", score) }
}
