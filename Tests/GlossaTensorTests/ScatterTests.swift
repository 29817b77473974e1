import GlossaTensor
import GlossaTestSupport
import Testing

/// `takeAlong` and `scatterAddAlong` against plain loops, and their backward rules against finite differences.
@Suite struct ScatterTests {
    /// Seeded indices in 0..<n for a `[outer, m, inner]` result.
    func indices(outer: Int, m: Int, inner: Int, n: Int, seed: UInt64) -> [Int] {
        var generator = SeededGenerator(seed: seed)
        return (0..<(outer * m * inner)).map { _ in Int.random(in: 0..<n, using: &generator) }
    }

    @Test(arguments: [0, 1, 2])
    func takeAlongMatchesTheLoop(_ axis: Int) {
        let shape = [2, 4, 3]
        var outShape = shape
        outShape[axis] = 5
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let index = indices(outer: outer, m: 5, inner: inner, n: shape[axis], seed: UInt64(axis + 1))
        let x = randomTensor(shape, seed: 3)
        var expected = [Float](repeating: 0, count: outer * 5 * inner)
        for o in 0..<outer {
            for i in 0..<5 {
                for j in 0..<inner { expected[(o * 5 + i) * inner + j] = x.scalars[(o * shape[axis] + index[(o * 5 + i) * inner + j]) * inner + j] }
            }
        }
        let y = x.takeAlong(axis: axis, index)
        #expect(y.shape == outShape)
        assertClose(y.scalars, expected, rtol: 0, atol: 0)
        checkGradients([x]) { $0[0].takeAlong(axis: axis, index) }
    }

    @Test(arguments: [0, 1, 2])
    func scatterAddAlongMatchesTheLoop(_ axis: Int) {
        let shape = [2, 4, 3]
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *), size = 3
        let index = indices(outer: outer, m: shape[axis], inner: inner, n: size, seed: UInt64(axis + 7))
        let x = randomTensor(shape, seed: 5)
        var expected = [Float](repeating: 0, count: outer * size * inner)
        for o in 0..<outer {
            for i in 0..<shape[axis] {
                for j in 0..<inner { expected[(o * size + index[(o * shape[axis] + i) * inner + j]) * inner + j] += x.scalars[(o * shape[axis] + i) * inner + j] }
            }
        }
        let y = x.scatterAddAlong(axis: axis, index, size: size)
        var outShape = shape
        outShape[axis] = size
        #expect(y.shape == outShape)
        assertClose(y.scalars, expected, rtol: 1e-6, atol: 1e-6)
        checkGradients([x]) { $0[0].scatterAddAlong(axis: axis, index, size: size) }
    }

    /// Each is the other's adjoint: ⟨take(x), y⟩ = ⟨x, scatter(y)⟩.
    @Test func theyAreAdjoint() {
        let index = indices(outer: 2, m: 6, inner: 3, n: 4, seed: 11)
        let x = randomTensor([2, 4, 3], seed: 12), y = randomTensor([2, 6, 3], seed: 13)
        let left = (x.takeAlong(axis: 1, index) * y).sum().item
        let right = (x * y.scatterAddAlong(axis: 1, index, size: 4)).sum().item
        #expect(abs(left - right) <= 1e-4 * (1 + abs(left)))
    }
}
