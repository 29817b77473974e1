import Glossa
import GlossaNN
import GlossaTensor

/// What an RNN decoder carries between calls: each layer's state, the input-feeding vector (the previous
/// attentional output), and the attention keys computed once from the encoder's states.
public final class RNNDecoderState: DecoderState {
    /// Per layer, `[B, H]` h (and c).
    var layers: [RecurrentState] = []
    /// `[B, H]`, the previous step's attentional vector h̃.
    var feed: Tensor?
    /// `[B, S, A]`, the projected encoder states.
    var keys: Tensor?
    /// `[B, S]`, the additive padding mask of the memory.
    var mask: Tensor?
    public private(set) var length = 0

    /// An empty state; the first `decode` fills it.
    public init() {}

    public func select(rows: [Int]) {
        layers = layers.map { $0.selecting(rows: rows) }
        feed = feed?.indexSelect(axis: 0, rows)
        keys = keys?.indexSelect(axis: 0, rows)
        mask = mask?.indexSelect(axis: 0, rows)
    }

    func advance(by steps: Int) { length += steps }
}

/// The RNN decoder (Luong et al. 2015): embeddings of the previous tokens, fed with the previous attentional
/// vector into a stack of recurrent layers; the top state attends over the encoder's states and is combined
/// with the context into h̃ = tanh(W_c [c; s]), which is projected to the embedding width and scored against the
/// shared embedding table. The first state is tanh(W_b · mean of the encoder states) per layer.
/// Without attention (a language model) h̃ is the top state itself.
public final class RNNDecoder: Decoder {
    let configuration: RNNConfiguration
    let embeddings: Tensor
    let layers: [RecurrentCell]
    /// `[G·H, H]`: input feeding's share of layer 0's input weights, kept apart so the embedding share is one product per call.
    let feedWeight: Tensor?
    let attention: RNNAttention?
    let combine: Linear?
    let bridge: Linear?
    let outputProjection: Linear
    let logitBias: Tensor

    init(configuration c: RNNConfiguration, embeddings: Tensor, attends: Bool, generator: inout SeededGenerator) {
        configuration = c
        self.embeddings = embeddings
        let h = c.hiddenSize
        layers = (0..<c.decoderLayers).map { i in
            RecurrentCell(c.cell, inputSize: i == 0 ? c.embeddingDim : h, hiddenSize: h, generator: &generator)
        }
        let attending = attends && c.attention != .none
        if attending && c.inputFeeding {
            let bound = 1 / Float(h).squareRoot()
            feedWeight = Tensor.uniform([c.cell.gates * h, h], low: -bound, high: bound, using: &generator, requiresGrad: true)
        } else {
            feedWeight = nil
        }
        attention = attending ? RNNAttention(c.attention, query: h, memory: c.encoderOutputSize, hidden: c.effectiveAttentionDim,
                                             generator: &generator) : nil
        combine = attending ? Linear(c.encoderOutputSize + h, h, bias: false, generator: &generator) : nil
        bridge = attends ? Linear(c.encoderOutputSize, c.decoderLayers * h, generator: &generator) : nil
        outputProjection = Linear(h, c.embeddingDim, generator: &generator)
        logitBias = Tensor.zeros([c.vocabSize], requiresGrad: true)
    }

    public var vocabularySize: Int { embeddings.shape[0] }
    /// Unbounded.
    public var maxLength: Int? { nil }

    public var localParameters: [(name: String, tensor: Tensor)] {
        [("logit_bias", logitBias)] + (feedWeight.map { [("input_feeding.weight", $0)] } ?? [])
    }

    public var children: [(name: String, module: any Module)] {
        var result: [(name: String, module: any Module)] = layers.enumerated().map { ("layers.\($0.offset)", $0.element) }
        if let attention { result.append(("attention", attention)) }
        if let combine { result.append(("combine", combine)) }
        if let bridge { result.append(("bridge", bridge)) }
        result.append(("output_proj", outputProjection))
        return result
    }

    public func makeState() -> any DecoderState { RNNDecoderState() }

