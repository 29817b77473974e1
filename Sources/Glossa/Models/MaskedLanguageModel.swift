import Foundation
import GlossaNN
import GlossaTensor

/// An encoder whose Hugging Face masked-LM task model has a known layout (BERT: `BertForMaskedLM`), so a masked-LM
/// head on it is saved as that class: its word embeddings are the decoder, tied.
public protocol MaskedLanguageModelLayout: EncoderModel {
    /// The transformers class written to `architectures` (`BertForMaskedLM`).
    var maskedLanguageModelArchitecture: String { get }
    /// The word-embedding table `[V, C]`, which the head's decoder reuses (tied, as transformers ties it).
    var wordEmbeddings: Tensor { get }
    /// The activation of the head's transform (BERT: `hidden_act`).
    var maskedLanguageModelActivation: Activation { get }
    /// The epsilon of the head's layer norm (BERT: `layer_norm_eps`).
    var maskedLanguageModelNormEpsilon: Float { get }
    /// Drops the sentence pooler: the masked-LM class has none (transformers' `add_pooling_layer=False`), and an
    /// untrained one would only be saved unchanged.
    func removePooler()
}

/// The trainable network of masked-LM pretraining: an encoder and transformers' `BertLMPredictionHead`
/// (`cls.predictions.transform.dense` → activation → `cls.predictions.transform.LayerNorm` → the word embeddings,
/// transposed, + `cls.predictions.bias`), the encoder's tensors under its plugin's name (`bert.`).
public final class MaskedLanguageModel: SavableModel {
    /// The encoder network.
    public let base: any MaskedLanguageModelLayout
    /// `cls.predictions.transform.dense`.
    public let transform: Linear
    /// `cls.predictions.transform.LayerNorm`.
    public let norm: LayerNorm
    /// `cls.predictions.bias` `[V]`: the decoder's bias (its weight is the word embeddings).
    public let bias: Tensor

    /// A fresh head on `base`, initialised as transformers does (normal(0, `std`) dense weight, zero biases, unit norm).
    public init(base: any MaskedLanguageModelLayout, std: Float = 0.02, seed: UInt64 = 0) {
        let c = base.encoder.hiddenSize
        var generator = SeededGenerator(seed: seed)
        transform = Linear(c, c, generator: &generator)
        let fresh = Tensor.normal([c * c], std: std, using: &generator).scalars
        transform.weight.withMutableScalars { $0 = fresh }
        transform.bias?.withMutableScalars { $0 = [Float](repeating: 0, count: $0.count) }
        norm = LayerNorm(c, eps: base.maskedLanguageModelNormEpsilon)
        bias = Tensor.zeros([base.wordEmbeddings.shape[0]], requiresGrad: true)
        head = PredictionHead(transform: transform, norm: norm, bias: bias)
        base.removePooler()
        self.base = base
    }

    /// `cls.predictions`, as one module for loading.
    let head: PredictionHead

    /// The prefix of the encoder's tensors: its plugin name, transformers' `base_model_prefix` for BERT.
    var prefix: String { base.pluginName }

    public var children: [(name: String, module: any Module)] {
        [(prefix, base), ("cls", NamedModules([("predictions", head)]))]
    }

    /// The encoder's plugin: the directory opens with it as an encoder (its loader drops `bert.` and `cls.`).
    public var pluginName: String { base.pluginName }

    /// The encoder's `config.json`, claiming the masked-LM class.
    public func configurationJSON() throws -> Data {
        guard var object = try JSONSerialization.jsonObject(with: try base.configurationJSON()) as? [String: Any] else {
            throw GlossaError.invalidConfiguration("the \(pluginName) plugin's config.json is not a JSON object")
        }
        object["architectures"] = [base.maskedLanguageModelArchitecture]
        object["tie_word_embeddings"] = true
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// The head from `cls.predictions.*` (a `decoder.weight` or `decoder.bias`, which transformers may write, is the
    /// tied word embeddings or `bias` again, so it is skipped), the encoder from `<prefix>.*`.
    public func loadCheckpoint(_ tensors: [String: Tensor]) throws {
        var (predictions, encoder) = splitHeadCheckpoint(tensors, head: "cls.predictions.", encoder: prefix, bareEncoder: false)
        predictions["decoder.weight"] = nil
        predictions["decoder.bias"] = nil
        try base.loadCheckpoint(encoder)
        try head.load(predictions, strict: true)
    }

    /// The encoder's tensors under the prefix, then the head's (the tied decoder weight is not stored again:
    /// transformers ties it on load).
    public func checkpointTensors() -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in base.checkpointTensors() { tensors[prefix + "." + name] = tensor }
        for (name, tensor) in namedParameters() where name.hasPrefix("cls.") { tensors[name] = tensor }
        return tensors
    }

    public func didUpdateParameters() { base.didUpdateParameters() }
    public func extraFiles() throws -> [String: Data] { try base.extraFiles() }

    /// `[N, V]` vocabulary logits at `positions` (flat indices into the batch's `B × T` tokens).
    public func logits(_ batch: TokenBatch, positions: [Int], context: ForwardContext) throws -> Tensor {
        let states = try base.encoder.encode(batch, context: context)  // [B, T, C]
        let picked = states.reshaped([-1, states.shape[2]]).indexSelect(axis: 0, positions)  // [N, C]
        let h = norm(base.maskedLanguageModelActivation(transform(picked)))
        return h.matmul(base.wordEmbeddings, transposeOther: true, bias: bias)  // [N, V]
    }

    /// Writes the directory transformers opens as the encoder's masked-LM class: `config.json`, `model.safetensors`
    /// and the tokenizer (`tokenizer.model` or `vocab.txt`).
    public func save(to directory: URL, tokenizer: any Tokenizer, dtype: SafetensorsDType = .f32) throws {
        let files = try tokenizerFiles(tokenizer, named: "tokenizer.model", readable: ["tokenizer.model", "vocab.txt"], layout: "masked LM")
        try ModelDirectory.save(self, to: directory, dtype: dtype)
        try ModelDirectory.write(files, to: directory, removing: ["vocab.txt", "tokenizer.model"])
    }
}

/// `cls.predictions`: the transform and the decoder's bias (the decoder weight is the encoder's, so not a child here).
final class PredictionHead: Module {
    let transform: Linear
    let norm: LayerNorm
    let bias: Tensor

    init(transform: Linear, norm: LayerNorm, bias: Tensor) {
        self.transform = transform
        self.norm = norm
        self.bias = bias
    }

    var localParameters: [(name: String, tensor: Tensor)] { [("bias", bias)] }
    var children: [(name: String, module: any Module)] {
        [("transform", NamedModules([("dense", transform), ("LayerNorm", norm)]))]
    }
}

/// Named children and no parameters of their own: the levels of checkpoint names that hold no computation.
final class NamedModules: Module {
    let children: [(name: String, module: any Module)]
    init(_ children: [(name: String, module: any Module)]) { self.children = children }
}
