import Foundation
import Glossa
import GlossaNN
import GlossaTensor

// Layout of Hugging Face MarianMTModel (transformers 4.x/5.x): post-norm blocks, embeddings scaled
// by √d_model, fixed sinusoidal positions, one embedding shared by encoder, decoder and output
// projection, and a `final_logits_bias`.

/// The Marian encoder-decoder: `model.shared` (or `model.encoder.embed_tokens` and
/// `model.decoder.embed_tokens` when the vocabularies are separate), `model.encoder`, `model.decoder`,
/// `lm_head` when untied, and `final_logits_bias`.
public final class MarianModel: EncoderDecoderModel {
    /// The configuration it was built from.
    public let configuration: MarianConfiguration
    /// The source embedding `[V, C]`; with shared embeddings also the target's and the output projection.
    public let shared: Tensor
    /// The target embedding `[V_t, C]`: `shared` itself when the embeddings are shared.
    public let targetEmbedding: Tensor
    /// The output projection `[V_t, C]`: `targetEmbedding` itself when the weights are tied.
    public let outputProjection: Tensor
    /// `[1, V_t]`, added to the logits.
    public let finalLogitsBias: Tensor
    /// Whether updates keep the pad rows at zero: so for fresh models and for checkpoints stored that
    /// way (converted OPUS-MT models); a checkpoint fine-tuned with a non-zero pad row keeps it as it is.
    public private(set) var holdsPadRowsAtZero = true
    let encoderStack: MarianEncoder
    let decoderStack: MarianDecoder

    /// A freshly initialised model (normal(0, init_std) weights, zero pad rows), seeded.
    public init(_ configuration: MarianConfiguration, seed: UInt64 = 0) throws {
        try configuration.validate()
        self.configuration = configuration
        var rng = SeededGenerator(seed: seed)
        let c = configuration
        func table(_ rows: Int) -> Tensor {
            var values = Tensor.normal([rows, c.dModel], std: c.initStd, using: &rng).scalars
            for j in 0..<c.dModel { values[c.padTokenId * c.dModel + j] = 0 }
            return Tensor(shape: [rows, c.dModel], scalars: values, requiresGrad: true)
        }
        shared = table(c.vocabSize)
        targetEmbedding = c.shareEncoderDecoderEmbeddings ? shared : table(c.decoderVocabSize)
        outputProjection = c.tieWordEmbeddings
            ? targetEmbedding
            : Tensor(shape: [c.decoderVocabSize, c.dModel], scalars: Tensor.normal([c.decoderVocabSize, c.dModel], std: c.initStd, using: &rng).scalars,
                     requiresGrad: true)
        finalLogitsBias = Tensor.zeros([1, c.decoderVocabSize])  // a buffer in transformers: never trained
        let positions = SinusoidalPositions.table(count: c.maxPositionEmbeddings, dimension: c.dModel)
        let scale: Float = c.scaleEmbedding ? Float(c.dModel).squareRoot() : 1
        let own = !c.shareEncoderDecoderEmbeddings
        encoderStack = MarianEncoder(configuration: c, embedder: MarianEmbedder(table: shared, positions: positions, scale: scale, dropout: c.dropout),
                                     ownsTable: own, generator: &rng)
        decoderStack = MarianDecoder(configuration: c, embedder: MarianEmbedder(table: targetEmbedding, positions: positions, scale: scale, dropout: c.dropout),
                                     ownsTable: own, output: outputProjection, finalLogitsBias: finalLogitsBias, generator: &rng)
        let tables = [shared, targetEmbedding, outputProjection]
        for p in parameters where !tables.contains(where: { $0 === p }) && p !== finalLogitsBias && p.rank == 2 {
            // transformers' _init_weights: Linear weights N(0, init_std), biases zero.
            p.withMutableScalars { values in
                let fresh = Tensor.normal([values.count], std: c.initStd, using: &rng).scalars
                values = fresh
            }
        }
        for (name, p) in namedParameters() where name.hasSuffix("_proj.bias") || name.hasSuffix("fc1.bias") || name.hasSuffix("fc2.bias") {
            p.withMutableScalars { $0 = [Float](repeating: 0, count: $0.count) }
        }
    }

