import Foundation
import Glossa
import GlossaNN
import GlossaTensor

// Layout of Hugging Face LlamaForCausalLM (transformers 4.x/5.x): pre-norm blocks with RMSNorm,
// rotary positions, SwiGLU feed-forward, no biases, and the output projection tied to the input
// embedding when `tie_word_embeddings` is set (then `lm_head.weight` is not written).

/// A decoder-only language model: `model.embed_tokens`, `model.layers.N`, `model.norm`, and
/// `lm_head` when untied.
public final class CausalLMModel: DecoderOnlyModel {
    /// The configuration it was built from.
    public let configuration: CausalLMConfiguration
    let stack: CausalLMDecoder

    /// A model; with `initialize` its weights are drawn from N(0, initializer_range²) as
    /// transformers' `_init_weights` does, otherwise they are zeros about to be loaded.
    public init(_ configuration: CausalLMConfiguration, seed: UInt64 = 0, initialize: Bool = true) throws {
        try configuration.validate()
        self.configuration = configuration
        stack = CausalLMDecoder(configuration)
        guard initialize else { return }
        var rng = SeededGenerator(seed: seed)
        for (name, p) in namedParameters() where !name.hasSuffix("norm.weight") {
            p.withMutableScalars { values in
                values = Tensor.normal([values.count], std: configuration.initializerRange, using: &rng).scalars
            }
        }
    }

    /// The decoder (embedding, blocks, final norm and output projection).
    public var decoder: any Decoder { stack }
    /// EOS, pad, and BOS as the first token fed.
    public var specialIds: SequenceSpecialIds {
        SequenceSpecialIds(eos: configuration.eosTokenId, pad: configuration.padTokenId, decoderStart: configuration.bosTokenId)
    }
    /// "causal-lm".
    public var pluginName: String { "causal-lm" }

    public var children: [(name: String, module: any Module)] {
        [("model", stack)] + (stack.head.map { [("lm_head", $0 as any Module)] } ?? [])
    }

    public func configurationJSON() throws -> Data { try configuration.huggingFaceJSON() }

    public func extraFiles() throws -> [String: Data] {
        let generation: [String: Any] = [
            "bos_token_id": configuration.bosTokenId, "eos_token_id": configuration.eosTokenId,
            "pad_token_id": configuration.padTokenId, "do_sample": true, "temperature": 0.8, "top_p": 0.95,
        ]
        return ["generation_config.json": try JSONSerialization.data(withJSONObject: generation, options: [.prettyPrinted, .sortedKeys])]
    }

    /// Loads transformers-layout weights; a tied `lm_head.weight` (some writers keep it) is ignored.
    /// Every `Linear`, and the tied output projection over the vocabulary.
    public func prepareInference(_ computeType: ComputeType) throws {
        try prepareLinearLayers(for: computeType)
        if stack.head == nil { stack.outputProduct = try computeType.product(weight: stack.embedTokens, bias: nil) }
    }

    public func loadCheckpoint(_ tensors: [String: Tensor]) throws {
        var state = tensors
        if configuration.tieWordEmbeddings { state["lm_head.weight"] = nil }
        try load(state, strict: true)
    }
}

/// The `model.` level of the tree, and the `Decoder` the search loops drive.
final class CausalLMDecoder: HiddenStateDecoder {
    let configuration: CausalLMConfiguration
    /// `[V, C]`; also the output projection when tied.
    let embedTokens: Tensor
    /// The tied output projection's inference product, when prepared.
    var outputProduct: (any InferenceProduct)?
    /// `[P, C]` learned positions, or nil with rotary ones.
    let positionTable: Tensor?
    let rotary: RotaryEmbedding?
    let layers: [CausalLMBlock]
    let norm: RMSNorm
    /// The untied output projection (`lm_head`, which sits outside `model.` in the tree).
    let head: Linear?

