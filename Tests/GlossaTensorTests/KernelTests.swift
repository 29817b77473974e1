import Testing
import Foundation
import GlossaTensor
import GlossaTestSupport

/// Fast kernels against the plain reference loops.
@Suite struct KernelTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmulMatchesReference(transA: Bool, transB: Bool) {
        let (m, n, k) = (7, 5, 9)
        let a = randomTensor(transA ? [k, m] : [m, k], seed: 1), b = randomTensor(transB ? [n, k] : [k, n], seed: 2)
        let c = a.matmul(b, transposeSelf: transA, transposeOther: transB)
        #expect(c.shape == [m, n])
        assertClose(c.scalars, Reference.matmul(a.scalars, b.scalars, m: m, n: n, k: k, transA: transA, transB: transB),
                    rtol: 1e-5, atol: 1e-5)
    }

    @Test func batchedMatmulWithSharedWeight() {
        let x = randomTensor([2, 3, 4], seed: 3), w = randomTensor([5, 4], seed: 4)
        let y = x.matmul(w, transposeOther: true)
        #expect(y.shape == [2, 3, 5])
        assertClose(y.scalars, Reference.matmul(x.scalars, w.scalars, m: 6, n: 5, k: 4, transA: false, transB: true), atol: 1e-5)
        let xb = randomTensor([2, 4, 3], seed: 5), yb = randomTensor([2, 4, 6], seed: 6)
        let z = xb.matmul(yb, transposeSelf: true)
        #expect(z.shape == [2, 3, 6])
        for i in 0..<2 {
            let ref = Reference.matmul(Array(xb.scalars[(i * 12)..<(i * 12 + 12)]), Array(yb.scalars[(i * 24)..<(i * 24 + 24)]),
                                       m: 3, n: 6, k: 4, transA: true, transB: false)
            assertClose(Array(z.scalars[(i * 18)..<(i * 18 + 18)]), ref, atol: 1e-5)
        }
    }

    @Test(arguments: [1, 7, 8, 33, 512])
    func softmaxMatchesReference(cols: Int) {
        let x = randomTensor([5, cols], seed: UInt64(cols), std: 4)
        assertClose(x.softmax(temperature: 0.7).scalars, Reference.softmax(x.scalars, cols: cols, scale: 1 / 0.7), rtol: 1e-5, atol: 1e-7)
        assertClose(x.logSoftmax().scalars, Reference.softmax(x.scalars, cols: cols, log: true), rtol: 1e-5, atol: 1e-5)
    }

    @Test func softmaxIsStableForHugeLogitsAndMaskedRows() {
        let x = Tensor(rows: [[1000, 1001, 999], [-Float.infinity, 0, -Float.infinity], [-1e30, -1e30, -1e30]])
        let y = x.softmax().scalars
        #expect(y.allSatisfy { $0.isFinite })
        assertClose(Array(y[0..<3]), Reference.softmax([0, 1, -1], cols: 3), atol: 1e-6)
        assertClose(Array(y[3..<6]), [0, 1, 0], atol: 1e-6)
        assertClose(Array(y[6..<9]), [1 / 3, 1 / 3, 1 / 3], atol: 1e-6)
    }

    @Test(arguments: [3, 8, 32, 67])
    func layerNormMatchesReference(cols: Int) {
        let x = randomTensor([6, cols], seed: 9, std: 3) + 5
        let w = randomTensor([cols], seed: 10), b = randomTensor([cols], seed: 11)
        assertClose(x.layerNorm(weight: w, bias: b, eps: 1e-5).scalars,
                    Reference.layerNorm(x.scalars, weight: w.scalars, bias: b.scalars, eps: 1e-5), rtol: 1e-4, atol: 1e-4)
    }

    @Test func activationsMatchScalarFormulas() {
        let x = Tensor.arange(-9, 9, step: 0.37)
        let v = x.scalars
        assertClose(x.exp().scalars, v.map { Foundation.exp($0) }, rtol: 1e-6)
        assertClose(x.tanh().scalars, v.map { Foundation.tanh($0) }, rtol: 1e-5, atol: 1e-6)
        assertClose(x.sigmoid().scalars, v.map { 1 / (1 + Foundation.exp(-$0)) }, rtol: 1e-5, atol: 1e-7)
        assertClose(x.silu().scalars, v.map { $0 / (1 + Foundation.exp(-$0)) }, rtol: 1e-5, atol: 1e-6)
        assertClose(x.gelu().scalars, v.map { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot().float)) }, rtol: 1e-5, atol: 1e-6)
        let c: Float = 0.7978845608028654
        assertClose(x.geluTanh().scalars, v.map { 0.5 * $0 * (1 + Foundation.tanh(c * ($0 + 0.044715 * $0 * $0 * $0))) },
                    rtol: 1e-5, atol: 1e-6)
    }

    @Test func broadcastingShapes() {
        let a = Tensor(shape: [2, 1, 3], scalars: [1, 2, 3, 4, 5, 6]), b = Tensor(shape: [4, 1], scalars: [10, 20, 30, 40])
        let c = a + b
        #expect(c.shape == [2, 4, 3])
        #expect(Array(c.scalars[0..<6]) == [11, 12, 13, 21, 22, 23])
        #expect(Array(c.scalars[12..<15]) == [14, 15, 16])
        let bias = (Tensor.ones([2, 3, 4]) * Tensor([1, 2, 3, 4])).sum(axis: 0)
        #expect(bias.scalars == [2, 4, 6, 8, 2, 4, 6, 8, 2, 4, 6, 8])
    }

    @Test func reductionsAndLayout() {
        let x = Tensor(shape: [2, 3], scalars: [1, 5, 2, 7, 0, 3])
        #expect(x.sum(axis: 1).scalars == [8, 10])
        #expect(x.sum(axis: 0, keepDims: true).shape == [1, 3])
        #expect(x.max(axis: 1).scalars == [5, 7])
        #expect(x.argmax(axis: 1).scalars == [1, 0])
        #expect(x.mean(axis: 0).scalars == [4, 2.5, 2.5])
        assertClose(x.logSumExp(axis: 1).scalars, [Float(Foundation.log(Foundation.exp(1.0) + Foundation.exp(5.0) + Foundation.exp(2.0))),
                                                   Float(Foundation.log(Foundation.exp(7.0) + 1 + Foundation.exp(3.0)))], rtol: 1e-6)
        #expect(x.transposed().scalars == [1, 7, 5, 0, 2, 3])
        #expect(x.slice(axis: 1, 1..<3).scalars == [5, 2, 0, 3])
        #expect(Tensor.concat([x, x], axis: 0).shape == [4, 3])
        #expect(Tensor.concat([x, x.slice(axis: 1, 0..<1)], axis: 1).scalars == [1, 5, 2, 1, 7, 0, 3, 7])
        #expect(x.indexSelect(axis: 0, [1, 1, 0]).scalars == [7, 0, 3, 7, 0, 3, 1, 5, 2])
        #expect(x.padded(axis: 1, before: 1, after: 0, value: -1).scalars == [-1, 1, 5, 2, -1, 7, 0, 3])
        #expect(x.gather(rows: [1, 0], shape: [1, 2]).shape == [1, 2, 3])
        #expect(Tensor(shape: [2, 1], scalars: [1, 2]).indexAdd(axis: 0, [2, 2], size: 3).scalars == [0, 0, 3])
        let p = randomTensor([2, 3, 4, 5], seed: 1).permuted([2, 0, 3, 1])
        #expect(p.shape == [4, 2, 5, 3])
        #expect(p.permuted([1, 3, 0, 2]).scalars == randomTensor([2, 3, 4, 5], seed: 1).scalars)
    }

    @Test func seededRandomnessRepeats() {
        var g1 = SeededGenerator(seed: 42), g2 = SeededGenerator(seed: 42)
        #expect(Tensor.normal([100], using: &g1).scalars == Tensor.normal([100], using: &g2).scalars)
        let x = Tensor.ones([1000])
        var d1 = SeededGenerator(seed: 3), d2 = SeededGenerator(seed: 3)
        let a = x.dropout(0.25, using: &d1), b = x.dropout(0.25, using: &d2)
        #expect(a.scalars == b.scalars)
        let dropped = a.scalars.filter { $0 == 0 }.count
        #expect(dropped > 200 && dropped < 300)
        assertClose([a.mean().item], [1], atol: 0.1)
        var u = SeededGenerator(seed: 5)
        let n = Tensor.normal([20000], mean: 2, std: 3, using: &u)
        assertClose([n.mean().item, ((n - 2).pow(2).mean().item).squareRoot()], [2, 3], rtol: 0.03, atol: 0.05)
    }
}

extension Double { var float: Float { Float(self) } }