    /// The encoder.
    public var encoder: any Encoder { encoderStack }
    /// The decoder.
    public var decoder: any Decoder { decoderStack }
    /// EOS, pad, decoder start.
    public var specialIds: SequenceSpecialIds {
        SequenceSpecialIds(eos: configuration.eosTokenId, pad: configuration.padTokenId, decoderStart: configuration.decoderStartTokenId)
    }
    /// "marian".
    public var pluginName: String { "marian" }

    public var localParameters: [(name: String, tensor: Tensor)] {
        configuration.tieWordEmbeddings ? [("final_logits_bias", finalLogitsBias)] : [("final_logits_bias", finalLogitsBias), ("lm_head.weight", outputProjection)]
    }

    public var children: [(name: String, module: any Module)] {
        [("model", MarianTree(shared: configuration.shareEncoderDecoderEmbeddings ? shared : nil, encoder: encoderStack, decoder: decoderStack))]
    }

    public func configurationJSON() throws -> Data { try configuration.huggingFaceJSON() }

    public func extraFiles() throws -> [String: Data] {
        let generation: [String: Any] = [
            "bad_words_ids": [[configuration.padTokenId]], "decoder_start_token_id": configuration.decoderStartTokenId,
            "eos_token_id": configuration.eosTokenId, "forced_eos_token_id": configuration.eosTokenId,
            "pad_token_id": configuration.padTokenId, "max_new_tokens": 128, "num_beams": 4,
        ]
        return ["generation_config.json": try JSONSerialization.data(withJSONObject: generation, options: [.prettyPrinted, .sortedKeys])]
    }

    /// Holds the pad rows at zero when the model started that way: the tied output projection would
    /// otherwise move them, and CTranslate2 starts its decoder from a zero vector in their place.
    public func didUpdateParameters() {
        guard holdsPadRowsAtZero else { return }
        let (pad, width) = (configuration.padTokenId, configuration.dModel)
        for table in [shared, targetEmbedding] {
            table.withMutableScalars { values in for j in 0..<width { values[pad * width + j] = 0 } }
        }
    }

    /// Every `Linear`, and the output projection over the target vocabulary (the largest product of a step).
    public func prepareInference(_ computeType: ComputeType) throws {
        try prepareLinearLayers(for: computeType)
        decoderStack.outputProduct = try computeType.product(weight: outputProjection, bias: nil)
    }

    /// Loads `transformers`-layout weights; the tied names and fixed positions are optional.
    public func loadCheckpoint(_ tensors: [String: Tensor]) throws {
        var state = tensors
        var dropped = ["model.encoder.embed_positions.weight", "model.decoder.embed_positions.weight"]
        if configuration.shareEncoderDecoderEmbeddings {
            if state["model.shared.weight"] == nil {
                state["model.shared.weight"] = state["model.encoder.embed_tokens.weight"] ?? state["lm_head.weight"]
            }
            dropped += ["model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"]
        } else {
            if state["model.encoder.embed_tokens.weight"] == nil { state["model.encoder.embed_tokens.weight"] = state["model.shared.weight"] }
            if state["model.decoder.embed_tokens.weight"] == nil && configuration.tieWordEmbeddings {
                state["model.decoder.embed_tokens.weight"] = state["lm_head.weight"]
            }
            dropped.append("model.shared.weight")
        }
        if configuration.tieWordEmbeddings { dropped.append("lm_head.weight") }
        for name in dropped { state[name] = nil }
        try load(state, strict: true)
        let (pad, width) = (configuration.padTokenId, configuration.dModel)
        holdsPadRowsAtZero = [shared, targetEmbedding].allSatisfy { table in
            table.scalars[(pad * width)..<((pad + 1) * width)].allSatisfy { $0 == 0 }
        }
    }
}

/// The `model.` level of the tree.
final class MarianTree: Module {
    let shared: Tensor?
    let encoder: MarianEncoder
    let decoder: MarianDecoder

