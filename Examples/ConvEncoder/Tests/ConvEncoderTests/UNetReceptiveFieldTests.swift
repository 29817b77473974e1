import ConvEncoder
import Glossa
import GlossaNN
import GlossaTensor
import GlossaTestSupport
import Testing

/// The U-Net's receptive field (the deepest path through `ConvGeometry`) against a brute-force count over
/// every path, skips included, and against the positions a real network's gradient reaches.
@Suite struct UNetReceptiveFieldTests {
    typealias Sources = [Set<Int>]

    /// A same-padded convolution as `UNetBlock` computes it: output i reads inputs i·s − left + k.
    func convolve(_ x: Sources, kernelSize k: Int, stride s: Int = 1) -> Sources {
        let left = (k - 1) / 2
        return (0..<((x.count + s - 1) / s)).map { i in
            (0..<k).reduce(into: Set<Int>()) { set, tap in
                let p = i * s - left + tap
                if p >= 0 && p < x.count { set.formUnion(x[p]) }
            }
        }
    }

    /// The inputs behind each output of the network, pushed through the same geometry as `UNetTagger.encode`.
    func bruteForceSources(_ c: UNetConfiguration, length: Int) -> Sources {
        var x: Sources = (0..<length).map { [$0] }
        var skips: [Sources] = []
        for _ in 0..<c.levels {
            for _ in 0..<c.blocksPerLevel { x = convolve(x, kernelSize: c.kernelSize) }
            skips.append(x)
            x = c.downsampling == .maxPool ? (0..<(x.count / 2)).map { x[2 * $0].union(x[2 * $0 + 1]) } : convolve(x, kernelSize: c.kernelSize, stride: 2)
        }
        for _ in 0..<c.bottleneckBlocks { x = convolve(x, kernelSize: c.kernelSize) }
        for level in (0..<c.levels).reversed() {
            let n = skips[level].count
            switch c.upsampling {
            case .nearest, .maxUnpool:  // any slot of a pool window may hold the value
                x = (0..<n).map { x[$0 / 2] }
            case .bedOfNails:
                x = (0..<n).map { $0 % 2 == 0 ? x[$0 / 2] : [] }
            case .transposed:
                let crop = (c.upKernelSize - 2) / 2, coarse = x
                x = (0..<n).map { p in
                    coarse.indices.reduce(into: Set<Int>()) { set, i in
                        let tap = p + crop - 2 * i
                        if tap >= 0 && tap < c.upKernelSize { set.formUnion(coarse[i]) }
                    }
                }
            }
            x = zip(x, skips[level]).map { $0.union($1) }
            for _ in 0..<c.blocksPerLevel { x = convolve(x, kernelSize: c.kernelSize) }
        }
        return x
    }

    func span(_ set: Set<Int>) -> Int { (set.max() ?? 0) - (set.min() ?? 0) + 1 }

    static let configurations: [UNetConfiguration] = {
        var all: [UNetConfiguration] = []
        for up in UNetUpsampling.allCases {
            for (levels, k, blocks) in [(1, 3, 1), (2, 5, 1), (3, 3, 2)] {
                all.append(UNetConfiguration(alphabet: [], labels: CharacterTagging.labels, hiddenSize: 4, kernelSize: k, levels: levels,
                                             blocksPerLevel: blocks, bottleneckBlocks: 1, upsampling: up))
            }
            for upKernel in [3, 4] where up == .transposed {
                all.append(UNetConfiguration(alphabet: [], labels: CharacterTagging.labels, hiddenSize: 4, kernelSize: 3, levels: 2,
                                             downsampling: .stride, upsampling: .transposed, upKernelSize: upKernel))
            }
        }
        all.append(UNetConfiguration(alphabet: [], labels: CharacterTagging.labels, hiddenSize: 4, kernelSize: 3, levels: 2,
                                     downsampling: .stride, upsampling: .nearest))
        all.append(UNetConfiguration(alphabet: [], labels: CharacterTagging.labels, hiddenSize: 4, kernelSize: 5, levels: 0, bottleneckBlocks: 7))
        return all
    }()

    @Test(arguments: configurations)
    func formulaMatchesTheBruteForceCount(_ configuration: UNetConfiguration) {
        let sources = bruteForceSources(configuration, length: 256)
        #expect(sources.map(span).max() == configuration.receptiveField, "\(configuration.geometry)")
    }

    @Test func byHand() {
        // K = 5, two levels of max pooling, nearest up: 1 + 4 + 1·1 + 4·2 + 1·2 + 4·4 + 4·2 + 4·1 = 44.
        let unet = UNetConfiguration(alphabet: [], labels: CharacterTagging.labels, hiddenSize: 4, kernelSize: 5, levels: 2)
        #expect(unet.receptiveFields == [1, 5, 6, 14, 16, 32, 32, 40, 40, 44])
        // Seven K = 5 blocks and no down/up path: 1 + 7·4.
        #expect(UNetConfiguration(alphabet: [], labels: CharacterTagging.labels, hiddenSize: 4, kernelSize: 5, levels: 0, bottleneckBlocks: 7).receptiveField == 29)
    }

    /// The embedding rows (one id per position) that get a gradient from one output of a real network: with
    /// stride-2 down and a linear up path they are exactly the brute-force set; through max pooling, whose
    /// gradient goes to the arg-max only, a subset of it.
    @Test(arguments: [(UNetDownsampling.stride, UNetUpsampling.nearest), (.stride, .bedOfNails), (.stride, .transposed),
                      (.maxPool, .maxUnpool), (.maxPool, .nearest)])
    func gradientReachesTheReceptiveField(_ paths: (UNetDownsampling, UNetUpsampling)) throws {
        let length = 48
        let alphabet = (0..<length).map { "c\($0)" }
        let configuration = UNetConfiguration(alphabet: alphabet, labels: CharacterTagging.labels, hiddenSize: 6, kernelSize: 3, levels: 2,
                                              downsampling: paths.0, upsampling: paths.1, upKernelSize: 3, seed: 7)
        let model = try UNetTagger(configuration)
        let expected = bruteForceSources(configuration, length: length)
        for position in [20, 23] {
            model.zeroGrad()
            let logits = try model.logits(TokenBatch([(0..<length).map { $0 + 2 }], padId: 0))  // [1, T, L]
            let one = logits.slice(axis: 1, position..<(position + 1)).reshaped([1, CharacterTagging.labels.count])
            (one * randomTensor([1, CharacterTagging.labels.count], seed: 9)).sum().backward()
            let grad = try #require(model.namedParameters().first { $0.name == "embed.weight" }?.tensor.grad).scalars
            let reached = Set((0..<length).filter { row in (0..<6).contains { grad[(row + 2) * 6 + $0] != 0 } })
            if paths.0 == .maxPool {
                #expect(reached.isSubset(of: expected[position]) && reached.contains(position), "\(paths) at \(position)")
            } else {
                #expect(reached == expected[position], "\(paths) at \(position)")
            }
            #expect(span(reached) <= configuration.receptiveField)
        }
    }
}
