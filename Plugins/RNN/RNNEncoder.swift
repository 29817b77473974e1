import Glossa
import GlossaNN
import GlossaTensor

/// One encoder layer: a forward cell and, when bidirectional, a backward one (`layers.N.forward`, `layers.N.backward`).
final class BidirectionalLayer: Module {
    let forward: RecurrentCell
    let backward: RecurrentCell?

    init(_ kind: CellKind, inputSize: Int, hiddenSize: Int, bidirectional: Bool, generator: inout SeededGenerator) {
        forward = RecurrentCell(kind, inputSize: inputSize, hiddenSize: hiddenSize, generator: &generator)
        backward = bidirectional ? RecurrentCell(kind, inputSize: inputSize, hiddenSize: hiddenSize, generator: &generator) : nil
    }

    var children: [(name: String, module: any Module)] {
        [("forward", forward as any Module)] + (backward.map { [("backward", $0 as any Module)] } ?? [])
    }

    /// Time-major `[T, B, E]` → `[T, B, H or 2H]`, both directions side by side.
    func callAsFunction(_ x: Tensor, mask: [Bool]) -> Tensor {
        let b = x.shape[1]
        let kind = forward.kind, h = forward.hiddenSize
        let ahead = forward.run(x, initial: .zeros(kind, batch: b, hidden: h), reverse: false)
        guard let backward else { return ahead }
        let behind = backward.run(x, initial: .zeros(kind, batch: b, hidden: h), reverse: true, mask: mask)
        return Tensor.concat([ahead, behind], axis: 2)
    }
}

/// The RNN encoder: shared embeddings, then a stack of (bi)directional recurrent layers with dropout between
/// them. A real position's state never depends on padding: padding sits at the end of each row, the forward
/// pass reaches it only after the real tokens, and the backward pass holds its state at zero through it.
public final class RNNEncoder: Encoder {
    let embeddings: Tensor
    let layers: [BidirectionalLayer]
    let dropout: Float
    public let hiddenSize: Int

    init(configuration c: RNNConfiguration, embeddings: Tensor, generator: inout SeededGenerator) {
        self.embeddings = embeddings
        dropout = c.dropout
        hiddenSize = c.encoderOutputSize
        var inputSize = c.embeddingDim
        var layers: [BidirectionalLayer] = []
        for _ in 0..<c.encoderLayers {
            layers.append(BidirectionalLayer(c.cell, inputSize: inputSize, hiddenSize: c.encoderStateSize, bidirectional: c.bidirectional,
                                             generator: &generator))
            inputSize = c.encoderOutputSize
        }
        self.layers = layers
    }

    /// Unbounded: a recurrent encoder has no position table.
    public var maxLength: Int? { nil }

    public var children: [(name: String, module: any Module)] {
        layers.enumerated().map { ("layers.\($0.offset)", $0.element) }
    }

    public func encode(_ batch: TokenBatch, context: ForwardContext) throws -> Tensor {
        let (b, t) = (batch.batchSize, batch.length)
        guard t > 0 else { return Tensor.zeros([b, 0, hiddenSize]) }
        let vocabulary = embeddings.shape[0]
        if let bad = batch.ids.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw GlossaError.invalidInput("token id \(bad) is outside this model's vocabulary of \(vocabulary)")
        }
        var h = context.dropout(embeddings.gather(rows: timeMajor(batch.ids, batch: b, length: t), shape: [t, b]), dropout)  // [T, B, E]
        for (i, layer) in layers.enumerated() {
            if i > 0 { h = context.dropout(h, dropout) }
            h = layer(h, mask: batch.mask)  // [T, B, C]
        }
        return h.permuted([1, 0, 2])  // [B, T, C]
    }
}

/// Row-major `[B, T]` values reordered to `[T, B]`.
func timeMajor<Element>(_ values: [Element], batch: Int, length: Int) -> [Element] {
    (0..<(batch * length)).map { i in values[(i % batch) * length + i / batch] }
}
