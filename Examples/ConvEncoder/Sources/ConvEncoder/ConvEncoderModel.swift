import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// A 1-D convolutional sentence encoder: token embeddings, then blocks of conv → GELU → (+ input) → layer
/// norm → optional max/avg pool. The downsampled states are spread back over the positions they stand for, so
/// the output is `[B, T, C]` as every `Encoder` promises, and each real position is independent of padding.
public final class ConvEncoderModel: EncoderModel, Encoder, PoolingEncoderModel {
    /// The configuration it was built from.
    public let configuration: ConvConfiguration
    let embed: Embedding
    let convolutions: [Conv1d]
    let norms: [LayerNorm]
    let attention: AttentionPooler?

    /// A model with freshly drawn weights (seeded by `configuration.seed`).
    public init(_ configuration: ConvConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration.hiddenSize
        var generator = SeededGenerator(seed: configuration.seed)
        embed = Embedding(count: configuration.vocabSize, dimension: c, std: 1, generator: &generator)
        convolutions = configuration.blocks.map {
            Conv1d(c, c, kernelSize: $0.kernelSize, stride: $0.stride, dilation: $0.dilation, generator: &generator)
        }
        norms = configuration.blocks.map { _ in LayerNorm(c) }
        attention = configuration.attentionPooling ? AttentionPooler(width: c, generator: &generator) : nil
    }

    public var children: [(name: String, module: any Module)] {
        [("embed", embed)] + convolutions.enumerated().map { ("blocks.\($0.offset).conv", $0.element as any Module) }
            + norms.enumerated().map { ("blocks.\($0.offset).norm", $0.element as any Module) }
            + (attention.map { [("pooler", $0 as any Module)] } ?? [])
    }

    public var encoder: any Encoder { self }
    public var sentencePooler: (any Pooler)? { attention }
    public var pluginName: String { "conv-encoder" }
    public var hiddenSize: Int { configuration.hiddenSize }
    public var maxLength: Int? { nil }

    public func configurationJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var fields = try JSONSerialization.jsonObject(with: encoder.encode(configuration)) as? [String: Any] ?? [:]
        fields["glossa_plugin"] = pluginName
        return try JSONSerialization.data(withJSONObject: fields, options: [.prettyPrinted, .sortedKeys])
    }

    /// `[B, T]` ids → `[B, T, C]`.
    public func encode(_ batch: TokenBatch, context: ForwardContext) throws -> Tensor {
        let b = batch.batchSize, c = configuration.hiddenSize
        guard batch.length > 0 else { return Tensor.zeros([b, 0, c]) }
        guard batch.ids.allSatisfy({ $0 >= 0 && $0 < configuration.vocabSize }) else {
            throw GlossaError.invalidInput("conv-encoder: a token id is outside 0..<\(configuration.vocabSize)")
        }
        let same = configuration.padding == .same
        // A valid network needs at least one receptive field of input: shorter sequences get zeros, as alone.
        var lengths = batch.lengths.map { same ? $0 : Swift.max($0, configuration.receptiveField) }
        var x = embed(batch.ids, shape: batch.shape)  // [B, T, C]
        if !same && batch.length < configuration.receptiveField {
            x = x.padded(axis: 1, before: 0, after: configuration.receptiveField - batch.length)
        }
        x = x * Self.mask(batch.lengths, length: x.shape[1])  // pad tokens read as zeros
        for (i, block) in configuration.blocks.enumerated() {
            let conv = convolutions[i]
            let t = x.shape[1]
            var input = x
            if same {
                // A fixed left pad, whatever the length, keeps every output aligned alone and in a batch.
                let left = (conv.span - 1) / 2
                let outputs = (t + block.stride - 1) / block.stride
                let right = Swift.max(0, (outputs - 1) * block.stride + conv.span - t - left)
                input = x.padded(axis: 1, before: left, after: right)
            }
            var y = conv(input).gelu()  // [B, T', C]
            lengths = lengths.map { same ? ($0 + block.stride - 1) / block.stride : conv.outputLength($0) }
            if configuration.residual && block.stride == 1 {
                let offset = same ? 0 : (conv.span - 1) / 2
                y = y + x.slice(axis: 1, offset..<(offset + y.shape[1]))
            }
            x = norms[i](y)
            if block.pooling != .none {
                (x, lengths) = pool(x, lengths: lengths, kind: block.pooling, size: block.poolSize, ceil: same)
            }
            if same { x = x * Self.mask(lengths, length: x.shape[1]) }
        }
        return spread(x, finalLengths: lengths, batch: batch)  // [B, T, C]
    }

    /// Pools windows of `size` positions (stride `size`). Padding never wins a max and never counts in a mean.
    func pool(_ x: Tensor, lengths: [Int], kind: ConvPooling, size: Int, ceil: Bool) -> (Tensor, [Int]) {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let cells = ceil ? (t + size - 1) / size : t / size
        let newLengths = lengths.map { ceil ? ($0 + size - 1) / size : $0 / size }
        var input = x
        if cells * size > t { input = input.padded(axis: 1, before: 0, after: cells * size - t) }
        if cells * size < t { input = input.slice(axis: 1, 0..<(cells * size)) }
        let mask = Self.mask(lengths, length: cells * size)  // [B, T, 1]
        let windows: Tensor
        if kind == .max {
            let hidden = (mask - 1) * 1e9  // 0 at real positions, −1e9 at padding
            windows = (input * mask + hidden).reshaped([b, cells, size, c]).max(axis: 2)  // [B, T/p, C]
        } else {
            var counts = [Float](repeating: 1, count: b * cells)
            for row in 0..<b {
                for cell in 0..<cells { counts[row * cells + cell] = Float(Swift.max(1, Swift.min(size, lengths[row] - cell * size))) }
            }
            let sums = (input * mask).reshaped([b, cells, size, c]).sum(axis: 2)  // [B, T/p, C]
            windows = sums / Tensor(shape: [b, cells, 1], scalars: counts)
        }
        return (windows, newLengths)
    }

    /// Gives each input position the state of the final cell that stands for it.
    func spread(_ x: Tensor, finalLengths: [Int], batch: TokenBatch) -> Tensor {
        let (b, cells, c) = (x.shape[0], x.shape[1], x.shape[2])
        let t = batch.length, stride = configuration.totalStride
        var rows = [Int]()
        rows.reserveCapacity(b * t)
        for row in 0..<b {
            let last = Swift.max(0, Swift.min(finalLengths[row], cells) - 1)
            for position in 0..<t {
                rows.append(row * cells + (position < batch.lengths[row] ? Swift.min(position / stride, last) : 0))
            }
        }
        return x.reshaped([b * cells, c]).indexSelect(axis: 0, rows).reshaped([b, t, c])
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
