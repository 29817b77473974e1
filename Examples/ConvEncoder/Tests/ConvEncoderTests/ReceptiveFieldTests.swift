import ConvEncoder
import Glossa
import GlossaNN
import GlossaTensor
import GlossaTestSupport
import Testing

/// The receptive-field formula against two brute-force counts: index sets pushed through the layer geometry,
/// and the positions whose embeddings get a gradient from one output of the real network.
@Suite struct ReceptiveFieldTests {
    /// The input positions behind each final output of a valid network, found by pushing the set of inputs
    /// behind every position through each conv (and its residual, which adds the centre input when the stride
    /// is 1) and pool.
    func bruteForceSources(_ blocks: [ConvBlockConfiguration], residual: Bool, inputLength: Int = 400) -> [Set<Int>] {
        var sources: [Set<Int>] = (0..<inputLength).map { [$0] }
        for block in blocks {
            let span = (block.kernelSize - 1) * block.dilation + 1
            var next: [Set<Int>] = []
            var i = 0
            while i * block.stride + span <= sources.count {
                var set = (0..<block.kernelSize).reduce(into: Set<Int>()) { $0.formUnion(sources[i * block.stride + $1 * block.dilation]) }
                if residual && block.stride == 1 { set.formUnion(sources[i + (span - 1) / 2]) }
                next.append(set)
                i += 1
            }
            sources = next
            if block.pooling != .none {
                sources = (0..<(sources.count / block.poolSize)).map { cell in
                    (0..<block.poolSize).reduce(into: Set<Int>()) { $0.formUnion(sources[cell * block.poolSize + $1]) }
                }
            }
        }
        return sources
    }

    /// The span (last − first + 1) of the inputs behind each output, at its widest.
    func bruteForceSpan(_ blocks: [ConvBlockConfiguration]) -> Int {
        bruteForceSources(blocks, residual: false).map { ($0.max() ?? 0) - ($0.min() ?? 0) + 1 }.max() ?? 0
    }

    static let stacks: [[ConvBlockConfiguration]] = [
        [ConvBlockConfiguration(kernelSize: 3)],
        [ConvBlockConfiguration(kernelSize: 3), ConvBlockConfiguration(kernelSize: 3)],
        [ConvBlockConfiguration(kernelSize: 5, stride: 2), ConvBlockConfiguration(kernelSize: 3, stride: 3)],
        [ConvBlockConfiguration(kernelSize: 2, dilation: 3), ConvBlockConfiguration(kernelSize: 3, dilation: 2)],
        [ConvBlockConfiguration(kernelSize: 3, stride: 2, dilation: 2, pooling: .max, poolSize: 2),
         ConvBlockConfiguration(kernelSize: 4, dilation: 3, pooling: .avg, poolSize: 3),
         ConvBlockConfiguration(kernelSize: 1, stride: 2)],
        [ConvBlockConfiguration(kernelSize: 7, pooling: .max, poolSize: 4), ConvBlockConfiguration(kernelSize: 3, dilation: 4)],
    ]

    @Test(arguments: stacks)
    func formulaMatchesTheBruteForceCount(_ blocks: [ConvBlockConfiguration]) {
        let configuration = ConvConfiguration(vocabSize: 10, hiddenSize: 4, blocks: blocks, padding: .valid)
        #expect(configuration.receptiveField == bruteForceSpan(blocks), "\(blocks)")
        #expect(configuration.receptiveFields.first == 1)
    }

    @Test func theIssuesRecurrenceByHand() {
        // K = 3 and strides 2, 2: RF = 1 + 2·1 + 2·2 + 2·4 = 15.
        let blocks = [ConvBlockConfiguration(kernelSize: 3, stride: 2), ConvBlockConfiguration(kernelSize: 3, stride: 2),
                      ConvBlockConfiguration(kernelSize: 3)]
        #expect(ConvConfiguration(vocabSize: 2, hiddenSize: 2, blocks: blocks).receptiveFields == [1, 3, 7, 15])
        // Dilation d stretches a kernel to (K − 1)·d + 1 taps' worth.
        #expect(ConvConfiguration(vocabSize: 2, hiddenSize: 2, blocks: [ConvBlockConfiguration(kernelSize: 3, dilation: 4)]).receptiveField == 9)
    }

    /// The positions whose embedding rows get a gradient from the first output of a real valid network with
    /// average pools: exactly the brute-force set (dilation leaves holes in it), spanning the first RF positions.
    @Test(arguments: [0, 2, 3, 4])
    func gradientReachesExactlyTheReceptiveField(_ which: Int) throws {
        let blocks = Self.stacks[which].map { block -> ConvBlockConfiguration in
            var block = block
            if block.pooling == .max { block.pooling = .avg }
            return block
        }
        let length = 64
        let configuration = ConvConfiguration(vocabSize: length, hiddenSize: 6, blocks: blocks, padding: .valid, seed: 5)
        let model = try ConvEncoderModel(configuration)
        let states = try model.encode(TokenBatch([Array(0..<length)], padId: 0), context: ForwardContext())  // [1, T, C]
        let first = states.slice(axis: 1, 0..<1).reshaped([1, 6])
        (first * randomTensor([1, 6], seed: 9)).sum().backward()
        let grad = try #require(model.namedParameters().first { $0.name == "embed.weight" }?.tensor.grad).scalars
        let reached = (0..<length).filter { row in (0..<6).contains { grad[row * 6 + $0] != 0 } }
        #expect(reached == bruteForceSources(blocks, residual: true)[0].sorted(), "\(blocks)")
        #expect(reached.first == 0 && reached.last == configuration.receptiveField - 1, "\(blocks)")
    }
}
