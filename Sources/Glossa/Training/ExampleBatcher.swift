import Foundation
import GlossaTensor

/// The one batcher of training: cuts an objective's examples into the batches of one epoch. The plan of epoch e
/// depends only on (seed, e), so a resumed run sees the same order.
public enum ExampleBatcher {
    /// The batches of `epoch`, as example indices.
    public static func epoch(_ batching: ExampleBatching, seed: UInt64, epoch: Int) -> [[Int]] {
        var rng = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        switch batching {
        case .byTokens(let lengths, let maxTokens, let maxExamples, let sortKeys):
            return byTokens(lengths: lengths, keys: sortKeys ?? lengths, maxTokens: maxTokens, maxExamples: maxExamples ?? Int.max, rng: &rng)
        case .bySize(let count, let size, let repeats):
            let order = (0..<count).shuffled(using: &rng)
            return stride(from: 0, to: order.count, by: Swift.max(size, 1)).flatMap { start in
                [[Int]](repeating: Array(order[start..<Swift.min(start + size, order.count)]), count: Swift.max(repeats, 1))
            }
        }
    }

    /// Length-bucketed batches: shuffle, sort by `keys` (stably, so equal keys come in a fresh order each epoch), cut
    /// where the padded size would pass `maxTokens` or the count `maxExamples`, shuffle the batches.
    static func byTokens(lengths: [Int], keys: [Int], maxTokens: Int, maxExamples: Int, rng: inout SeededGenerator) -> [[Int]] {
        var indices = lengths.indices.filter { lengths[$0] > 0 }
        indices.shuffle(using: &rng)
        indices = indices.enumerated().sorted { a, b in
            keys[a.element] != keys[b.element] ? keys[a.element] < keys[b.element] : a.offset < b.offset
        }.map(\.element)
        var batches: [[Int]] = []
        var current: [Int] = []
        var longest = 0
        for i in indices {
            if !current.isEmpty && ((current.count + 1) * Swift.max(longest, lengths[i]) > maxTokens || current.count >= maxExamples) {
                batches.append(current)
                current = []
                longest = 0
            }
            current.append(i)
            longest = Swift.max(longest, lengths[i])
        }
        if !current.isEmpty { batches.append(current) }
        batches.shuffle(using: &rng)
        return batches
    }
}

extension ExampleBatching {
    /// `lengths` with those over `maxLength` set to 0 (left out).
    public static func capped(_ lengths: [Int], maxLength: Int) -> [Int] {
        lengths.map { $0 <= maxLength ? $0 : 0 }
    }
}
