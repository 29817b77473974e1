import ConvEncoder
import Foundation
import Glossa
import GlossaNN
import GlossaTensor
import GlossaTestSupport
import Testing

/// The convolution against a plain loop, the encoder and pooler against the SDK's conformance kit, and a
/// contrastive training run whose loss must fall.
@Suite struct ConvEncoderTests {
    /// y[b, i, o] = bias[o] + Σₖ Σ꜀ x[b, i·s + k·d, c] · w[k, c, o], the definition.
    func referenceConv(_ x: Tensor, _ conv: Conv1d) -> [Float] {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let out = conv.weight.shape[2], tOut = conv.outputLength(t)
        var y = [Float](repeating: 0, count: b * tOut * out)
        for row in 0..<b {
            for i in 0..<tOut {
                for o in 0..<out {
                    var sum = conv.bias.scalars[o]
                    for k in 0..<conv.kernelSize {
                        for ch in 0..<c {
                            sum += x.scalars[(row * t + i * conv.stride + k * conv.dilation) * c + ch] * conv.weight.scalars[(k * c + ch) * out + o]
                        }
                    }
                    y[(row * tOut + i) * out + o] = sum
                }
            }
        }
        return y
    }

    @Test(arguments: [(3, 1, 1), (3, 2, 1), (2, 1, 3), (4, 3, 2)])
    func convolutionMatchesTheDefinition(_ shape: (Int, Int, Int)) {
        var generator = SeededGenerator(seed: 2)
        let conv = Conv1d(3, 4, kernelSize: shape.0, stride: shape.1, dilation: shape.2, generator: &generator)
        let x = randomTensor([2, 11, 3], seed: 4)
        assertClose(conv(x).scalars, referenceConv(x, conv), rtol: 1e-5, atol: 1e-5)
        checkGradients([x, conv.weight, conv.bias]) { conv($0[0]) }
    }

    static let configurations: [ConvConfiguration] = [
        ConvConfiguration(vocabSize: 20, hiddenSize: 8, blocks: [
            ConvBlockConfiguration(kernelSize: 3), ConvBlockConfiguration(kernelSize: 3, dilation: 2, pooling: .max, poolSize: 2),
            ConvBlockConfiguration(kernelSize: 3, stride: 2, pooling: .avg, poolSize: 2)], padding: .same, seed: 1),
        ConvConfiguration(vocabSize: 20, hiddenSize: 8, blocks: [
            ConvBlockConfiguration(kernelSize: 3, pooling: .avg, poolSize: 2), ConvBlockConfiguration(kernelSize: 2, stride: 2, dilation: 2)],
            padding: .valid, seed: 2),
    ]

    @Test(arguments: configurations)
    func encoderConformance(_ configuration: ConvConfiguration) throws {
        let model = try ConvEncoderModel(configuration)
        try checkEncoderConformance(model, ids: [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11, 12], [13], [14, 15, 16, 17, 18]], padId: 0, tolerance: 1e-4)
        // Through the encoder and its attention pooler, so the learned query is asked too; long enough for several
        // final cells (with one, every position holds the same state and the query cannot matter).
        let batch = TokenBatch([(0..<40).map { 1 + $0 % 19 }, (0..<25).map { 19 - $0 % 19 }], padId: 0)
        let pooler = try #require(model.sentencePooler)
        try checkGradientFlow(model) { pooler.pool(try model.encode(batch, context: ForwardContext()), batch: batch) }
        try checkSaveLoadRoundTrip(model, plugin: convEncoderPlugins[0], ids: [[3, 4, 5, 6, 7, 8]], padId: 0)
    }

    @Test func attentionPoolerConformance() {
        var generator = SeededGenerator(seed: 3)
        checkPoolerConformance(AttentionPooler(width: 6, generator: &generator))
        checkPoolerConformance(AttentionPooler(query: [Float](repeating: 0, count: 6)))
    }

    @Test func attentionPoolerGradientsMatchFiniteDifferences() {
        let pooler = AttentionPooler(query: [0.3, -0.2, 0.5])
        let batch = TokenBatch([[1, 1, 1, 1], [1, 1]], padId: 0)
        checkGradients([randomTensor([2, 4, 3], seed: 12), pooler.query]) { pooler.pool($0[0], batch: batch) }
    }

    @Test func zeroQueryIsMeanPooling() {
        let states = randomTensor([2, 4, 3], seed: 8)
        let batch = TokenBatch([[1, 1, 1, 1], [1, 1]], padId: 0)
        assertClose(AttentionPooler(query: [0, 0, 0]).pool(states, batch: batch).scalars, MeanPooler().pool(states, batch: batch).scalars,
                    rtol: 1e-5, atol: 1e-6)
    }

    @Test func badConfigurationsThrowASentence() {
        #expect(throws: GlossaError.self) { try ConvEncoderModel(ConvConfiguration(vocabSize: 5, hiddenSize: 4, blocks: [])) }
        #expect(throws: GlossaError.self) {
            try ConvEncoderModel(ConvConfiguration(vocabSize: 5, hiddenSize: 4, blocks: [ConvBlockConfiguration(kernelSize: 0)]))
        }
        #expect(throws: GlossaError.self) {
            try ConvEncoderModel(ConvConfiguration(vocabSize: 5, hiddenSize: 4, blocks: [ConvBlockConfiguration(kernelSize: 3)]))
                .encode(TokenBatch([[9]], padId: 0), context: ForwardContext())
        }
    }

    /// A 2-block, 32-wide encoder with attention pooling learns to match sentences with their reversals.
    @Test func contrastiveLossFalls() throws {
        let configuration = ConvConfiguration(vocabSize: 30, hiddenSize: 32, blocks: [
            ConvBlockConfiguration(kernelSize: 3), ConvBlockConfiguration(kernelSize: 3, dilation: 2, pooling: .max, poolSize: 2)], seed: 4)
        let model = try ConvEncoderModel(configuration)
        let pooler = try #require(model.sentencePooler)
        var generator = SeededGenerator(seed: 6)
        let sentences = (0..<8).map { _ in (0..<Int.random(in: 4...9, using: &generator)).map { _ in Int.random(in: 1..<30, using: &generator) } }
        var optimizer = Adam()
        var losses: [Float] = []
        for _ in 0..<40 {
            let anchors = TokenBatch(sentences, padId: 0), positives = TokenBatch(sentences.map { $0.reversed() }, padId: 0)
            let a = pooler.pool(try model.encode(anchors, context: ForwardContext()), batch: anchors)
            let p = pooler.pool(try model.encode(positives, context: ForwardContext()), batch: positives)
            let loss = inBatchNegativesLoss(anchors: l2Normalized(a), positives: l2Normalized(p))
            model.zeroGrad()
            loss.backward()
            optimizer.step(model.namedParameters(), learningRate: 3e-3)
            losses.append(loss.item)
        }
        let first: Float = losses.prefix(5).reduce(0, +), last: Float = losses.suffix(5).reduce(0, +)
        #expect(last < 0.5 * first, "\(losses)")
        #expect(model.namedParameters().contains { $0.name == "pooler.query" })
    }
}
