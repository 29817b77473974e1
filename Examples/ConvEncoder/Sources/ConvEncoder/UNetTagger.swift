import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// One convolution block of the U-Net: same-padded conv → GELU → (+ input when the shapes agree) → layer norm.
final class UNetBlock: Module {
    let conv: Conv1d
    let norm: LayerNorm

    init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, generator: inout SeededGenerator) {
        conv = Conv1d(inChannels, outChannels, kernelSize: kernelSize, stride: stride, generator: &generator)
        norm = LayerNorm(outChannels)
    }

    var children: [(name: String, module: any Module)] { [("conv", conv), ("norm", norm)] }

    /// `[B, T, Cin]` → `[B, ⌈T/stride⌉, Cout]`, zero padding split (K − 1)/2 left, the rest right.
    func callAsFunction(_ x: Tensor) -> Tensor {
        let t = x.shape[1], stride = conv.stride
        let left = (conv.span - 1) / 2, outputs = (t + stride - 1) / stride
        let right = Swift.max(0, (outputs - 1) * stride + conv.span - t - left)
        var y = conv(x.padded(axis: 1, before: left, after: right)).gelu()  // [B, T', Cout]
        if y.shape == x.shape { y = y + x }
        return norm(y)
    }
}

/// A 1-D U-Net tagger over characters (`UNetConfiguration`): embeddings, the down path, the bottom, the up
/// path with concatenated skips, and a linear head giving one label distribution per character. As an
/// `Encoder` it returns the states before the head, so the SDK's conformance kit checks its masking.
public final class UNetTagger: EncoderModel, Encoder {
    /// The configuration it was built from.
    public let configuration: UNetConfiguration
    let embed: Embedding
    let down: [[UNetBlock]]
    let halvings: [UNetBlock]
    let bottom: [UNetBlock]
    let doublings: [ConvTranspose1d]
    let up: [[UNetBlock]]
    let head: Linear
    let index: [String: Int]

    /// A model with freshly drawn weights (seeded by `configuration.seed`).
    public init(_ configuration: UNetConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        let (c, k, levels) = (configuration.hiddenSize, configuration.kernelSize, configuration.levels)
        var generator = SeededGenerator(seed: configuration.seed)
        embed = Embedding(count: configuration.vocabularySize, dimension: c, std: 1, generator: &generator)
        down = (0..<levels).map { _ in (0..<configuration.blocksPerLevel).map { _ in UNetBlock(c, c, kernelSize: k, generator: &generator) } }
        halvings = configuration.downsampling == .stride
            ? (0..<levels).map { _ in UNetBlock(c, c, kernelSize: k, stride: 2, generator: &generator) } : []
        bottom = (0..<configuration.bottleneckBlocks).map { _ in UNetBlock(c, c, kernelSize: k, generator: &generator) }
        doublings = configuration.upsampling == .transposed
            ? (0..<levels).map { _ in ConvTranspose1d(c, c, kernelSize: configuration.upKernelSize, stride: 2, generator: &generator) } : []
        up = (0..<levels).map { _ in
            (0..<configuration.blocksPerLevel).map { i in UNetBlock(i == 0 ? 2 * c : c, c, kernelSize: k, generator: &generator) }
        }
        head = Linear(c, configuration.labels.count, generator: &generator)
        index = Dictionary(configuration.alphabet.enumerated().map { ($0.element, $0.offset + 2) }, uniquingKeysWith: { a, _ in a })
    }

    public var children: [(name: String, module: any Module)] {
        var all: [(name: String, module: any Module)] = [("embed", embed)]
        for (l, blocks) in down.enumerated() { all += blocks.enumerated().map { ("down.\(l).\($0.offset)", $0.element) } }
        all += halvings.enumerated().map { ("halve.\($0.offset)", $0.element) }
        all += bottom.enumerated().map { ("bottom.\($0.offset)", $0.element) }
        all += doublings.enumerated().map { ("double.\($0.offset)", $0.element) }
        for (l, blocks) in up.enumerated() { all += blocks.enumerated().map { ("up.\(l).\($0.offset)", $0.element) } }
        return all + [("head", head)]
    }