    init(shared: Tensor?, encoder: MarianEncoder, decoder: MarianDecoder) {
        self.shared = shared
        self.encoder = encoder
        self.decoder = decoder
    }

    var localParameters: [(name: String, tensor: Tensor)] { shared.map { [("shared.weight", $0)] } ?? [] }
    var children: [(name: String, module: any Module)] { [("encoder", encoder), ("decoder", decoder)] }
}

/// Token embedding × scale + fixed position. The pad row is used as stored, as transformers'
/// `nn.Embedding` does: it is the decoder's start token, and fine-tuned models move it.
struct MarianEmbedder {
    let table: Tensor
    let positions: Tensor
    let scale: Float
    let dropout: Float

    /// `[B, T]` ids starting at absolute position `offset` → `[B, T, C]`; with `rowOffsets`, row b starts at its own.
    func callAsFunction(_ batch: TokenBatch, offset: Int, rowOffsets: [Int]? = nil, context: ForwardContext) throws -> Tensor {
        let limit = positions.shape[0]
        let last = (rowOffsets?.max() ?? offset) + batch.length
        guard last <= limit else {
            throw GlossaError.invalidInput("a sequence of \(last) tokens is longer than this model's limit of \(limit) positions")
        }
        let tokens = table.gather(rows: batch.ids, shape: batch.shape) * scale  // [B, T, C]
        if let rowOffsets, rowOffsets.contains(where: { $0 != offset }) {
            let rows = rowOffsets.flatMap { start in (start..<(start + batch.length)).map { $0 } }
            return context.dropout(tokens + positions.gather(rows: rows, shape: batch.shape), dropout)
        }
        let position = positions.slice(axis: 0, offset..<(offset + batch.length))  // [T, C]
        return context.dropout(tokens + position, dropout)
    }
}

/// The Marian encoder stack.
final class MarianEncoder: Encoder {
    let embedder: MarianEmbedder
    let layers: [TransformerEncoderLayer]
    let hiddenSize: Int
    /// Whether `embed_tokens.weight` is this stack's own (separate vocabularies) rather than `model.shared`.
    let ownsTable: Bool

    init(configuration c: MarianConfiguration, embedder: MarianEmbedder, ownsTable: Bool, generator: inout SeededGenerator) {
        self.embedder = embedder
        self.ownsTable = ownsTable
        hiddenSize = c.dModel
        layers = (0..<c.encoderLayers).map { _ in
            TransformerEncoderLayer(dimension: c.dModel, heads: c.encoderAttentionHeads, feedForward: c.encoderFfnDim,
                                    activation: c.activationFunction, placement: .post, dropout: c.dropout,
                                    attentionDropout: c.attentionDropout, activationDropout: c.activationDropout, generator: &generator)
        }
    }

    var maxLength: Int? { embedder.positions.shape[0] }
    var vocabularySize: Int? { embedder.table.shape[0] }
    var localParameters: [(name: String, tensor: Tensor)] { ownsTable ? [("embed_tokens.weight", embedder.table)] : [] }
    var children: [(name: String, module: any Module)] { layers.enumerated().map { ("layers.\($0.offset)", $0.element) } }

    func encode(_ batch: TokenBatch, context: ForwardContext) throws -> Tensor {
        var h = try embedder(batch, offset: 0, context: context)
        let mask = batch.attentionMask
        for layer in layers { h = layer(h, mask: mask, context: context) }
        return h
    }
}

/// Key/value caches of every decoder layer.
final class MarianDecoderState: DecoderState {
    let selfCaches: [KeyValueCache]
    let crossCaches: [KeyValueCache]

    init(layers: Int) {
        selfCaches = (0..<layers).map { _ in KeyValueCache() }
        crossCaches = (0..<layers).map { _ in KeyValueCache() }
    }

    var length: Int { selfCaches.first?.length ?? 0 }

    func select(rows: [Int]) {
        for cache in selfCaches + crossCaches { cache.select(rows: rows) }
    }

    func select(rows: [Int], memoryRows: [Int]) {
        for cache in selfCaches { cache.select(rows: rows) }
        for cache in crossCaches { cache.select(rows: memoryRows) }
    }

