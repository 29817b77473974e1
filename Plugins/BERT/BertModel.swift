import Foundation
import Glossa
import GlossaNN
import GlossaTensor

// Layout of Hugging Face BertModel (transformers 4.x/5.x): learned word, position and token-type embeddings
// summed and layer-normed, post-norm blocks (`attention.self.{query,key,value}`, `attention.output`,
// `intermediate`, `output`), erf GELU, and an optional tanh `pooler.dense` over the first token.

/// A BERT encoder: `embeddings`, `encoder.layer.N`, and, when the checkpoint has one, `pooler`.
public final class BertModel: EncoderModel, Encoder {
    /// The configuration it was built from.
    public let configuration: BertConfiguration
    let embeddings: BertEmbeddings
    let layers: [BertLayer]
    /// The tanh projection of the first token (`pooler.dense`); `nil` when the checkpoint has none.
    public private(set) var pooler: Linear?

    /// A freshly initialised model (normal(0, initializer_range) weights, zero biases, unit norms), seeded.
    /// With `initialize` false the embedding tables start at zero and nothing is redrawn: for a model whose
    /// weights are about to be loaded, where drawing tens of millions of normal numbers would only cost time.
    public init(_ configuration: BertConfiguration, seed: UInt64 = 0, withPooler: Bool = true, initialize: Bool = true) throws {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        var rng = SeededGenerator(seed: seed)
        embeddings = BertEmbeddings(configuration: c, initialize: initialize, generator: &rng)
        layers = (0..<c.numHiddenLayers).map { _ in BertLayer(configuration: c, initialize: initialize, generator: &rng) }
        pooler = withPooler ? (initialize ? Linear(c.hiddenSize, c.hiddenSize, generator: &rng) : Linear(zeros: c.hiddenSize, c.hiddenSize)) : nil
        guard initialize else { return }
        // transformers' _init_weights: matrices N(0, initializer_range), biases zero, norms (1, 0).
        for (name, p) in namedParameters() {
            if name.hasSuffix("LayerNorm.weight") || name.hasSuffix("LayerNorm.bias") { continue }
            if name.hasSuffix(".bias") {
                p.withMutableScalars { $0 = [Float](repeating: 0, count: $0.count) }
            } else {
                let fresh = Tensor.normal([p.count], std: c.initializerRange, using: &rng).scalars
                p.withMutableScalars { $0 = fresh }
            }
        }
    }

    /// Itself: a BERT model is its own encoder.
    public var encoder: any Encoder { self }
    /// "bert".
    public var pluginName: String { "bert" }
    /// The width of the hidden states.
    public var hiddenSize: Int { configuration.hiddenSize }
    /// The size of the position table.
    public var maxLength: Int? { configuration.maxPositionEmbeddings }
    /// The rows of the word-embedding table.
    public var vocabularySize: Int? { configuration.vocabSize }

    public var children: [(name: String, module: any Module)] {
        var result: [(name: String, module: any Module)] = [
            ("embeddings", embeddings),
            ("encoder", ModuleGroup(layers.enumerated().map { ("layer.\($0.offset)", $0.element as any Module) })),
        ]
        if let pooler { result.append(("pooler", ModuleGroup([("dense", pooler)]))) }
        return result
    }

    public func configurationJSON() throws -> Data { try configuration.huggingFaceJSON() }

    /// Loads `transformers`-layout weights. A `bert.` prefix (checkpoints saved from a task model) is
    /// dropped, the `position_ids` buffer and task heads (`cls.`) are ignored, and a checkpoint without
    /// `pooler.dense` leaves the model without its pooler.
    public func loadCheckpoint(_ tensors: [String: Tensor]) throws {
        var state: [String: Tensor] = [:]
        let prefixed = tensors.keys.contains { $0.hasPrefix("bert.") }
        for (name, tensor) in tensors {
            var key = name
            if prefixed {
                guard name.hasPrefix("bert.") else { continue }  // heads beside the encoder (cls., classifier.)
                key = String(name.dropFirst("bert.".count))
            }
            if key.hasPrefix("cls.") || key.hasSuffix("position_ids") || key.hasSuffix("token_type_ids") { continue }
            state[key] = tensor
        }
        if state["pooler.dense.weight"] == nil && state["pooler.dense.bias"] == nil { pooler = nil }
        try load(state, strict: true)
    }

