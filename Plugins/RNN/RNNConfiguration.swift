import Foundation
import Glossa
import GlossaNN

/// How the decoder scores encoder states: additive (Bahdanau et al. 2015), or Luong et al. 2015's dot and general.
public enum AttentionScore: String, Codable, Sendable, CaseIterable {
    case bahdanau, dot, general
    /// No attention: a language model, or a plain encoder-decoder that sees the source only through its first state.
    case none
}

/// The configuration of an RNN sequence model (Glossa-native `config.json`): a bidirectional multi-layer
/// encoder and an attentional decoder with input feeding (Luong et al. 2015), sharing one embedding table that
/// is also the output projection, as Marian's shared-vocabulary recipes do.
public struct RNNConfiguration: Codable, Sendable, Equatable {
    public var vocabSize: Int
    public var cell: CellKind = .gru
    public var embeddingDim: Int = 256
    public var hiddenSize: Int = 512
    /// Each encoder direction's state width; `hidden_size` when 0.
    public var encoderHiddenSize: Int = 0
    public var encoderLayers: Int = 1
    public var decoderLayers: Int = 1
    public var bidirectional: Bool = true
    public var attention: AttentionScore = .bahdanau
    /// Width of the additive attention's hidden layer (Bahdanau only); `hidden_size` when 0.
    public var attentionDim: Int = 0
    public var inputFeeding: Bool = true
    public var dropout: Float = 0.2
    public var padTokenId: Int
    public var eosTokenId: Int = 0
    public var decoderStartTokenId: Int

    /// A configuration with the defaults above.
    public init(vocabSize: Int, cell: CellKind = .gru, embeddingDim: Int = 256, hiddenSize: Int = 512, encoderLayers: Int = 1,
                decoderLayers: Int = 1, bidirectional: Bool = true, attention: AttentionScore = .bahdanau, inputFeeding: Bool = true,
                dropout: Float = 0.2, padTokenId: Int, eosTokenId: Int = 0) {
        self.vocabSize = vocabSize
        self.cell = cell
        self.embeddingDim = embeddingDim
        self.hiddenSize = hiddenSize
        self.encoderLayers = encoderLayers
        self.decoderLayers = decoderLayers
        self.bidirectional = bidirectional
        self.attention = attention
        self.inputFeeding = inputFeeding
        self.dropout = dropout
        self.padTokenId = padTokenId
        self.eosTokenId = eosTokenId
        self.decoderStartTokenId = padTokenId
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vocabSize = "vocab_size", cell, embeddingDim = "embedding_dim", hiddenSize = "hidden_size", encoderHiddenSize = "encoder_hidden_size"
        case encoderLayers = "encoder_layers", decoderLayers = "decoder_layers", bidirectional, attention
        case attentionDim = "attention_dim", inputFeeding = "input_feeding", dropout
        case padTokenId = "pad_token_id", eosTokenId = "eos_token_id", decoderStartTokenId = "decoder_start_token_id"
    }

    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        cell = try c.decodeIfPresent(CellKind.self, forKey: .cell) ?? .gru
        embeddingDim = try c.decodeIfPresent(Int.self, forKey: .embeddingDim) ?? 256
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? 512
        encoderHiddenSize = try c.decodeIfPresent(Int.self, forKey: .encoderHiddenSize) ?? 0
        encoderLayers = try c.decodeIfPresent(Int.self, forKey: .encoderLayers) ?? 1
        decoderLayers = try c.decodeIfPresent(Int.self, forKey: .decoderLayers) ?? 1
        bidirectional = try c.decodeIfPresent(Bool.self, forKey: .bidirectional) ?? true
        attention = try c.decodeIfPresent(AttentionScore.self, forKey: .attention) ?? .bahdanau
        attentionDim = try c.decodeIfPresent(Int.self, forKey: .attentionDim) ?? 0
        inputFeeding = try c.decodeIfPresent(Bool.self, forKey: .inputFeeding) ?? true
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0.2
        padTokenId = try c.decode(Int.self, forKey: .padTokenId)
        eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? 0
        decoderStartTokenId = try c.decodeIfPresent(Int.self, forKey: .decoderStartTokenId) ?? padTokenId
        try validate()
    }

    /// The width of the encoder's states: both directions side by side when bidirectional.
    public var encoderOutputSize: Int { bidirectional ? 2 * encoderStateSize : encoderStateSize }

    /// Each encoder direction's state width.
    public var encoderStateSize: Int { encoderHiddenSize > 0 ? encoderHiddenSize : hiddenSize }

    /// The additive attention's hidden width.
    public var effectiveAttentionDim: Int { attentionDim > 0 ? attentionDim : hiddenSize }

    /// Checks sizes that would otherwise fail deep inside a forward pass.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw GlossaError.invalidConfiguration(message) }
        }
        try require(vocabSize > 0, "vocab_size must be positive, got \(vocabSize)")
        try require(embeddingDim > 0 && hiddenSize > 0, "embedding_dim and hidden_size must be positive")
        try require(encoderLayers >= 1 && decoderLayers >= 1, "encoder_layers and decoder_layers must be at least 1")
        try require(attentionDim >= 0 && encoderHiddenSize >= 0, "attention_dim and encoder_hidden_size must not be negative")
        try require(attention != .dot || encoderOutputSize == hiddenSize,
                    "attention \"dot\" needs the encoder's states (\(encoderOutputSize) wide\(bidirectional ? ", both directions" : "")) "
                    + "as wide as the decoder's hidden_size \(hiddenSize); use \"general\" or \"bahdanau\", or bidirectional: false")
        for (name, id) in [("pad_token_id", padTokenId), ("eos_token_id", eosTokenId), ("decoder_start_token_id", decoderStartTokenId)] {
            try require(id >= 0 && id < vocabSize, "\(name) \(id) is outside the vocabulary of \(vocabSize)")
        }
        try require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1), got \(dropout)")
    }

    /// `config.json`: these fields plus `glossa_plugin` naming the plugin that reads it back.
    func json(plugin: String) throws -> Data {
        var object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(self)) as? [String: Any] ?? [:]
        object["glossa_plugin"] = plugin
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}
