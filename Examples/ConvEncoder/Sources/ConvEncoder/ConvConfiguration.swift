import Foundation
import Glossa

/// How a convolution treats the sequence ends.
public enum ConvPadding: String, Codable, Sendable, CaseIterable {
    /// Zeros on both sides, `(K − 1)·d / 2` on the left, so stride 1 keeps the length.
    case same
    /// No padding: every output sees only real positions, and the sequence shrinks by `(K − 1)·d`.
    case valid
}

/// The downsampling pool after a block.
public enum ConvPooling: String, Codable, Sendable, CaseIterable {
    /// No pooling.
    case none
    /// The largest value of each window (padding never wins).
    case max
    /// The mean of each window's real positions.
    case avg
}

/// One convolution block: conv → GELU → (+ input) → layer norm → optional pool.
public struct ConvBlockConfiguration: Codable, Sendable, Equatable {
    /// Kernel size K.
    public var kernelSize: Int
    /// Stride of the convolution.
    public var stride: Int = 1
    /// Dilation d: the taps are d positions apart.
    public var dilation: Int = 1
    /// Pooling after the block.
    public var pooling: ConvPooling = .none
    /// Window (and stride) of the pool.
    public var poolSize: Int = 2

    /// A block.
    public init(kernelSize: Int, stride: Int = 1, dilation: Int = 1, pooling: ConvPooling = .none, poolSize: Int = 2) {
        self.kernelSize = kernelSize
        self.stride = stride
        self.dilation = dilation
        self.pooling = pooling
        self.poolSize = poolSize
    }

    enum CodingKeys: String, CodingKey {
        case kernelSize = "kernel_size", stride, dilation, pooling, poolSize = "pool_size"
    }

    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kernelSize = try c.decode(Int.self, forKey: .kernelSize)
        stride = try c.decodeIfPresent(Int.self, forKey: .stride) ?? 1
        dilation = try c.decodeIfPresent(Int.self, forKey: .dilation) ?? 1
        pooling = try c.decodeIfPresent(ConvPooling.self, forKey: .pooling) ?? .none
        poolSize = try c.decodeIfPresent(Int.self, forKey: .poolSize) ?? 2
    }
}

/// The `config.json` of a `conv-encoder` model.
public struct ConvConfiguration: Codable, Sendable, Equatable {
    /// Rows of the token embedding table.
    public var vocabSize: Int
    /// The width C of every hidden state.
    public var hiddenSize: Int
    /// The padding id.
    public var padTokenId: Int = 0
    /// Same or valid convolutions.
    public var padding: ConvPadding = .same
    /// Add each block's input to its output when the lengths agree.
    public var residual: Bool = true
    /// Pool sentences by attention with a learned query (else the embedder's default pooling).
    public var attentionPooling: Bool = true
    /// The blocks, bottom first.
    public var blocks: [ConvBlockConfiguration]
    /// Seed of the initial weights.
    public var seed: UInt64 = 0

    /// A configuration.
    public init(vocabSize: Int, hiddenSize: Int, blocks: [ConvBlockConfiguration], padding: ConvPadding = .same,
                residual: Bool = true, attentionPooling: Bool = true, padTokenId: Int = 0, seed: UInt64 = 0) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.blocks = blocks
        self.padding = padding
        self.residual = residual
        self.attentionPooling = attentionPooling
        self.padTokenId = padTokenId
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", padTokenId = "pad_token_id", padding, residual
        case attentionPooling = "attention_pooling", blocks, seed
    }

    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? 0
        padding = try c.decodeIfPresent(ConvPadding.self, forKey: .padding) ?? .same
        residual = try c.decodeIfPresent(Bool.self, forKey: .residual) ?? true
        attentionPooling = try c.decodeIfPresent(Bool.self, forKey: .attentionPooling) ?? true
        blocks = try c.decode([ConvBlockConfiguration].self, forKey: .blocks)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
    }

    /// Throws a sentence naming the first impossible setting.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw GlossaError.invalidConfiguration("conv-encoder: \(message)") }
        }
        try require(vocabSize > 0, "vocab_size must be positive")
        try require(hiddenSize > 0, "hidden_size must be positive")
        try require(!blocks.isEmpty, "blocks must list at least one block")
        for (i, b) in blocks.enumerated() {
            try require(b.kernelSize >= 1 && b.stride >= 1 && b.dilation >= 1, "block \(i) needs kernel_size, stride and dilation of at least 1")
            try require(b.pooling == .none || b.poolSize >= 1, "block \(i) needs a pool_size of at least 1")
        }
    }

    /// The receptive field of the network's last layer, in input tokens: RF₀ = 1 and each layer adds
    /// (span − 1)·J, where J is the product of the strides below it and span is (K − 1)·d + 1 for a convolution
    /// or the window for a pool (whose stride equals its window).
    public var receptiveField: Int { receptiveFields.last ?? 1 }

    /// The receptive field after each layer (convolutions and pools in order), starting with RF₀ = 1.
    public var receptiveFields: [Int] { ConvGeometry.receptiveFields(geometry) }

    /// The layers in order, as the receptive-field arithmetic sees them.
    public var geometry: [ConvGeometry] {
        blocks.flatMap { block -> [ConvGeometry] in
            let conv = ConvGeometry.convolution(kernelSize: block.kernelSize, dilation: block.dilation, stride: block.stride)
            return block.pooling == .none ? [conv] : [conv, .pool(size: block.poolSize)]
        }
    }

    /// How many input positions one output position stands for (the product of every stride and pool).
    public var totalStride: Int {
        blocks.reduce(1) { $0 * $1.stride * ($1.pooling == .none ? 1 : $1.poolSize) }
    }
}
