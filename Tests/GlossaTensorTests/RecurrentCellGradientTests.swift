import Testing
import GlossaTensor
import GlossaTestSupport

/// The fused GRU and LSTM gate primitives: forward against the same equations written with plain ops,
/// backward against finite differences, and the in-place gradient of many slices of one tensor.
@Suite struct RecurrentCellGradientTests {
    let width = 3

    /// The GRU update spelled out with primitive ops (the oracle of the fused kernel).
    func plainGRU(_ gi: Tensor, _ gh: Tensor, _ h: Tensor) -> Tensor {
        let w = width
        let r = (gi.slice(axis: 1, 0..<w) + gh.slice(axis: 1, 0..<w)).sigmoid()
        let z = (gi.slice(axis: 1, w..<(2 * w)) + gh.slice(axis: 1, w..<(2 * w))).sigmoid()
        let n = (gi.slice(axis: 1, (2 * w)..<(3 * w)) + r * gh.slice(axis: 1, (2 * w)..<(3 * w))).tanh()
        return (1 - z) * n + z * h
    }

    /// The LSTM update spelled out with primitive ops: [h', c'].
    func plainLSTM(_ pre: Tensor, _ c: Tensor) -> Tensor {
        let w = width
        let i = pre.slice(axis: 1, 0..<w).sigmoid(), f = pre.slice(axis: 1, w..<(2 * w)).sigmoid()
        let g = pre.slice(axis: 1, (2 * w)..<(3 * w)).tanh(), o = pre.slice(axis: 1, (3 * w)..<(4 * w)).sigmoid()
        let cNew = f * c + i * g
        return Tensor.concat([o * cNew.tanh(), cNew], axis: 1)
    }

    @Test func gruForwardMatchesPlainOps() {
        let gi = randomTensor([2, 3 * width], seed: 1), gh = randomTensor([2, 3 * width], seed: 2), h = randomTensor([2, width], seed: 3)
        assertClose(gi.gruCell(gh, h), plainGRU(gi, gh, h), rtol: 1e-5, atol: 1e-6)
    }

    @Test func lstmForwardMatchesPlainOps() {
        let pre = randomTensor([2, 4 * width], seed: 4), c = randomTensor([2, width], seed: 5)
        assertClose(pre.lstmCell(c), plainLSTM(pre, c), rtol: 1e-5, atol: 1e-6)
    }

    @Test func gruGradient() {
        let gi = randomTensor([2, 3 * width], seed: 6), gh = randomTensor([2, 3 * width], seed: 7), h = randomTensor([2, width], seed: 8)
        checkGradients([gi, gh, h]) { $0[0].gruCell($0[1], $0[2]) }
    }

    @Test func lstmGradient() {
        let pre = randomTensor([2, 4 * width], seed: 9), c = randomTensor([2, width], seed: 10)
        checkGradients([pre, c]) { $0[0].lstmCell($0[1]) }
    }

    @Test func gruGradientOverSeveralSteps() {
        // Three steps reusing one recurrent matrix: the rule composes with matmul over time.
        let x = randomTensor([3, 2, 3 * width], seed: 11), w = randomTensor([3 * width, width], seed: 12, std: 0.5)
        let h0 = randomTensor([2, width], seed: 13)
        checkGradients([x, w, h0]) { v in
            var h = v[2]
            var outs: [Tensor] = []
            for t in 0..<3 {
                h = v[0].slice(axis: 0, t..<(t + 1)).reshaped([2, 3 * width]).gruCell(h.matmul(v[1], transposeOther: true), h)
                outs.append(h)
            }
            return Tensor.concat(outs, axis: 1)
        }
    }

    @Test func manySlicesOfOneTensorAccumulate() {
        // Overlapping and repeated slices, mixed with a use of the whole tensor, sum their gradients.
        let x = randomTensor([4, 3], seed: 14)
        checkGradients([x]) { v in
            let a = v[0].slice(axis: 0, 0..<2) * 2, b = v[0].slice(axis: 0, 1..<4), c = v[0].slice(axis: 1, 1..<3)
            return a.sum() + (b * b).sum() + c.exp().sum() + v[0].slice(axis: 0, 1..<2).sum() + v[0].tanh().sum()
        }
    }
}
