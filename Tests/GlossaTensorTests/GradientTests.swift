import Testing
import GlossaTensor
import GlossaTestSupport

/// Every primitive's backward rule against finite differences.
@Suite struct GradientTests {
    let a = randomTensor([2, 3], seed: 1), b = randomTensor([2, 3], seed: 2)
    var positive: Tensor { randomTensor([2, 3], seed: 3).pow(2) + 0.5 }

    @Test func binaryWithBroadcasting() {
        let row = randomTensor([3], seed: 4), col = randomTensor([2, 1], seed: 5)
        checkGradients([a, row]) { $0[0] + $0[1] }
        checkGradients([a, col]) { $0[0] - $0[1] }
        checkGradients([a, row]) { $0[0] * $0[1] }
        checkGradients([a, positive]) { $0[0] / $0[1] }
        checkGradients([col, row]) { $0[0] * $0[1] + $0[1] }
        checkGradients([a]) { -$0[0] }
    }

    @Test func unary() {
        checkGradients([a]) { $0[0].exp() }
        checkGradients([positive]) { $0[0].log() }
        checkGradients([positive]) { $0[0].sqrt() }
        checkGradients([positive]) { $0[0].rsqrt() }
        checkGradients([positive]) { $0[0].pow(1.7) }
        checkGradients([a]) { $0[0].pow(2) }
        checkGradients([a]) { $0[0].tanh() }
        checkGradients([a]) { $0[0].sigmoid() }
        checkGradients([a]) { $0[0].silu() }
        checkGradients([a]) { $0[0].gelu() }
        checkGradients([a]) { $0[0].geluTanh() }
        checkGradients([Tensor(rows: [[-1, 0.5, 2], [0.3, -0.2, 1]])]) { $0[0].relu() }
        checkGradients([Tensor(rows: [[-1, 0.5, 2], [0.3, -0.2, 1]])]) { $0[0].clamp(-0.5, 1.5) }
    }

    @Test func selectAndMaskedFill() {
        let mask = Tensor(shape: [1, 3], scalars: [1, 0, 1])
        checkGradients([a, b]) { $0[0].selecting(where: mask, else: $0[1]) }
        checkGradients([a]) { $0[0].maskedFill(mask, with: -1e4).softmax() }
    }