    public func decode(_ tokens: TokenBatch, memory: EncoderMemory?, state: (any DecoderState)?, context: ForwardContext) throws -> Tensor {
        if bridge != nil && memory == nil { throw GlossaError.invalidInput("the RNN translator's decoder needs the encoder's memory") }
        let given = state.map { $0 as? RNNDecoderState }
        if case .some(nil) = given { throw GlossaError.invalidInput("a decoder state from another model was passed to the RNN decoder") }
        let st = given.flatMap { $0 } ?? RNNDecoderState()
        let (b, t) = (tokens.batchSize, tokens.length)
        if let bad = tokens.ids.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw GlossaError.invalidInput("token id \(bad) is outside this model's vocabulary of \(vocabularySize)")
        }
        if st.length == 0 { start(st, memory: memory, batch: b) }
        guard st.layers.first?.hidden.shape[0] == b else {
            throw GlossaError.invalidInput("the decoder state holds \(st.layers.first?.hidden.shape[0] ?? 0) rows but \(b) were given")
        }
        let p = configuration.dropout
        let width = configuration.cell.gates * configuration.hiddenSize
        let embedded = context.dropout(embeddings.gather(rows: timeMajor(tokens.ids, batch: b, length: t), shape: [t, b]), p)  // [T, B, E]
        let projected = layers[0].project(embedded)  // [T, B, G·H]
        // Only a stateful call with ragged prompts has padding that must leave the state alone.
        let frozen = state != nil && tokens.mask.contains(false)
        var outputs: [Tensor] = []
        outputs.reserveCapacity(t)
        for step in 0..<t {
            var gi = projected.slice(axis: 0, step..<(step + 1)).reshaped([b, width])
            if let feedWeight, let feed = st.feed { gi = gi + feed.matmul(feedWeight, transposeOther: true) }
            var next: [RecurrentState] = []
            next.reserveCapacity(layers.count)
            var input = gi
            for (i, layer) in layers.enumerated() {
                if i > 0 { input = layer.project(context.dropout(next[i - 1].hidden, p)) }
                next.append(layer.step(input, st.layers[i]))
            }
            let top = next[layers.count - 1].hidden  // [B, H]
            var output = top
            if let attention, let combine, let memory, let keys = st.keys, let mask = st.mask {
                let c = attention(query: top, keys: keys, values: memory.states, mask: mask)  // [B, C]
                output = combine(Tensor.concat([c, top], axis: 1)).tanh()  // [B, H]
            }
            if frozen {
                let keep = Tensor(shape: [b, 1], scalars: (0..<b).map { tokens.mask[$0 * t + step] ? 1 : 0 })
                next = zip(next, st.layers).map { $0.keeping(keep, else: $1) }
                if let old = st.feed { output = output.selecting(where: keep, else: old) }
            }
            st.layers = next
            st.feed = output
            outputs.append(output.reshaped([1, b, -1]))
        }
        st.advance(by: t)
        let h = context.dropout(Tensor.concat(outputs, axis: 0).permuted([1, 0, 2]), p)  // [B, T, H]
        return outputProjection(h).matmul(embeddings, transposeOther: true, bias: logitBias)  // [B, T, V]
    }

    /// The first state: every layer from the mean of the encoder's real states (zeros without memory), a zero
    /// input-feeding vector, and the attention keys.
    func start(_ st: RNNDecoderState, memory: EncoderMemory?, batch b: Int) {
        let (kind, h) = (configuration.cell, configuration.hiddenSize)
        st.layers = (0..<layers.count).map { _ in RecurrentState.zeros(kind, batch: b, hidden: h) }
        st.feed = feedWeight == nil ? nil : Tensor.zeros([b, h])
        guard let memory, let bridge else { return }
        let s = memory.states.shape[1]
        let real = memory.mask.scalars.map { $0 > -1 ? Float(1) : 0 }  // the mask is 0 at real positions, −1e9 at padding
        var weights = real
        for row in 0..<b {
            let n = real[(row * s)..<((row + 1) * s)].reduce(0, +)
            for j in 0..<s { weights[row * s + j] /= Swift.max(n, 1) }
        }
        let mean = (memory.states * Tensor(shape: [b, s, 1], scalars: weights)).sum(axis: 1)  // [B, C]
        let initial = bridge(mean).tanh()  // [B, L·H]
        for i in 0..<layers.count {
            st.layers[i].hidden = initial.slice(axis: 1, (i * h)..<((i + 1) * h))
        }
        if let attention {
            st.keys = attention.keys(memory.states)
            st.mask = memory.mask.reshaped([b, s])
        }
    }
}
