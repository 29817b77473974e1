import GlossaTensor

/// A batch of token sequences padded on the right to one length, with the mask that says which
/// positions are real. Every `Encoder` and `Decoder` reads its input in this form.
public struct TokenBatch: Sendable, Equatable {
    /// `[batchSize × length]` ids, row-major; padding positions hold `padId`.
    public let ids: [Int]
    /// `[batchSize × length]`, true where the token is real.
    public let mask: [Bool]
    /// The number of sequences.
    public let batchSize: Int
    /// The padded length.
    public let length: Int
    /// The real length of each sequence.
    public let lengths: [Int]

    /// Pads `sequences` with `padId` to the longest one.
    public init(_ sequences: [[Int]], padId: Int) {
        let length = sequences.map(\.count).max() ?? 0
        var ids = [Int](), mask = [Bool]()
        ids.reserveCapacity(sequences.count * length)
        mask.reserveCapacity(sequences.count * length)
        for s in sequences {
            ids += s + [Int](repeating: padId, count: length - s.count)
            mask += [Bool](repeating: true, count: s.count) + [Bool](repeating: false, count: length - s.count)
        }
        self.ids = ids
        self.mask = mask
        self.batchSize = sequences.count
        self.length = length
        self.lengths = sequences.map(\.count)
    }

    /// One token per sequence (a decoding step): the same batch as `init(tokens.map { [$0] }, padId:)` without an
    /// array per row.
    public init(oneTokenPerRow tokens: [Int]) {
        ids = tokens
        mask = [Bool](repeating: true, count: tokens.count)
        batchSize = tokens.count
        length = tokens.isEmpty ? 0 : 1
        lengths = [Int](repeating: 1, count: tokens.count)
    }

    /// The shape `[batchSize, length]`.
    public var shape: [Int] { [batchSize, length] }

    /// Sequence `i` without its padding.
    public func sequence(_ i: Int) -> [Int] { Array(ids[(i * length)..<(i * length + lengths[i])]) }

    /// The additive attention mask `[B, 1, 1, T]` that hides padding keys.
    public var attentionMask: Tensor {
        Tensor(shape: [batchSize, 1, 1, length], scalars: mask.map { $0 ? 0 : -1e9 })
    }

    /// `[B, T, 1]` with 1 at real tokens and 0 at padding (for pooling).
    public var maskTensor: Tensor {
        Tensor(shape: [batchSize, length, 1], scalars: mask.map { $0 ? 1 : 0 })
    }
}
