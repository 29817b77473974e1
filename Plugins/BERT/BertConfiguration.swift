import Foundation
import Glossa
import GlossaNN

/// The configuration of a BERT encoder, field for field as Hugging Face's `BertConfig` writes it in
/// `config.json`, so published BERT-family checkpoints (all-MiniLM-L6-v2, bert-base-uncased) load as they are.
public struct BertConfiguration: Codable, Sendable, Equatable {
    /// Rows of the word embedding table.
    public var vocabSize: Int
    /// The width C of every hidden state.
    public var hiddenSize: Int
    /// The number of encoder blocks.
    public var numHiddenLayers: Int
    /// Attention heads per block; they split `hiddenSize` evenly.
    public var numAttentionHeads: Int
    /// The width of the feed-forward block.
    public var intermediateSize: Int
    /// The feed-forward activation (`gelu` is the erf form, as in BERT).
    public var hiddenAct: Activation
    /// Rows of the learned position table (the longest input).
    public var maxPositionEmbeddings: Int
    /// Rows of the token-type (segment) table.
    public var typeVocabSize: Int
    /// Added to the variance in every layer norm.
    public var layerNormEps: Float
    /// The padding id.
    public var padTokenId: Int
    /// Dropout after each sublayer and on the embeddings.
    public var hiddenDropoutProb: Float
    /// Dropout on attention weights.
    public var attentionProbsDropoutProb: Float
    /// The standard deviation of freshly drawn weights.
    public var initializerRange: Float
    /// Only `absolute` (learned positions) is supported.
    public var positionEmbeddingType: String

    /// `BertConfig`'s defaults with the sizes given.
    public init(
        vocabSize: Int, hiddenSize: Int = 768, layers: Int = 12, heads: Int = 12, intermediateSize: Int = 3072,
        maxPositions: Int = 512, typeVocabSize: Int = 2, layerNormEps: Float = 1e-12, padTokenId: Int = 0
    ) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = layers
        self.numAttentionHeads = heads
        self.intermediateSize = intermediateSize
        self.hiddenAct = .gelu
        self.maxPositionEmbeddings = maxPositions
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.padTokenId = padTokenId
        self.hiddenDropoutProb = 0.1
        self.attentionProbsDropoutProb = 0.1
        self.initializerRange = 0.02
        self.positionEmbeddingType = "absolute"
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size", hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps", padTokenId = "pad_token_id", hiddenDropoutProb = "hidden_dropout_prob"
        case attentionProbsDropoutProb = "attention_probs_dropout_prob", initializerRange = "initializer_range"
        case positionEmbeddingType = "position_embedding_type"
    }

    /// Reads `config.json` with `BertConfig`'s defaults for absent fields, then validates it.
    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 768
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? 12
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? 12
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 3072
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? .gelu
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 512
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? 2
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-12
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? 0
        hiddenDropoutProb = try c.decodeIfPresent(Float.self, forKey: .hiddenDropoutProb) ?? 0.1
        attentionProbsDropoutProb = try c.decodeIfPresent(Float.self, forKey: .attentionProbsDropoutProb) ?? 0.1
        initializerRange = try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? 0.02
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? "absolute"
        try validate()
    }

    /// Checks sizes that would otherwise fail deep inside a forward pass.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw GlossaError.invalidConfiguration(message) }
        }
        try require(vocabSize > 0, "vocab_size must be positive, got \(vocabSize)")
        try require(hiddenSize > 0, "hidden_size must be positive, got \(hiddenSize)")
        try require(numHiddenLayers >= 1, "num_hidden_layers must be at least 1, got \(numHiddenLayers)")
        try require(numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0,
                    "hidden_size \(hiddenSize) must be divisible by num_attention_heads \(numAttentionHeads)")
        try require(intermediateSize > 0, "intermediate_size must be positive, got \(intermediateSize)")
        try require(maxPositionEmbeddings >= 2, "max_position_embeddings must be at least 2, got \(maxPositionEmbeddings)")
        try require(typeVocabSize >= 1, "type_vocab_size must be at least 1, got \(typeVocabSize)")
        try require(layerNormEps > 0 && layerNormEps.isFinite, "layer_norm_eps must be a small positive number, got \(layerNormEps)")
        try require(padTokenId >= 0 && padTokenId < vocabSize, "pad_token_id \(padTokenId) is outside the vocabulary of \(vocabSize)")
        try require(positionEmbeddingType == "absolute",
                    "position_embedding_type \"\(positionEmbeddingType)\" is not supported (only \"absolute\")")
        for (name, p) in [("hidden_dropout_prob", hiddenDropoutProb), ("attention_probs_dropout_prob", attentionProbsDropoutProb)] {
            try require(p >= 0 && p < 1, "\(name) must be in [0, 1), got \(p)")
        }
    }

    /// The `config.json` Hugging Face writes for this configuration.
    public func huggingFaceJSON() throws -> Data {
        var object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(self)) as? [String: Any] ?? [:]
        object["model_type"] = "bert"
        object["architectures"] = ["BertModel"]
        object["glossa_plugin"] = "bert"
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}
