import Testing
import Glossa
import GlossaNN
import GlossaTensor
import GlossaTestSupport
@testable import GlossaRNN

/// Each cell over several time steps, in both directions, and each attention score, against finite differences.
@Suite struct RNNGradientTests {
    func cell(_ kind: CellKind) -> RecurrentCell {
        var rng = SeededGenerator(seed: 3)
        return RecurrentCell(kind, inputSize: 3, hiddenSize: 2, generator: &rng)
    }

    @Test(arguments: CellKind.allCases)
    func cellOverFourSteps(kind: CellKind) {
        let layer = cell(kind)
        let x = randomTensor([4, 2, 3], seed: 1)  // [T, B, E]
        let h0 = randomTensor([2, 2], seed: 2, std: 0.5), c0 = randomTensor([2, 2], seed: 3, std: 0.5)
        checkGradients([x, h0, c0] + layer.parameters) { v in
            layer.run(v[0], initial: RecurrentState(hidden: v[1], cell: kind == .lstm ? v[2] : nil), reverse: false)
        }
    }

    @Test(arguments: CellKind.allCases)
    func reversePassThroughPadding(kind: CellKind) {
        let layer = cell(kind)
        let x = randomTensor([4, 2, 3], seed: 4)
        // Row 0 is 4 long, row 1 only 2: its backward pass restarts at position 1.
        let mask = [true, true, true, true, true, true, false, false]
        checkGradients([x] + layer.parameters) { v in
            layer.run(v[0], initial: .zeros(kind, batch: 2, hidden: 2), reverse: true, mask: mask)
        }
    }

    @Test func reversePassIgnoresPadding() {
        let layer = cell(.gru)
        let x = randomTensor([4, 2, 3], seed: 5)
        let mask = [true, true, true, true, true, true, false, false]
        let batched = withoutGrad { layer.run(x, initial: .zeros(.gru, batch: 2, hidden: 2), reverse: true, mask: mask) }
        let alone = withoutGrad {
            layer.run(x.slice(axis: 0, 0..<2).slice(axis: 1, 1..<2), initial: .zeros(.gru, batch: 1, hidden: 2), reverse: true)
        }
        assertClose(batched.slice(axis: 0, 0..<2).slice(axis: 1, 1..<2), alone, rtol: 1e-5, atol: 1e-6)
    }

    @Test(arguments: [AttentionScore.bahdanau, .dot, .general])
    func attention(score: AttentionScore) {
        var rng = SeededGenerator(seed: 6)
        let attention = RNNAttention(score, query: 4, memory: 4, hidden: 3, generator: &rng)
        let query = randomTensor([2, 4], seed: 7), memory = randomTensor([2, 3, 4], seed: 8)
        let mask = Tensor(shape: [2, 3], scalars: [0, 0, 0, 0, 0, -1e9])
        checkGradients([query, memory] + attention.parameters) { v in
            attention(query: v[0], keys: attention.keys(v[1]), values: v[1], mask: mask)
        }
    }
}