    /// `[B, T]` ids → `[B, T, C]` hidden states; every token has type 0 (one segment).
    public func encode(_ batch: TokenBatch, context: ForwardContext) throws -> Tensor {
        var h = try embeddings(batch, context: context)  // [B, T, C]
        let mask = batch.attentionMask  // [B, 1, 1, T]
        for layer in layers { h = layer(h, mask: mask, context: context) }
        return h
    }

    /// `pooler_output`: tanh(dense(first token)) `[B, C]`, as BertModel returns it.
    public func poolerOutput(_ states: Tensor) throws -> Tensor {
        guard let pooler else { throw GlossaError.invalidInput("this BERT checkpoint has no pooler.dense weights") }
        let first = states.slice(axis: 1, 0..<1).reshaped([states.shape[0], states.shape[2]])  // [B, C]
        return pooler(first).tanh()
    }
}

// transformers' BertForSequenceClassification: dropout(pooler_output) → classifier, where pooler_output is
// tanh(pooler.dense(state of [CLS])). A classifier on this plugin pools the same way, so its directory is one.
extension BertModel: SequenceClassificationLayout {
    /// "BertForSequenceClassification".
    public var sequenceClassificationArchitecture: String { "BertForSequenceClassification" }

    /// `pooler_output`, when the model has its `pooler.dense`.
    public var classificationPooler: (any Pooler)? { pooler.map { BertPoolerOutput(dense: $0) } }
}

/// tanh(dense(first token)): BERT's `pooler_output` as a `Pooler`, differentiable through `dense`.
struct BertPoolerOutput: Pooler {
    let dense: Linear

    func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        dense(FirstTokenPooler().pool(states, batch: batch)).tanh()
    }
}

/// A named group of modules with no parameters of its own: the intermediate levels of the checkpoint's
/// names (`encoder`, `attention.self`, `intermediate`) that hold no computation.
final class ModuleGroup: Module {
    let children: [(name: String, module: any Module)]
    init(_ children: [(name: String, module: any Module)]) { self.children = children }
}

/// A lookup table `[count, C]` as a module with one `weight`.
final class Table: Module {
    let weight: Tensor

    init(count: Int, dimension: Int, std: Float, initialize: Bool, generator: inout SeededGenerator) {
        weight = initialize ? Tensor.normal([count, dimension], std: std, using: &generator, requiresGrad: true)
            : Tensor.zeros([count, dimension], requiresGrad: true)
    }

    var localParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

    /// Rows for `ids` laid out as `shape`: `shape + [C]`.
    func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor { weight.gather(rows: ids, shape: shape) }
}

/// Word + position + token-type embeddings, layer-normed.
final class BertEmbeddings: Module {
    let word: Table
    let position: Table
    let tokenType: Table
    let norm: LayerNorm
    let dropout: Float

    init(configuration c: BertConfiguration, initialize: Bool, generator: inout SeededGenerator) {
        word = Table(count: c.vocabSize, dimension: c.hiddenSize, std: c.initializerRange, initialize: initialize, generator: &generator)
        position = Table(count: c.maxPositionEmbeddings, dimension: c.hiddenSize, std: c.initializerRange, initialize: initialize, generator: &generator)
        tokenType = Table(count: c.typeVocabSize, dimension: c.hiddenSize, std: c.initializerRange, initialize: initialize, generator: &generator)
        norm = LayerNorm(c.hiddenSize, eps: c.layerNormEps)
        dropout = c.hiddenDropoutProb
    }

    var children: [(name: String, module: any Module)] {
        [("word_embeddings", word), ("position_embeddings", position), ("token_type_embeddings", tokenType), ("LayerNorm", norm)]
    }

