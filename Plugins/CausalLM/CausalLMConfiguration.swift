import Foundation
import Glossa
import GlossaNN

/// Where a causal LM gets its position information.
public enum PositionEmbeddingType: String, Codable, Sendable, CaseIterable {
    /// Rotary embeddings on queries and keys (Llama); the layout transformers opens.
    case rotary
    /// A learned table added to the token embeddings (GPT-2 style); a Glossa extension of the Llama
    /// layout (`model.embed_positions.weight`) that transformers cannot open.
    case learned
}

/// The configuration of the causal decoder, field for field as Hugging Face's `LlamaConfig` writes
/// it in `config.json`, plus two Glossa fields (`position_embedding_type`, `hidden_dropout`).
public struct CausalLMConfiguration: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var maxPositionEmbeddings: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var tieWordEmbeddings: Bool
    public var bosTokenId: Int
    public var eosTokenId: Int
    public var padTokenId: Int
    public var hiddenAct: Activation
    public var initializerRange: Float
    public var attentionDropout: Float
    public var positionEmbeddingType: PositionEmbeddingType
    public var hiddenDropout: Float

    /// A small configuration with the given sizes (defaults of the shipped LM).
    public init(
        vocabSize: Int, hiddenSize: Int = 256, intermediateSize: Int = 768, layers: Int = 4, heads: Int = 4,
        maxPositions: Int = 256, positions: PositionEmbeddingType = .rotary, tied: Bool = true,
        bos: Int = 0, eos: Int = 0, pad: Int
    ) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = layers
        self.numAttentionHeads = heads
        self.numKeyValueHeads = heads
        self.maxPositionEmbeddings = maxPositions
        self.rmsNormEps = 1e-6
        self.ropeTheta = 10_000
        self.tieWordEmbeddings = tied
        self.bosTokenId = bos
        self.eosTokenId = eos
        self.padTokenId = pad
        self.hiddenAct = .silu
        self.initializerRange = 0.02
        self.attentionDropout = 0
        self.positionEmbeddingType = positions
        self.hiddenDropout = 0
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", maxPositionEmbeddings = "max_position_embeddings"
        case rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", tieWordEmbeddings = "tie_word_embeddings"
        case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", padTokenId = "pad_token_id"
        case hiddenAct = "hidden_act", initializerRange = "initializer_range", attentionDropout = "attention_dropout"
        case positionEmbeddingType = "position_embedding_type", hiddenDropout = "hidden_dropout"
    }

    enum ReadOnlyKeys: String, CodingKey { case ropeParameters = "rope_parameters" }

    /// transformers 5 writes θ inside `rope_parameters`; only the default rotary type is supported.
    struct RopeParameters: Codable {
        var rope_theta: Float?
        var rope_type: String?
    }

    /// Reads `config.json`, with `LlamaConfig`'s defaults for absent fields.
    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 4096
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? 11008
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? 32
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? 32
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        let rope = try decoder.container(keyedBy: ReadOnlyKeys.self).decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        if let type = rope?.rope_type, type != "default" {
            throw GlossaError.invalidConfiguration("rope_type \"\(type)\" is not supported (only the default rotary embedding)")
        }
        ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? rope?.rope_theta ?? 10_000
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId) ?? 1
        eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? 2
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? eosTokenId
        hiddenAct = try c.decodeIfPresent(Activation.self, forKey: .hiddenAct) ?? .silu
        initializerRange = try c.decodeIfPresent(Float.self, forKey: .initializerRange) ?? 0.02
        attentionDropout = try c.decodeIfPresent(Float.self, forKey: .attentionDropout) ?? 0
        positionEmbeddingType = try c.decodeIfPresent(PositionEmbeddingType.self, forKey: .positionEmbeddingType) ?? .rotary
        hiddenDropout = try c.decodeIfPresent(Float.self, forKey: .hiddenDropout) ?? 0
        try validate()
    }

    /// The width of one attention head.
    public var headDimension: Int { hiddenSize / Swift.max(numAttentionHeads, 1) }

    /// Checks sizes that would otherwise fail deep inside a forward pass.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw GlossaError.invalidConfiguration(message) }
        }
        try require(vocabSize > 0, "vocab_size must be positive, got \(vocabSize)")
        try require(hiddenSize > 0 && intermediateSize > 0, "hidden_size and intermediate_size must be positive")
        try require(numHiddenLayers >= 1, "num_hidden_layers must be at least 1")
        try require(numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0,
                    "hidden_size \(hiddenSize) must be divisible by num_attention_heads \(numAttentionHeads)")
        try require(headDimension % 2 == 0, "the head dimension \(headDimension) must be even for rotary positions")
        try require(numKeyValueHeads == numAttentionHeads,
                    "grouped-query attention (num_key_value_heads \(numKeyValueHeads) ≠ num_attention_heads \(numAttentionHeads)) is not supported")
        try require(maxPositionEmbeddings > 1, "max_position_embeddings must be at least 2")
        try require(ropeTheta > 0 && ropeTheta.isFinite, "rope_theta must be a positive finite number")
        try require(rmsNormEps > 0 && rmsNormEps.isFinite && rmsNormEps < 1, "rms_norm_eps must be a small positive number, got \(rmsNormEps)")
        try require(hiddenAct == .silu || hiddenAct == .swish, "hidden_act must be silu (SwiGLU feed-forward), got \(hiddenAct.rawValue)")
        for (name, id) in [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId), ("pad_token_id", padTokenId)] {
            try require(id >= 0 && id < vocabSize, "\(name) \(id) is outside the vocabulary of \(vocabSize)")
        }
        for (name, p) in [("attention_dropout", attentionDropout), ("hidden_dropout", hiddenDropout)] {
            try require(p >= 0 && p < 1, "\(name) must be in [0, 1), got \(p)")
        }
    }

    /// The `config.json` transformers writes for a `LlamaForCausalLM` of this shape, plus the Glossa fields.
    public func huggingFaceJSON() throws -> Data {
        var object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(self)) as? [String: Any] ?? [:]
        object["model_type"] = "llama"
        object["architectures"] = ["LlamaForCausalLM"]
        object["glossa_plugin"] = "causal-lm"
        object["head_dim"] = headDimension
        object["attention_bias"] = false
        object["mlp_bias"] = false
        object["pretraining_tp"] = 1
        object["rope_scaling"] = NSNull()
        object["use_cache"] = true
        object["torch_dtype"] = "float32"
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}
