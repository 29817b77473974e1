import GlossaNN
import GlossaTensor
import GlossaTestSupport
import Testing

/// Upsampling, max pooling with indices, max unpooling and convolutions (plain and transposed) against plain
/// loops, with gradients against finite differences.
@Suite struct UpsamplingTests {
    let x = randomTensor([2, 5, 3], seed: 21)  // [B, T, C]
    /// Values at least 0.1 apart, so a finite-difference step never changes which one is the max.
    var separated: Tensor {
        var generator = SeededGenerator(seed: 25)
        return Tensor(shape: [2, 5, 3], scalars: (0..<30).map { Float($0) * 0.1 - 1.5 }.shuffled(using: &generator))
    }

    func element(_ t: Tensor, _ b: Int, _ i: Int, _ c: Int) -> Float { t.scalars[(b * t.shape[1] + i) * t.shape[2] + c] }

    @Test(arguments: [1, 2, 3])
    func nearestCopiesEachValue(_ factor: Int) {
        let y = x.upsampledNearest(factor: factor)
        #expect(y.shape == [2, 5 * factor, 3])
        for b in 0..<2 { for t in 0..<(5 * factor) { for c in 0..<3 { #expect(element(y, b, t, c) == element(x, b, t / factor, c)) } } }
        checkGradients([x]) { $0[0].upsampledNearest(factor: factor) }
    }

    @Test(arguments: [1, 2, 3])
    func bedOfNailsPutsEachValueInTheFirstSlot(_ factor: Int) {
        let y = x.upsampledBedOfNails(factor: factor)
        #expect(y.shape == [2, 5 * factor, 3])
        for b in 0..<2 {
            for t in 0..<(5 * factor) {
                for c in 0..<3 { #expect(element(y, b, t, c) == (t % factor == 0 ? element(x, b, t / factor, c) : 0)) }
            }
        }
        checkGradients([x]) { $0[0].upsampledBedOfNails(factor: factor) }
    }

    /// The pool's values and arg-max positions against a loop over windows; padding (from `lengths`) never wins.
    @Test(arguments: [2, 3])
    func maxPoolKeepsItsArgmax(_ size: Int) {
        let x = separated, lengths = [5, 3]
        let (y, indices) = x.maxPooled1d(size: size, lengths: lengths)
        let cells = (5 + size - 1) / size
        #expect(y.shape == [2, cells, 3] && indices.inputLength == 5)
        for b in 0..<2 {
            for cell in 0..<cells {
                let window = (cell * size)..<Swift.min(5, Swift.min(cell * size + size, Swift.max(lengths[b], cell * size + 1)))
                for c in 0..<3 {
                    let best = window.max { element(x, b, $0, c) < element(x, b, $1, c) } ?? window.lowerBound
                    #expect(indices.positions[(b * cells + cell) * 3 + c] == best)
                    #expect(element(y, b, cell, c) == element(x, b, best, c))
                }
            }
        }
        checkGradients([x]) { $0[0].maxPooled1d(size: size, lengths: lengths).values }
    }

    @Test func maxUnpoolPutsValuesBack() {
        let x = separated
        let (pooled, indices) = x.maxPooled1d(size: 2)
        let y = pooled.maxUnpooled1d(indices)
        #expect(y.shape == x.shape)
        for b in 0..<2 {
            for t in 0..<5 {
                for c in 0..<3 {
                    let won = indices.positions[(b * 3 + t / 2) * 3 + c] == t
                    #expect(element(y, b, t, c) == (won ? element(x, b, t, c) : 0))
                }
            }
        }
        let z = randomTensor([2, 3, 3], seed: 22)
        checkGradients([z]) { $0[0].maxUnpooled1d(indices) }
        checkGradients([x]) { $0[0].maxPooled1d(size: 2).values.maxUnpooled1d(indices) }
    }

    /// y[b, i·s + k·d, o] += Σ꜀ x[b, i, c]·w[k, c, o], then + bias: the definition, looped.
    func referenceTransposed(_ x: Tensor, _ conv: ConvTranspose1d) -> [Float] {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let out = conv.weight.shape[2], tOut = conv.outputLength(t)
        var y = [Float](repeating: 0, count: b * tOut * out)
        for row in 0..<b {
            for p in 0..<tOut { for o in 0..<out { y[(row * tOut + p) * out + o] = conv.bias.scalars[o] } }
            for i in 0..<t {
                for k in 0..<conv.kernelSize {
                    let p = i * conv.stride + k * conv.dilation
                    for o in 0..<out {
                        for ch in 0..<c { y[(row * tOut + p) * out + o] += x.scalars[(row * t + i) * c + ch] * conv.weight.scalars[(k * c + ch) * out + o] }
                    }
                }
            }
        }
        return y
    }

    @Test(arguments: [(2, 2, 1), (4, 2, 1), (3, 1, 1), (3, 3, 2), (1, 2, 1)])
    func transposedConvolutionMatchesTheDefinition(_ shape: (Int, Int, Int)) {
        var generator = SeededGenerator(seed: 23)
        let conv = ConvTranspose1d(3, 4, kernelSize: shape.0, stride: shape.1, dilation: shape.2, generator: &generator)
        let y = conv(x)
        #expect(y.shape == [2, (5 - 1) * shape.1 + (shape.0 - 1) * shape.2 + 1, 4])
        assertClose(y.scalars, referenceTransposed(x, conv), rtol: 1e-5, atol: 1e-5)
        checkGradients([x, conv.weight, conv.bias]) { conv($0[0]) }
    }

    /// A stride-s transposed convolution is zero insertion (bed of nails) followed by an ordinary convolution
    /// with the taps reversed over an input padded by (K − 1) on both sides.
    @Test func transposedConvolutionIsBedOfNailsThenConvolution() {
        var generator = SeededGenerator(seed: 24)
        let up = ConvTranspose1d(3, 2, kernelSize: 3, stride: 2, generator: &generator)
        let conv = Conv1d(3, 2, kernelSize: 3, generator: &generator)
        conv.weight.withMutableScalars { w in
            for k in 0..<3 { for i in 0..<6 { w[k * 6 + i] = up.weight.scalars[(2 - k) * 6 + i] } }
        }
        conv.bias.withMutableScalars { $0 = up.bias.scalars }
        let nails = x.upsampledBedOfNails(factor: 2).slice(axis: 1, 0..<9)  // (T − 1)·s + 1 positions
        let viaConv = conv(nails.padded(axis: 1, before: 2, after: 2))
        assertClose(viaConv.scalars, up(x).scalars, rtol: 1e-5, atol: 1e-5)
    }
}
