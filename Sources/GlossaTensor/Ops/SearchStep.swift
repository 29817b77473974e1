import CGlossaKernels

/// The best continuations of a search step found from rows of logits, without writing their log-softmax: a
/// best-first list of (row, token, score) that rows merge into (`gk_best_continuations`; the scores have the bits
/// that `logSoftmax` then beam search's or greedy search's selection would give). Its buffers are kept across steps.
public struct BestContinuations {
    /// The hypothesis row of each entry, best first.
    public private(set) var rows: [Int32] = []
    /// The token of each entry.
    public private(set) var tokens: [Int32] = []
    /// The score (base + log p) of each entry.
    public private(set) var scores: [Float] = []
    /// The entries filled.
    public private(set) var count = 0
    private var limit = 0

    /// An empty list.
    public init() {}

    /// Empties the list for at most `k` entries.
    public mutating func reset(keeping k: Int) {
        if rows.count < k {
            rows = [Int32](repeating: 0, count: k)
            tokens = [Int32](repeating: 0, count: k)
            scores = [Float](repeating: 0, count: k)
        }
        limit = k
        count = 0
    }

    /// Merges one row: `logits` (`columns` of them), `banned` tokens ascending (at −∞ after the log-softmax, not
    /// renormalised), `base` the hypothesis' score. With `byScore` (beam search) the row's continuations join the list
    /// by score, each after every entry scoring at least as much; without (greedy), the list becomes the row's first
    /// arg-max alone.
    public mutating func merge(logits: UnsafePointer<Float>, columns: Int, banned: [Int64], base: Float, row: Int, byScore: Bool) {
        precondition(limit > 0 && (byScore || limit == 1), "reset the list first (greedy keeps one entry)")
        var filled = count
        let k = limit
        banned.withUnsafeBufferPointer { b in rows.withUnsafeMutableBufferPointer { r in tokens.withUnsafeMutableBufferPointer { t in
            scores.withUnsafeMutableBufferPointer { s in
                gk_best_continuations(logits, columns, b.baseAddress, b.count, base, Int32(row), byScore ? 1 : 0, k, &filled,
                                      r.baseAddress, t.baseAddress, s.baseAddress)
            }
        } } }
        count = filled
    }
}