    func callAsFunction(_ batch: TokenBatch, context: ForwardContext) throws -> Tensor {
        let limit = position.weight.shape[0], vocabulary = word.weight.shape[0]
        guard batch.length <= limit else {
            throw GlossaError.invalidInput("a sequence of \(batch.length) tokens is longer than this model's limit of \(limit) positions")
        }
        if let bad = batch.ids.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw GlossaError.invalidInput("token id \(bad) is outside this model's vocabulary of \(vocabulary)")
        }
        let tokens = word(batch.ids, shape: batch.shape)  // [B, T, C]
        let positions = position.weight.slice(axis: 0, 0..<batch.length)  // [T, C]
        let segment = tokenType.weight.slice(axis: 0, 0..<1)  // [1, C]: every token in segment 0
        return context.dropout(norm(tokens + (positions + segment)), dropout)
    }
}

/// One post-norm BERT block; the attention is GlossaNN's, renamed to BERT's checkpoint names.
final class BertLayer: Module {
    let attention: MultiHeadAttention
    let attentionNorm: LayerNorm
    let intermediate: Linear
    let output: Linear
    let outputNorm: LayerNorm
    let activation: Activation
    let dropout: Float

    init(configuration c: BertConfiguration, initialize: Bool, generator: inout SeededGenerator) {
        func dense(_ input: Int, _ output: Int) -> Linear {
            initialize ? Linear(input, output, generator: &generator) : Linear(zeros: input, output)
        }
        let h = c.hiddenSize
        attention = MultiHeadAttention(query: dense(h, h), key: dense(h, h), value: dense(h, h), output: dense(h, h),
                                       heads: c.numAttentionHeads, dropout: c.attentionProbsDropoutProb)
        attentionNorm = LayerNorm(c.hiddenSize, eps: c.layerNormEps)
        intermediate = dense(c.hiddenSize, c.intermediateSize)
        output = dense(c.intermediateSize, c.hiddenSize)
        outputNorm = LayerNorm(c.hiddenSize, eps: c.layerNormEps)
        activation = c.hiddenAct
        dropout = c.hiddenDropoutProb
    }

    var children: [(name: String, module: any Module)] {
        let selfAttention = ModuleGroup([("query", attention.queryProjection), ("key", attention.keyProjection),
                                         ("value", attention.valueProjection)])
        let attentionOutput = ModuleGroup([("dense", attention.outputProjection), ("LayerNorm", attentionNorm)])
        return [
            ("attention", ModuleGroup([("self", selfAttention), ("output", attentionOutput)])),
            ("intermediate", ModuleGroup([("dense", intermediate)])),
            ("output", ModuleGroup([("dense", output), ("LayerNorm", outputNorm)])),
        ]
    }

    /// `[B, T, C]` → `[B, T, C]`; `mask` hides padded keys.
    func callAsFunction(_ x: Tensor, mask: Tensor, context: ForwardContext) -> Tensor {
        let a = attentionNorm(context.residual(x, plus: attention(x, mask: mask, context: context), dropout: dropout))
        let f = output(activation(intermediate(a)))  // [B, T, C]
        return outputNorm(context.residual(a, plus: f, dropout: dropout))
    }
}

// transformers' BertForMaskedLM: `cls.predictions` transforms each state (dense, hidden_act, LayerNorm) and scores it
// against the word embeddings (tied) plus a bias, so a masked-LM head on this plugin saves as that class.
extension BertModel: MaskedLanguageModelLayout {
    /// "BertForMaskedLM".
    public var maskedLanguageModelArchitecture: String { "BertForMaskedLM" }
    /// `embeddings.word_embeddings.weight`.
    public var wordEmbeddings: Tensor { embeddings.word.weight }
    /// `hidden_act`.
    public var maskedLanguageModelActivation: Activation { configuration.hiddenAct }
    /// `layer_norm_eps`.
    public var maskedLanguageModelNormEpsilon: Float { configuration.layerNormEps }
}

extension BertModel {
    /// Forgets `pooler.dense` (BertForMaskedLM has no pooler).
    public func removePooler() { pooler = nil }
}