    @Test func reductions() {
        let x = randomTensor([2, 3, 4], seed: 6)
        // Values at least 0.1 apart, so the finite-difference step never changes which one is largest.
        let distinct = Tensor(shape: [2, 3, 4], scalars: (0..<24).map { Float(($0 * 7) % 24) * 0.1 })
        for axis in 0..<3 {
            checkGradients([x]) { $0[0].sum(axis: axis) }
            checkGradients([x]) { $0[0].mean(axis: axis, keepDims: true) }
            checkGradients([distinct]) { $0[0].max(axis: axis) }
            checkGradients([x]) { $0[0].logSumExp(axis: axis, keepDims: axis == 1) }
        }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmul(transA: Bool, transB: Bool) {
        let x = randomTensor(transA ? [4, 3] : [3, 4], seed: 7), y = randomTensor(transB ? [5, 4] : [4, 5], seed: 8)
        checkGradients([x, y]) { $0[0].matmul($0[1], transposeSelf: transA, transposeOther: transB) }
        let bx = randomTensor(transA ? [2, 4, 3] : [2, 3, 4], seed: 9), by = randomTensor(transB ? [2, 5, 4] : [2, 4, 5], seed: 10)
        checkGradients([bx, by]) { $0[0].matmul($0[1], transposeSelf: transA, transposeOther: transB) }
        checkGradients([bx, y]) { $0[0].matmul($0[1], transposeSelf: transA, transposeOther: transB) }
        let bias = randomTensor([5], seed: 15)
        checkGradients([bx, y, bias]) { $0[0].matmul($0[1], transposeSelf: transA, transposeOther: transB, bias: $0[2]) }
    }

    @Test func fusedCrossEntropy() {
        let logits = randomTensor([4, 7], seed: 16, std: 2)
        checkGradients([logits]) { $0[0].crossEntropyRows(targets: [3, 0, -1, 6], labelSmoothing: 0.1, ignoreIndex: -1) }
        checkGradients([logits]) { $0[0].crossEntropyRows(targets: [1, 2, 3, 4]) }
        let expected = logits.logSoftmax().scalars
        assertClose(logits.crossEntropyRows(targets: [1, 2, 3, 4]).scalars,
                    [-expected[1], -expected[9], -expected[17], -expected[25]], rtol: 1e-5)
    }

    @Test func layout() {
        let x = randomTensor([2, 3, 4], seed: 11)
        checkGradients([x]) { $0[0].reshaped([6, 4]) }
        checkGradients([x]) { $0[0].permuted([2, 0, 1]) }
        checkGradients([x]) { $0[0].transposed(0, 2) }
        checkGradients([x]) { $0[0].slice(axis: 1, 1..<3) }
        checkGradients([x, a]) { Tensor.concat([$0[0].reshaped([4, 6]).slice(axis: 0, 0..<2).reshaped([2, 2, 3]).sum(axis: 1), $0[1]], axis: 1) }
        checkGradients([x]) { $0[0].split(axis: 2, sizes: [1, 3])[1] }
        checkGradients([x]) { $0[0].indexSelect(axis: 1, [2, 0, 2]) }
        checkGradients([a]) { $0[0].gather(rows: [1, 1, 0], shape: [3]) }
        checkGradients([a]) { $0[0].indexAdd(axis: 0, [2, 2], size: 4) }
        checkGradients([x]) { $0[0].padded(axis: 2, before: 2, after: 1, value: 3) }
    }

    @Test func fused() {
        let x = randomTensor([3, 5], seed: 12, std: 2)
        checkGradients([x]) { $0[0].softmax() }
        checkGradients([x]) { $0[0].softmax(temperature: 0.5) }
        checkGradients([x]) { $0[0].logSoftmax(temperature: 2) }
        let w = randomTensor([5], seed: 13), bias = randomTensor([5], seed: 14)
        checkGradients([x, w, bias]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        checkGradients([x, w]) { $0[0].rmsNorm(weight: $0[1]) }
        checkGradients([x]) { input in
            var rng = SeededGenerator(seed: 99)
            return input[0].dropout(0.3, using: &rng)
        }
        let y = randomTensor([3, 5], seed: 15)
        checkGradients([x, y]) { input in
            var rng = SeededGenerator(seed: 98)
            return input[0].adding(dropout: input[1], 0.3, using: &rng)
        }
        // The fused residual draws the same mask as dropout and gives the same sum.
        var first = SeededGenerator(seed: 5), second = SeededGenerator(seed: 5)
        #expect(x.adding(dropout: y, 0.4, using: &first).scalars == (x + y.dropout(0.4, using: &second)).scalars)
    }

    @Test func gradientsAccumulateUntilZeroed() {
        let w = Tensor([1, 2, 3], requiresGrad: true)
        (w * 2).sum().backward()
        (w * 3).sum().backward()
        #expect(w.grad?.scalars == [5, 5, 5])
        w.zeroGrad()
        (w * w).sum().backward()
        #expect(w.grad?.scalars == [2, 4, 6])
    }

    @Test func noGradModeRecordsNothing() {
        let w = Tensor([1, 2, 3], requiresGrad: true)
        let y = withoutGrad { (w * 2).exp().sum() }
        #expect(!y.requiresGrad && !y.isRecorded)
        let z = (w * 2).sum()
        #expect(z.isRecorded)
    }

    @Test func sharedSubexpressionGetsBothPaths() {
        checkGradients([a]) { x in
            let h = x[0].tanh()
            return h * h + h.exp()
        }
    }
}
