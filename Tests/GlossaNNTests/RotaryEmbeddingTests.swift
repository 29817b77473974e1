import Foundation
import Testing
import GlossaNN
import GlossaTensor
import GlossaTestSupport

/// Rotary positions against a plain loop of the Llama formula, their relative-position property,
/// their gradient, and their use inside cached attention.
@Suite struct RotaryEmbeddingTests {
    /// x·cos(pθ) + rotate_half(x)·sin(pθ), written out in Double.
    func reference(_ x: [Float], heads: Int, length: Int, dimension d: Int, positions: [Int], base: Double = 10_000) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        let half = d / 2
        for h in 0..<heads {
            for t in 0..<length {
                let row = (h * length + t) * d
                for i in 0..<half {
                    let angle = Double(positions[t]) / Foundation.pow(base, Double(2 * i) / Double(d))
                    let (a, b) = (Double(x[row + i]), Double(x[row + half + i]))
                    out[row + i] = Float(a * Foundation.cos(angle) - b * Foundation.sin(angle))
                    out[row + half + i] = Float(b * Foundation.cos(angle) + a * Foundation.sin(angle))
                }
            }
        }
        return out
    }

    @Test func matchesTheFormula() {
        let rope = RotaryEmbedding(dimension: 8, maxPositions: 64)
        let x = randomTensor([1, 2, 5, 8], seed: 1)
        let positions = [0, 1, 7, 30, 63]
        let y = rope(x, positions: positions)
        assertClose(y.scalars, reference(x.scalars, heads: 2, length: 5, dimension: 8, positions: positions), rtol: 1e-4, atol: 1e-5)
    }

    @Test func perRowPositionsMatchSharedOnes() {
        let rope = RotaryEmbedding(dimension: 4, maxPositions: 16)
        let x = randomTensor([2, 1, 3, 4], seed: 2)
        let rows = rope(x, positions: [3, 4, 5, 0, 1, 2])
        let first = rope(x.slice(axis: 0, 0..<1), positions: [3, 4, 5]), second = rope(x.slice(axis: 0, 1..<2), positions: [0, 1, 2])
        assertClose(rows, Tensor.concat([first, second], axis: 0), rtol: 1e-6, atol: 1e-7)
    }

    @Test func dotProductsDependOnlyOnTheOffset() {
        // ⟨R(m)q, R(n)k⟩ = ⟨R(m+s)q, R(n+s)k⟩: attention sees relative positions only.
        let rope = RotaryEmbedding(dimension: 16, maxPositions: 128)
        let q = randomTensor([1, 1, 1, 16], seed: 3), k = randomTensor([1, 1, 1, 16], seed: 4)
        func score(_ m: Int, _ n: Int) -> Float {
            (rope(q, positions: [m]) * rope(k, positions: [n])).sum().item
        }
        for shift in [1, 17, 60] {
            assertClose([score(5 + shift, 2 + shift)], [score(5, 2)], rtol: 1e-4, atol: 1e-4)
        }
    }

    @Test func gradientMatchesFiniteDifferences() {
        let rope = RotaryEmbedding(dimension: 4, maxPositions: 8)
        checkGradients([randomTensor([2, 1, 3, 4], seed: 5)]) { inputs in rope(inputs[0], positions: [1, 2, 5]) }
    }

    @Test func cachedAttentionWithRotationMatchesFullPass() {
        var rng = SeededGenerator(seed: 6)
        let attention = MultiHeadAttention(dimension: 16, heads: 2, bias: false, outputName: "o_proj", generator: &rng)
        #expect(attention.namedParameters().map(\.name).contains("o_proj.weight"))
        let rope = RotaryEmbedding(dimension: 8, maxPositions: 16)
        let x = randomTensor([2, 5, 16], seed: 7)
        let full = attention(x, mask: AttentionMask.causal(queries: 5, keys: 5), rotate: { rope($0, positions: Array(0..<5)) })
        let cache = KeyValueCache()
        let steps = (0..<5).map { t in
            attention(x.slice(axis: 1, t..<(t + 1)), cache: cache, rotate: { rope($0, positions: [t]) })
        }
        assertClose(Tensor.concat(steps, axis: 1), full, rtol: 1e-4, atol: 1e-5)
    }
}