    public var encoder: any Encoder { self }
    public var pluginName: String { "conv-unet-tagger" }
    public var hiddenSize: Int { configuration.hiddenSize }
    public var maxLength: Int? { nil }
    public var vocabularySize: Int? { configuration.vocabularySize }

    public func configurationJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var fields = try JSONSerialization.jsonObject(with: encoder.encode(configuration)) as? [String: Any] ?? [:]
        fields["glossa_plugin"] = pluginName
        return try JSONSerialization.data(withJSONObject: fields, options: [.prettyPrinted, .sortedKeys])
    }

    /// `[B, T]` ids → `[B, T, C]`, the states the head reads. Row b's positions from `lengths[b]` on are zeros at
    /// every level, so a row computes the same alone and in a batch.
    public func encode(_ batch: TokenBatch, context: ForwardContext) throws -> Tensor {
        let (b, t, c) = (batch.batchSize, batch.length, configuration.hiddenSize)
        guard t > 0 else { return Tensor.zeros([b, 0, c]) }
        guard batch.ids.allSatisfy({ $0 >= 0 && $0 < configuration.vocabularySize }) else {
            throw GlossaError.invalidInput("conv-unet-tagger: a character id is outside 0..<\(configuration.vocabularySize)")
        }
        let unit = 1 << configuration.levels
        let padded = (t + unit - 1) / unit * unit  // every level halves exactly
        var lengths = batch.lengths
        var x = embed(batch.ids, shape: batch.shape).padded(axis: 1, before: 0, after: padded - t)  // [B, T₀, C]
        x = x * Self.mask(lengths, length: padded)
        var skips: [(states: Tensor, lengths: [Int])] = [], switches: [MaxPoolIndices] = []
        for level in 0..<configuration.levels {
            for block in down[level] { x = block(x) * Self.mask(lengths, length: x.shape[1]) }
            skips.append((x, lengths))
            let halved = lengths.map { ($0 + 1) / 2 }
            if configuration.downsampling == .maxPool {
                let pooled = x.maxPooled1d(size: 2, lengths: lengths)  // [B, T/2, C]
                x = pooled.values
                switches.append(pooled.indices)
            } else {
                x = halvings[level](x)
            }
            lengths = halved
            x = x * Self.mask(lengths, length: x.shape[1])
        }
        for block in bottom { x = block(x) * Self.mask(lengths, length: x.shape[1]) }
        for level in (0..<configuration.levels).reversed() {
            let skip = skips[level]
            let length = skip.states.shape[1]
            switch configuration.upsampling {
            case .nearest: x = x.upsampledNearest(factor: 2)
            case .bedOfNails: x = x.upsampledBedOfNails(factor: 2)
            case .maxUnpool: x = x.maxUnpooled1d(switches[level])
            case .transposed:
                let crop = (configuration.upKernelSize - 2) / 2  // centre the 2T outputs in (T − 1)·2 + K
                x = doublings[level](x).slice(axis: 1, crop..<(crop + length))
            }
            lengths = skip.lengths
            x = Tensor.concat([x * Self.mask(lengths, length: length), skip.states], axis: 2)  // [B, T, 2C]
            for block in up[level] { x = block(x) * Self.mask(lengths, length: length) }
        }
        return x.slice(axis: 1, 0..<t)  // [B, T, C]
    }

    /// `[B, T, labels]`: the head over the encoded states.
    public func logits(_ batch: TokenBatch) throws -> Tensor {
        let states = try encode(batch, context: ForwardContext())  // [B, T, C]
        return head(states)
    }

    /// The character ids of a line (unknown characters are 1).
    public func ids(_ characters: [Character]) -> [Int] {
        characters.map { index[String($0)] ?? 1 }
    }


    /// `[B, T, 1]`: 1 for the first `lengths[b]` positions of row b, 0 after.
    static func mask(_ lengths: [Int], length: Int) -> Tensor {
        var scalars = [Float](repeating: 0, count: lengths.count * length)
        for (row, n) in lengths.enumerated() {
            for p in 0..<Swift.min(n, length) { scalars[row * length + p] = 1 }
        }
        return Tensor(shape: [lengths.count, length, 1], scalars: scalars)
    }
}
