import Foundation
import Glossa
import GlossaNN

/// The configuration of a Marian translator, field for field as Hugging Face's `MarianConfig`
/// writes it in `config.json`, so OPUS-MT directories load and ours open in `transformers`.
public struct MarianConfiguration: Codable, Sendable, Equatable {
    /// The source vocabulary (and the target's too when the embeddings are shared).
    public var vocabSize: Int
    /// The target vocabulary when the embeddings are not shared (`decoder_vocab_size`).
    public var decoderVocabSize: Int
    public var dModel: Int
    public var encoderLayers: Int
    public var decoderLayers: Int
    public var encoderAttentionHeads: Int
    public var decoderAttentionHeads: Int
    public var encoderFfnDim: Int
    public var decoderFfnDim: Int
    public var activationFunction: Activation
    public var maxPositionEmbeddings: Int
    public var scaleEmbedding: Bool
    public var padTokenId: Int
    public var eosTokenId: Int
    public var decoderStartTokenId: Int
    public var dropout: Float
    public var attentionDropout: Float
    public var activationDropout: Float
    /// One table for encoder, decoder and output; false gives the encoder and decoder a table each
    /// (OPUS-MT "tc-big" models with separate vocabularies).
    public var shareEncoderDecoderEmbeddings: Bool
    /// The output projection is the decoder's embedding table.
    public var tieWordEmbeddings: Bool
    public var staticPositionEmbeddings: Bool
    public var initStd: Float

