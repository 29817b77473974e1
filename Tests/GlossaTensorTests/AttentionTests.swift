import Testing
import GlossaTensor
import GlossaTestSupport

/// The attention primitive against the same computation composed from permutes, products, softmax and dropout.
@Suite struct AttentionTests {
    let b = 2, tq = 3, tk = 4, heads = 2, d = 3

    /// The composition the primitive replaces: split heads, scaled scores, mask, softmax, dropout, mix, merge heads.
    func composed(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?, dropout: Float, seed: UInt64) -> Tensor {
        func split(_ x: Tensor) -> Tensor { x.reshaped([b, x.shape[1], heads, d]).permuted([0, 2, 1, 3]) }
        var scores = split(q).matmul(split(k), transposeOther: true) * (1 / Float(d).squareRoot())
        if let mask { scores = scores + mask }
        var rng = SeededGenerator(seed: seed)
        let weights = dropout > 0 ? scores.softmax().dropout(dropout, using: &rng) : scores.softmax()
        return weights.matmul(split(v)).permuted([0, 2, 1, 3]).reshaped([b, q.shape[1], heads * d])
    }

    func fused(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: Tensor?, dropout: Float, seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return q.attention(keys: k, values: v, heads: heads, scale: 1 / Float(d).squareRoot(), mask: mask, dropout: dropout, using: &rng)
    }

    static let maskShapes: [[Int]?] = [nil, [2, 1, 1, 4], [1, 1, 3, 4], [2, 1, 3, 4], [2, 2, 3, 4], [1, 2, 1, 4]]

    @Test(arguments: maskShapes, [Float(0), 0.3])
    func matchesTheComposition(maskShape: [Int]?, dropout: Float) {
        let q = randomTensor([b, tq, heads * d], seed: 1, std: 2), k = randomTensor([b, tk, heads * d], seed: 2, std: 2)
        let v = randomTensor([b, tk, heads * d], seed: 3)
        // Masks that drop some keys outright, as padding and causal masks do.
        let mask = maskShape.map { shape in
            Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { $0 % 3 == 2 ? -1e9 : Float($0 % 5) * 0.1 })
        }
        let leaves = [q, k, v].map { Tensor(shape: $0.shape, scalars: $0.scalars, requiresGrad: true) }
        let seed = Tensor(shape: [b, tq, heads * d], scalars: randomTensor([b * tq * heads * d], seed: 4).scalars)
        var results: [[Tensor]] = []
        for f in [composed, fused] {
            leaves.forEach { $0.zeroGrad() }
            let out = f(leaves[0], leaves[1], leaves[2], mask, dropout, 9)
            out.backward(seed: seed)
            results.append([out] + leaves.map { $0.grad! })
        }
        for (expected, actual) in zip(results[0], results[1]) { assertClose(actual, expected, rtol: 1e-4, atol: 1e-5) }
    }

    @Test func finiteDifferences() {
        let q = randomTensor([b, tq, heads * d], seed: 5), k = randomTensor([b, tk, heads * d], seed: 6), v = randomTensor([b, tk, heads * d], seed: 7)
        let causal = Tensor(shape: [1, 1, 3, 4], scalars: (0..<12).map { ($0 % 4) > ($0 / 4) + 1 ? -1e9 : 0 })
        checkGradients([q, k, v]) { fused($0[0], $0[1], $0[2], mask: causal, dropout: 0, seed: 0) }
    }

    @Test func fullyMaskedRowsStayFinite() {
        let q = randomTensor([1, 2, 4], seed: 8), k = randomTensor([1, 3, 4], seed: 9)
        let mask = Tensor(shape: [1, 1, 1, 3], scalars: [-1e9, -1e9, -1e9])
        var rng = SeededGenerator(seed: 1)
        let out = q.attention(keys: k, values: k, heads: 2, scale: 0.5, mask: mask, dropout: 0, using: &rng)
        #expect(out.scalars.allSatisfy { $0.isFinite })
    }
}
