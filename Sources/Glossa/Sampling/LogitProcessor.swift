import Foundation

/// Rewrites one row of next-token scores before a token is chosen; a sampler chains several
/// (transformers' `LogitsProcessor`/`LogitsWarper`). Removed tokens get −∞.
public protocol LogitProcessor: Sendable {
    /// Processes `logits` `[V]` in place; `history` is every token before the next one (the
    /// prompt, then the generated tokens), for processors that look back.
    func process(_ logits: inout [Float], history: [Int])
}

/// Penalises tokens already in the history, as transformers' `RepetitionPenaltyLogitsProcessor`
/// (CTRL, Keskar et al. 2019): positive logits are divided by the penalty, negative ones multiplied.
public struct RepetitionPenalty: LogitProcessor {
    /// Above 1 discourages repeats, 1 does nothing.
    public var penalty: Float

    /// A penalty (1 = none).
    public init(_ penalty: Float) { self.penalty = penalty }

    public func process(_ logits: inout [Float], history: [Int]) {
        guard penalty != 1 else { return }
        for token in Set(history) where token >= 0 && token < logits.count {
            let x = logits[token]
            logits[token] = x < 0 ? x * penalty : x / penalty
        }
    }
}

/// Bans every token that would complete an n-gram already in the history (transformers'
/// `NoRepeatNGramLogitsProcessor`).
public struct NoRepeatNGram: LogitProcessor {
    /// The n-gram length (0 disables).
    public var size: Int

    /// A ban of repeated n-grams of length `size`.
    public init(size: Int) { self.size = size }

    public func process(_ logits: inout [Float], history: [Int]) {
        guard size > 0, history.count >= size else { return }
        let tail = history.suffix(size - 1)  // the n−1 tokens the next one would follow
        let start = history.count - (size - 1)
        for i in 0..<start where history[i..<(i + size - 1)].elementsEqual(tail) {
            let banned = history[i + size - 1]
            if banned >= 0 && banned < logits.count { logits[banned] = -.infinity }
        }
    }
}

/// Bans the last token of each sequence whose other tokens were just generated (transformers'
/// `NoBadWordsLogitsProcessor` for sequences longer than one token; single tokens are banned by the search).
public struct BadWordSequences: LogitProcessor {
    /// The banned sequences, each at least two tokens long.
    public var sequences: [[Int]]

    /// A ban on `sequences`.
    public init(_ sequences: [[Int]]) { self.sequences = sequences }

    public func process(_ logits: inout [Float], history: [Int]) {
        for words in sequences where words.count > 1 && history.count >= words.count - 1 {
            guard history.suffix(words.count - 1).elementsEqual(words.dropLast()), let banned = words.last,
                  banned >= 0 && banned < logits.count else { continue }
            logits[banned] = -.infinity
        }
    }
}

/// Divides the logits by a temperature T. T = 0 keeps only the arg-max (greedy search exactly);
/// for T > 0 the logits are shifted by their maximum before dividing (in Double), so nothing
/// divides by zero or overflows, and as T → 0 every token but the maximum gets probability 0.
public struct Temperature: LogitProcessor {
    /// T ≥ 0.
    public var value: Float

    /// A temperature (1 = unchanged).
    public init(_ value: Float) { self.value = value }

    public func process(_ logits: inout [Float], history: [Int]) {
        guard value != 1, let best = argmax(logits) else { return }
        let top = Double(logits[best])
        if value <= 0 || !value.isFinite {
            for i in logits.indices where i != best { logits[i] = -.infinity }
            return
        }
        let t = Double(value)
        for i in logits.indices {
            // (x − max)/T ≤ 0; below Float's range it rounds to −∞, which is probability 0 anyway.
            logits[i] = i == best ? 0 : Float((Double(logits[i]) - top) / t)
        }
    }
}

/// Keeps the k highest logits (ties broken toward the lower id, so exactly k survive).
public struct TopK: LogitProcessor {
    /// k (0 keeps everything).
    public var k: Int

    /// A top-k filter.
    public init(_ k: Int) { self.k = k }

    public func process(_ logits: inout [Float], history: [Int]) {
        guard k > 0, k < logits.count else { return }
        let order = descendingOrder(logits)
        for i in order[k...] { logits[i] = -.infinity }
    }
}

/// Nucleus sampling (Holtzman et al. 2020): keeps the smallest set of most likely tokens whose
/// probability reaches p.
public struct TopP: LogitProcessor {
    /// p in (0, 1]; 1 keeps everything.
    public var p: Float

    /// A nucleus filter.
    public init(_ p: Float) { self.p = p }

    public func process(_ logits: inout [Float], history: [Int]) {
        guard p < 1 else { return }
        let probabilities = softmax(logits)
        let order = descendingOrder(logits)
        var mass = 0.0, keep = 0
        for i in order {
            keep += 1
            mass += probabilities[i]
            if mass >= Double(p) { break }
        }
        for i in order[keep...] { logits[i] = -.infinity }
    }
}

/// Min-p sampling (Nguyen et al. 2024): keeps the tokens whose probability is at least p times the
/// most likely token's.
public struct MinP: LogitProcessor {
    /// p in [0, 1]; 0 keeps everything.
    public var p: Float

    /// A min-p filter.
    public init(_ p: Float) { self.p = p }

    public func process(_ logits: inout [Float], history: [Int]) {
        guard p > 0, let best = argmax(logits) else { return }
        // p_i ≥ p · p_max  ⇔  x_i ≥ x_max + log p (the softmax normaliser cancels).
        let threshold = Double(logits[best]) + Foundation.log(Double(p))
        for i in logits.indices where Double(logits[i]) < threshold { logits[i] = -.infinity }
    }
}

/// The index of the largest finite-or-not value (the lowest index among ties); nil when empty or all NaN.
func argmax(_ values: [Float]) -> Int? {
    var best: Int?
    for i in values.indices where !values[i].isNaN {
        if best == nil || values[i] > values[best ?? i] { best = i }
    }
    return best
}

/// Indices by decreasing value, ties by increasing index.
func descendingOrder(_ values: [Float]) -> [Int] {
    values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
}

/// softmax in Double, shifted by the maximum; all −∞ gives all zeros.
func softmax(_ logits: [Float]) -> [Double] {
    guard let best = argmax(logits), logits[best] > -.infinity else { return [Double](repeating: 0, count: logits.count) }
    let top = Double(logits[best])
    var result = logits.map { Foundation.exp(Double($0) - top) }
    let total = result.reduce(0, +)
    for i in result.indices { result[i] /= total }
    return result
}
