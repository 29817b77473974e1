import Foundation
import GlossaTensor

/// The one batcher of training: cuts an objective's examples into the batches of one epoch. The plan of epoch e
/// depends only on (seed, e), so a resumed run sees the same order.
public enum ExampleBatcher {
    /// The batches of `epoch`, as example indices.
    public static func epoch(_ batching: ExampleBatching, seed: UInt64, epoch: Int) -> [[Int]] {
        var rng = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        switch batching {
        case .byTokens(let lengths, let maxTokens, let maxExamples, let sortKeys, let mixture):
            let drawn = mixture?.draw(seed: seed, epoch: epoch) ?? Array(lengths.indices)
            return byTokens(drawn.filter { lengths.indices.contains($0) && lengths[$0] > 0 }, lengths: lengths, keys: sortKeys ?? lengths,
                            maxTokens: maxTokens, maxExamples: maxExamples ?? Int.max, rng: &rng)
        case .bySize(let count, let size, let repeats):
            let order = (0..<count).shuffled(using: &rng)
            return stride(from: 0, to: order.count, by: Swift.max(size, 1)).flatMap { start in
                [[Int]](repeating: Array(order[start..<Swift.min(start + size, order.count)]), count: Swift.max(repeats, 1))
            }
        }
    }

    /// Length-bucketed batches of `indices` (an index may repeat): shuffle, sort by `keys` (stably, so equal keys come
    /// in a fresh order each epoch), cut where the padded size would pass `maxTokens` or the count `maxExamples`,
    /// shuffle the batches.
    static func byTokens(_ indices: [Int], lengths: [Int], keys: [Int], maxTokens: Int, maxExamples: Int, rng: inout SeededGenerator) -> [[Int]] {
        var indices = indices
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

/// The examples of each epoch of a task mixture: every group (a task) gives `perEpoch` examples per epoch, taken in
/// order from an endless stream of seeded permutations of its own examples, so within a group every example comes once
/// before any comes twice, a small task is repeated and a large one is spread over epochs. A group's stream depends only
/// on (seed, its key, its examples, its `perEpoch`), not on the other groups: a single-task run with the same group
/// sees the same examples of that task, epoch by epoch, as the mixture does.
public struct ExampleMixture: Sendable, Equatable {
    /// One task's examples and its share of an epoch.
    public struct Group: Sendable, Equatable {
        /// Seeds the group's permutations (`ExampleMixture.key(of:)` of the task's name).
        public var key: UInt64
        /// Indices of the group's examples among the objective's training examples.
        public var indices: [Int]
        /// How many of them each epoch draws (with repeats when it is more than `indices.count`).
        public var perEpoch: Int

        /// A group.
        public init(key: UInt64, indices: [Int], perEpoch: Int) {
            self.key = key
            self.indices = indices
            self.perEpoch = perEpoch
        }
    }

    /// The groups.
    public var groups: [Group]

    /// A mixture of `groups`.
    public init(groups: [Group]) { self.groups = groups }

    /// A stable key for a task name (64-bit FNV-1a of its UTF-8; Swift's `hashValue` changes from run to run).
    public static func key(of name: String) -> UInt64 {
        name.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }

    /// The examples of `epoch`, group by group (the batcher shuffles them).
    public func draw(seed: UInt64, epoch: Int) -> [Int] {
        var out: [Int] = []
        for group in groups where !group.indices.isEmpty && group.perEpoch > 0 {
            let n = group.indices.count, start = Swift.max(epoch, 0) * group.perEpoch
            var pass = -1
            var order: [Int] = []
            for position in start..<(start + group.perEpoch) {
                if position / n != pass {
                    pass = position / n
                    var rng = SeededGenerator(seed: (seed ^ group.key) &+ UInt64(pass) &* 0x9E37_79B9_7F4A_7C15)
                    order = Array(0..<n).shuffled(using: &rng)
                }
                out.append(group.indices[order[position % n]])
            }
        }
        return out
    }
}
