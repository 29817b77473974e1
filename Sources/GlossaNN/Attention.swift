import GlossaTensor

/// Keys and values already computed for an attention layer during incremental decoding:
/// self-attention appends one step at a time; cross-attention computes them once from the encoder.
public final class KeyValueCache {
    /// `[B, H, T, D]`, or `nil` before the first step.
    public internal(set) var keys: Tensor?
    /// `[B, H, T, D]`, or `nil` before the first step.
    public internal(set) var values: Tensor?

    /// An empty cache.
    public init() {}

    /// The number of cached positions.
    public var length: Int { keys?.shape[2] ?? 0 }

    /// Keeps only the batch rows `rows` (beam search reorders and prunes hypotheses).
    public func select(rows: [Int]) {
        keys = keys?.indexSelect(axis: 0, rows)
        values = values?.indexSelect(axis: 0, rows)
    }
}

/// Multi-head scaled dot-product attention with Hugging Face's projection names
/// (`q_proj`, `k_proj`, `v_proj`, `out_proj`), for self- and cross-attention.
public final class MultiHeadAttention: Module {
    /// The query, key, value and output projections.
    public let queryProjection, keyProjection, valueProjection, outputProjection: Linear
    /// The number of heads; the width divides evenly among them.
    public let heads: Int
    /// Dropout on the attention weights.
    public let dropout: Float
    /// The checkpoint name of the output projection: `out_proj` (Marian, BART) or `o_proj` (Llama).
    public let outputName: String

    /// A layer of width `dimension` split into `heads` heads.
    public init(
        dimension: Int, heads: Int, bias: Bool = true, dropout: Float = 0, outputName: String = "out_proj",
        generator: inout SeededGenerator
    ) {
        precondition(heads > 0 && dimension % heads == 0, "width \(dimension) does not split into \(heads) heads")
        queryProjection = Linear(dimension, dimension, bias: bias, generator: &generator)
        keyProjection = Linear(dimension, dimension, bias: bias, generator: &generator)
        valueProjection = Linear(dimension, dimension, bias: bias, generator: &generator)
        outputProjection = Linear(dimension, dimension, bias: bias, generator: &generator)
        self.heads = heads
        self.dropout = dropout
        self.outputName = outputName
    }

    /// A layer over the given projections (zero ones for weights that are about to be loaded).
    public init(query: Linear, key: Linear, value: Linear, output: Linear, heads: Int, dropout: Float = 0, outputName: String = "out_proj") {
        precondition(heads > 0 && query.weight.shape[0] % heads == 0, "width \(query.weight.shape[0]) does not split into \(heads) heads")
        (queryProjection, keyProjection, valueProjection, outputProjection) = (query, key, value, output)
        self.heads = heads
        self.dropout = dropout
        self.outputName = outputName
    }

    public var children: [(name: String, module: any Module)] {
        [("q_proj", queryProjection), ("k_proj", keyProjection), ("v_proj", valueProjection), (outputName, outputProjection)]
    }

    /// Attends from `query` `[B, Tq, C]` to `memory` `[B, Tk, C]` (itself when `nil`).
    ///
    /// - `mask`: additive, broadcastable to `[B, H, Tq, Tk]` (0 to keep, a large negative number to drop).
    /// - `cache`: with self-attention, the new keys/values are appended and the whole history is attended;
    ///   with cross-attention (`memory` given) keys/values are computed on the first call and reused.
    /// - `rotate`: applied to the new queries and keys `[B, H, T, D]` before they are cached (rotary positions).
    public func callAsFunction(
        _ query: Tensor, memory: Tensor? = nil, mask: Tensor? = nil, cache: KeyValueCache? = nil,
        rotate: ((Tensor) -> Tensor)? = nil, context: ForwardContext = ForwardContext()
    ) -> Tensor {
        let (b, tq, c) = (query.shape[0], query.shape[1], query.shape[2])
        let d = c / heads
        func split(_ x: Tensor) -> Tensor {  // [B, T, C] → [B, H, T, D]
            x.reshaped([b, x.shape[1], heads, d]).permuted([0, 2, 1, 3])
        }
        var q = split(queryProjection(query) * (1 / Float(d).squareRoot()))
        if let rotate { q = rotate(q) }
        var k: Tensor, v: Tensor
        if memory != nil, let cache, let ck = cache.keys, let cv = cache.values {
            (k, v) = (ck, cv)
        } else {
            let source = memory ?? query
            k = split(keyProjection(source))
            if let rotate, memory == nil { k = rotate(k) }
            v = split(valueProjection(source))
            if let cache {
                if memory == nil, let ck = cache.keys, let cv = cache.values {
                    k = Tensor.concat([ck, k], axis: 2)
                    v = Tensor.concat([cv, v], axis: 2)
                }
                cache.keys = k
                cache.values = v
            }
        }
        var scores = q.matmul(k, transposeOther: true)  // [B, H, Tq, Tk]
        if let mask { scores = scores + mask }
        let weights = context.dropout(scores.softmax(), dropout)
        let mixed = weights.matmul(v)  // [B, H, Tq, D]
        return outputProjection(mixed.permuted([0, 2, 1, 3]).reshaped([b, tq, c]))
    }
}

/// Masks in the additive form attention takes.
public enum AttentionMask {
    /// The value added to dropped scores; finite so that fully masked rows stay finite.
    public static let dropped: Float = -1e9

    /// `[B, 1, 1, T]` from a padding mask `[B][T]` (true = real token).
    public static func padding(_ keep: [[Bool]]) -> Tensor {
        let t = keep.first?.count ?? 0
        return Tensor(shape: [keep.count, 1, 1, t], scalars: keep.flatMap { $0.map { $0 ? 0 : dropped } })
    }

    /// `[1, 1, Tq, Tk]` letting query i (at absolute position `offset + i`) see keys 0…offset+i.
    public static func causal(queries: Int, keys: Int, offset: Int = 0) -> Tensor {
        var values = [Float](repeating: 0, count: queries * keys)
        for i in 0..<queries { for j in 0..<keys where j > offset + i { values[i * keys + j] = dropped } }
        return Tensor(shape: [1, 1, queries, keys], scalars: values)
    }
}