    init(_ c: CausalLMConfiguration) {
        configuration = c
        embedTokens = Tensor.zeros([c.vocabSize, c.hiddenSize], requiresGrad: true)
        switch c.positionEmbeddingType {
        case .rotary:
            positionTable = nil
            rotary = RotaryEmbedding(dimension: c.headDimension, maxPositions: c.maxPositionEmbeddings, base: c.ropeTheta)
        case .learned:
            positionTable = Tensor.zeros([c.maxPositionEmbeddings, c.hiddenSize], requiresGrad: true)
            rotary = nil
        }
        layers = (0..<c.numHiddenLayers).map { _ in CausalLMBlock(c) }
        norm = RMSNorm(c.hiddenSize, eps: c.rmsNormEps)
        head = c.tieWordEmbeddings ? nil : Linear(zeros: c.hiddenSize, c.vocabSize, bias: false)
    }

    var vocabularySize: Int { configuration.vocabSize }
    var maxLength: Int? { configuration.maxPositionEmbeddings }

    var localParameters: [(name: String, tensor: Tensor)] {
        [("embed_tokens.weight", embedTokens)] + (positionTable.map { [("embed_positions.weight", $0)] } ?? [])
    }

    var children: [(name: String, module: any Module)] {
        layers.enumerated().map { ("layers.\($0.offset)", $0.element as any Module) } + [("norm", norm)]
    }

    func makeState() -> any DecoderState { CausalLMState(layers: layers.count) }

    func decode(_ tokens: TokenBatch, memory: EncoderMemory?, state: (any DecoderState)?, context: ForwardContext) throws -> Tensor {
        if memory != nil { throw GlossaError.invalidInput("a decoder-only model reads no encoder memory") }
        let h = try finalStates(tokens, state: state, context: context)
        if let head { return head(h) }  // [B, T, V]
        if let outputProduct, !GradMode.isEnabled { return outputProduct.matmul(h) }
        return h.matmul(embedTokens, transposeOther: true)  // [B, T, V]
    }

    var hiddenSize: Int { configuration.hiddenSize }

    /// The final norm's output, what a reward model's head reads.
    func hiddenStates(_ tokens: TokenBatch, context: ForwardContext) throws -> Tensor {
        try finalStates(tokens, state: nil, context: context)
    }

    /// `[B, T, C]` states after the last block and the final norm.
    func finalStates(_ tokens: TokenBatch, state: (any DecoderState)?, context: ForwardContext) throws -> Tensor {
        let cache = state as? CausalLMState
        if state != nil && cache == nil { throw GlossaError.invalidInput("a decoder state from another model was passed to the causal LM") }
        let (b, t) = (tokens.batchSize, tokens.length)
        if let cache, cache.length > 0, cache.nextPositions.count != b {
            throw GlossaError.invalidInput("the decoder state holds \(cache.nextPositions.count) rows but \(b) were fed")
        }
        let layout = SlotLayout(tokens: tokens, cache: cache)
        if let last = layout.positions.max(), last >= configuration.maxPositionEmbeddings {
            throw GlossaError.invalidInput("a sequence of \(last + 1) tokens is longer than this model's limit of \(configuration.maxPositionEmbeddings) positions")
        }
        var h = embedTokens.gather(rows: tokens.ids, shape: [b, t])  // [B, T, C]
        if let positionTable {
            h = h + positionTable.gather(rows: layout.positions, shape: [b, t])
        }
        let mask = layout.mask(queries: t)
        let positions = layout.positions
        let rotate: ((Tensor) -> Tensor)? = rotary.map { rope in
            let shared = layout.rowsShareOrigin ? Array(positions.prefix(t)) : positions
            return { rope($0, positions: shared) }
        }
        for (i, layer) in layers.enumerated() {
            h = layer(h, mask: mask, cache: cache?.caches[i], rotate: rotate, context: context)
        }
        h = norm(h)
        if let cache { layout.commit(cache) }
        return h
    }
}
