import Foundation
import GlossaTensor

/// Rotary position embedding (RoFormer, Su et al. 2021) in the Hugging Face Llama layout: the two
/// halves of each head vector are rotated as pairs (`rotate_half`), not interleaved, with
/// frequencies base^(−2i/D) computed in Float32 as transformers does.
public struct RotaryEmbedding: Sendable {
    /// The head dimension D (even).
    public let dimension: Int
    /// The number of positions the tables cover.
    public let maxPositions: Int
    /// θ, the frequency base (`rope_theta`).
    public let base: Float
    /// `[maxPositions, D]` cosines and sines, each half repeated as transformers lays them out.
    let cosines: [Float], sines: [Float]

    /// Tables for positions 0..<maxPositions of head dimension `dimension`.
    public init(dimension: Int, maxPositions: Int, base: Float = 10_000) {
        precondition(dimension > 0 && dimension % 2 == 0, "rotary embeddings need an even head dimension, got \(dimension)")
        self.dimension = dimension
        self.maxPositions = maxPositions
        self.base = base
        let half = dimension / 2
        let inverseFrequencies = (0..<half).map { i in 1 / Foundation.pow(base, Float(2 * i) / Float(dimension)) }
        var cosines = [Float](repeating: 0, count: maxPositions * dimension)
        var sines = cosines
        for p in 0..<maxPositions {
            for i in 0..<half {
                let angle = Double(Float(p) * inverseFrequencies[i])
                let (c, s) = (Float(Foundation.cos(angle)), Float(Foundation.sin(angle)))
                cosines[p * dimension + i] = c
                cosines[p * dimension + half + i] = c
                sines[p * dimension + i] = s
                sines[p * dimension + half + i] = s
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// The `[rows, D]` cosine and sine rows of `positions`.
    func tables(_ positions: [Int]) -> (cos: [Float], sin: [Float]) {
        var c = [Float](), s = [Float]()
        c.reserveCapacity(positions.count * dimension)
        s.reserveCapacity(positions.count * dimension)
        for p in positions {
            let row = Swift.min(Swift.max(p, 0), maxPositions - 1) * dimension
            c += cosines[row..<(row + dimension)]
            s += sines[row..<(row + dimension)]
        }
        return (c, s)
    }

    /// Rotates `x` `[B, H, T, D]`: x·cos + rotate_half(x)·sin. `positions` holds either T positions
    /// shared by every row, or B·T positions, row by row (rows that started at different places).
    public func callAsFunction(_ x: Tensor, positions: [Int]) -> Tensor {
        let (b, t, d) = (x.shape[0], x.shape[2], x.shape[3])
        precondition(d == dimension, "rotary tables are for head dimension \(dimension), got \(d)")
        precondition(positions.count == t || positions.count == b * t, "rotary positions must number T or B·T")
        let (c, s) = tables(positions)
        let tableShape = positions.count == t ? [t, d] : [b, 1, t, d]
        let cos = Tensor(shape: tableShape, scalars: c), sin = Tensor(shape: tableShape, scalars: s)
        let halves = x.split(axis: 3, sizes: [d / 2, d / 2])
        let rotated = Tensor.concat([halves[1] * -1, halves[0]], axis: 3)  // rotate_half
        return x * cos + rotated * sin
    }
}