    func append(rowsOf other: any DecoderState) throws {
        guard let other = other as? MarianDecoderState, other.selfCaches.count == selfCaches.count else {
            throw GlossaError.invalidInput("a decoder state from another model was joined to a Marian one")
        }
        for (mine, theirs) in zip(selfCaches + crossCaches, other.selfCaches + other.crossCaches) { mine.append(rowsOf: theirs) }
    }

    /// Cross-attention projects the encoder's states once, at the first step; later steps read only its mask.
    var holdsMemory: Bool { crossCaches.allSatisfy { $0.length > 0 } && !crossCaches.isEmpty }

    /// Each row's next position (rows of a continuous batch joined at different steps).
    var positions: [Int] { selfCaches.first?.rowLengths ?? [] }
}

/// The Marian decoder stack with the tied output projection.
final class MarianDecoder: Decoder {
    let embedder: MarianEmbedder
    let layers: [TransformerDecoderLayer]
    let output: Tensor
    /// The output projection's inference product, when prepared.
    var outputProduct: (any InferenceProduct)?
    let finalLogitsBias: Tensor
    /// Whether `embed_tokens.weight` is this stack's own (separate vocabularies) rather than `model.shared`.
    let ownsTable: Bool

    init(configuration c: MarianConfiguration, embedder: MarianEmbedder, ownsTable: Bool, output: Tensor, finalLogitsBias: Tensor,
         generator: inout SeededGenerator) {
        self.embedder = embedder
        self.ownsTable = ownsTable
        self.output = output
        self.finalLogitsBias = finalLogitsBias
        layers = (0..<c.decoderLayers).map { _ in
            TransformerDecoderLayer(dimension: c.dModel, heads: c.decoderAttentionHeads, feedForward: c.decoderFfnDim,
                                    activation: c.activationFunction, placement: .post, dropout: c.dropout,
                                    attentionDropout: c.attentionDropout, activationDropout: c.activationDropout, generator: &generator)
        }
    }

    var vocabularySize: Int { output.shape[0] }
    var maxLength: Int? { embedder.positions.shape[0] }
    var localParameters: [(name: String, tensor: Tensor)] { ownsTable ? [("embed_tokens.weight", embedder.table)] : [] }
    var children: [(name: String, module: any Module)] { layers.enumerated().map { ("layers.\($0.offset)", $0.element) } }

    func makeState() -> any DecoderState { MarianDecoderState(layers: layers.count) }

    func decode(_ tokens: TokenBatch, memory: EncoderMemory?, state: (any DecoderState)?, context: ForwardContext) throws -> Tensor {
        guard let memory else { throw GlossaError.invalidInput("the Marian decoder needs the encoder's memory") }
        let caches = state as? MarianDecoderState
        if state != nil && caches == nil { throw GlossaError.invalidInput("a decoder state from another model was passed to Marian") }
        let offset = caches?.length ?? 0
        let rowOffsets = caches?.positions
        var h = try embedder(tokens, offset: offset, rowOffsets: rowOffsets?.count == tokens.batchSize ? rowOffsets : nil, context: context)
        // Causal over the new positions, which follow `offset` cached ones; padding in the target
        // is only ever at the end, so causality alone keeps real positions from seeing it.
        let selfMask: Tensor? = tokens.length > 1 ? AttentionMask.causal(queries: tokens.length, keys: offset + tokens.length, offset: offset) : nil
        for (i, layer) in layers.enumerated() {
            h = layer(h, memory: memory.states, selfMask: selfMask, memoryMask: memory.mask,
                      selfCache: caches?.selfCaches[i], crossCache: caches?.crossCaches[i], context: context)
        }
        return context.measure(.outputProjection) {
            let logits = outputProduct.flatMap { GradMode.isEnabled ? nil : $0.matmul(h) } ?? h.matmul(output, transposeOther: true)  // [B, T, V]
            // The bias is a fixed buffer, zero in models trained here: skip a pass over [B, T, V] then.
            return finalLogitsBias.scalars.contains { $0 != 0 } ? logits + finalLogitsBias : logits
        }
    }
}