    /// The defaults of `MarianConfig` with the sizes given.
    public init(
        vocabSize: Int, dModel: Int = 512, encoderLayers: Int = 6, decoderLayers: Int = 6, heads: Int = 8,
        ffnDim: Int = 2048, activation: Activation = .swish, maxPositions: Int = 512, padTokenId: Int,
        eosTokenId: Int = 0, dropout: Float = 0.1, attentionDropout: Float = 0, activationDropout: Float = 0
    ) {
        self.vocabSize = vocabSize
        self.decoderVocabSize = vocabSize
        self.dModel = dModel
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.encoderAttentionHeads = heads
        self.decoderAttentionHeads = heads
        self.encoderFfnDim = ffnDim
        self.decoderFfnDim = ffnDim
        self.activationFunction = activation
        self.maxPositionEmbeddings = maxPositions
        self.scaleEmbedding = true
        self.padTokenId = padTokenId
        self.eosTokenId = eosTokenId
        self.decoderStartTokenId = padTokenId
        self.dropout = dropout
        self.attentionDropout = attentionDropout
        self.activationDropout = activationDropout
        self.shareEncoderDecoderEmbeddings = true
        self.tieWordEmbeddings = true
        self.staticPositionEmbeddings = true
        self.initStd = 0.02
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vocabSize = "vocab_size", decoderVocabSize = "decoder_vocab_size", dModel = "d_model", encoderLayers = "encoder_layers"
        case decoderLayers = "decoder_layers", encoderAttentionHeads = "encoder_attention_heads"
        case decoderAttentionHeads = "decoder_attention_heads", encoderFfnDim = "encoder_ffn_dim"
        case decoderFfnDim = "decoder_ffn_dim", activationFunction = "activation_function"
        case maxPositionEmbeddings = "max_position_embeddings", scaleEmbedding = "scale_embedding"
        case padTokenId = "pad_token_id", eosTokenId = "eos_token_id", decoderStartTokenId = "decoder_start_token_id"
        case dropout, attentionDropout = "attention_dropout", activationDropout = "activation_dropout"
        case shareEncoderDecoderEmbeddings = "share_encoder_decoder_embeddings", tieWordEmbeddings = "tie_word_embeddings"
        case staticPositionEmbeddings = "static_position_embeddings", initStd = "init_std"
    }

    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        decoderVocabSize = try c.decodeIfPresent(Int.self, forKey: .decoderVocabSize) ?? vocabSize
        dModel = try c.decodeIfPresent(Int.self, forKey: .dModel) ?? 1024
        encoderLayers = try c.decodeIfPresent(Int.self, forKey: .encoderLayers) ?? 12
        decoderLayers = try c.decodeIfPresent(Int.self, forKey: .decoderLayers) ?? 12
        encoderAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .encoderAttentionHeads) ?? 16
        decoderAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .decoderAttentionHeads) ?? 16
        encoderFfnDim = try c.decodeIfPresent(Int.self, forKey: .encoderFfnDim) ?? 4096
        decoderFfnDim = try c.decodeIfPresent(Int.self, forKey: .decoderFfnDim) ?? 4096
        activationFunction = try c.decodeIfPresent(Activation.self, forKey: .activationFunction) ?? .geluTanh
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 1024
        scaleEmbedding = try c.decodeIfPresent(Bool.self, forKey: .scaleEmbedding) ?? false
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? 58100
        eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? 0
        decoderStartTokenId = try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenId) ?? padTokenId
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0.1
        attentionDropout = try c.decodeIfPresent(Float.self, forKey: .attentionDropout) ?? 0
        activationDropout = try c.decodeIfPresent(Float.self, forKey: .activationDropout) ?? 0
        shareEncoderDecoderEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .shareEncoderDecoderEmbeddings) ?? true
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        // One shared table has one size, whatever decoder_vocab_size says (as in transformers).
        if shareEncoderDecoderEmbeddings { decoderVocabSize = vocabSize }
        staticPositionEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .staticPositionEmbeddings) ?? true
        initStd = try c.decodeIfPresent(Float.self, forKey: .initStd) ?? 0.02
        try validate()
    }

    /// Checks sizes that would otherwise fail deep inside a forward pass.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw GlossaError.invalidConfiguration(message) }
        }
        try require(vocabSize > 0, "vocab_size must be positive, got \(vocabSize)")
        try require(decoderVocabSize > 0, "decoder_vocab_size must be positive, got \(decoderVocabSize)")
        try require(!shareEncoderDecoderEmbeddings || decoderVocabSize == vocabSize,
                    "shared embeddings need decoder_vocab_size (\(decoderVocabSize)) equal to vocab_size (\(vocabSize))")
        try require(dModel > 0 && dModel % 2 == 0, "d_model must be a positive even number, got \(dModel)")
        try require(encoderLayers >= 0 && decoderLayers >= 1, "the decoder needs at least one layer")
        try require(encoderAttentionHeads > 0 && dModel % encoderAttentionHeads == 0,
                    "d_model \(dModel) must be divisible by encoder_attention_heads \(encoderAttentionHeads)")
        try require(decoderAttentionHeads > 0 && dModel % decoderAttentionHeads == 0,
                    "d_model \(dModel) must be divisible by decoder_attention_heads \(decoderAttentionHeads)")
        try require(encoderFfnDim > 0 && decoderFfnDim > 0, "ffn dims must be positive")
        try require(maxPositionEmbeddings > 1, "max_position_embeddings must be at least 2")
        try require(padTokenId >= 0 && padTokenId < vocabSize, "pad_token_id \(padTokenId) is outside the source vocabulary of \(vocabSize)")
        for (name, id) in [("pad_token_id", padTokenId), ("eos_token_id", eosTokenId), ("decoder_start_token_id", decoderStartTokenId)] {
            try require(id >= 0 && id < decoderVocabSize, "\(name) \(id) is outside the target vocabulary of \(decoderVocabSize)")
        }
        for (name, p) in [("dropout", dropout), ("attention_dropout", attentionDropout), ("activation_dropout", activationDropout)] {
            try require(p >= 0 && p < 1, "\(name) must be in [0, 1), got \(p)")
        }
    }

    /// The `config.json` Hugging Face writes for this configuration.
    public func huggingFaceJSON() throws -> Data {
        var object: [String: Any] = [:]
        let mine = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(self)) as? [String: Any] ?? [:]
        object.merge(mine) { $1 }
        object["model_type"] = "marian"
        object["architectures"] = ["MarianMTModel"]
        object["glossa_plugin"] = "marian"
        object["is_encoder_decoder"] = true
        object["normalize_embedding"] = false
        object["forced_eos_token_id"] = eosTokenId
        object["bad_words_ids"] = [[padTokenId]]
        object["num_hidden_layers"] = encoderLayers
        object["max_length"] = 512
        object["num_beams"] = 4
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}
