import Foundation
import Glossa
import GlossaNN
import GlossaTensor

// A Glossa-native layout (no reference checkpoint format): `embeddings.weight` shared by the encoder, the decoder
// and the output projection; `encoder.layers.N.{forward,backward}.{weight_ih,weight_hh,bias_ih,bias_hh}` as in
// PyTorch's nn.GRU/nn.LSTM; `decoder.*` as `RNNDecoder` names them.

/// The shared embedding table `[V, E]`, drawn from N(0, 1/E) so that the tied output logits start small.
func makeEmbeddings(_ c: RNNConfiguration, generator: inout SeededGenerator) -> Tensor {
    Tensor.normal([c.vocabSize, c.embeddingDim], std: 1 / Float(c.embeddingDim).squareRoot(), using: &generator, requiresGrad: true)
}

/// The RNN translator: a bidirectional recurrent encoder and an attentional decoder with input feeding.
public final class RNNModel: EncoderDecoderModel {
    /// The configuration it was built from.
    public let configuration: RNNConfiguration
    /// `[V, E]`, shared by both sides and the output projection.
    public let embeddings: Tensor
    let encoderStack: RNNEncoder
    let decoderStack: RNNDecoder

    /// A freshly initialised model, seeded.
    public init(_ configuration: RNNConfiguration, seed: UInt64 = 0) throws {
        try configuration.validate()
        self.configuration = configuration
        var rng = SeededGenerator(seed: seed)
        embeddings = makeEmbeddings(configuration, generator: &rng)
        encoderStack = RNNEncoder(configuration: configuration, embeddings: embeddings, generator: &rng)
        decoderStack = RNNDecoder(configuration: configuration, embeddings: embeddings, attends: true, generator: &rng)
    }

    public var encoder: any Encoder { encoderStack }
    public var decoder: any Decoder { decoderStack }
    public var specialIds: SequenceSpecialIds {
        SequenceSpecialIds(eos: configuration.eosTokenId, pad: configuration.padTokenId, decoderStart: configuration.decoderStartTokenId)
    }
    /// "rnn".
    public var pluginName: String { "rnn" }
    public var localParameters: [(name: String, tensor: Tensor)] { [("embeddings.weight", embeddings)] }
    public var children: [(name: String, module: any Module)] { [("encoder", encoderStack), ("decoder", decoderStack)] }
    public func configurationJSON() throws -> Data { try configuration.json(plugin: pluginName) }
}

/// The RNN encoder alone, for sentence embeddings through the poolers (mean, max, last token, …).
public final class RNNEncoderModel: EncoderModel {
    /// The configuration it was built from (decoder fields unused).
    public let configuration: RNNConfiguration
    /// `[V, E]`.
    public let embeddings: Tensor
    let encoderStack: RNNEncoder

    /// A freshly initialised encoder, seeded.
    public init(_ configuration: RNNConfiguration, seed: UInt64 = 0) throws {
        try configuration.validate()
        self.configuration = configuration
        var rng = SeededGenerator(seed: seed)
        embeddings = makeEmbeddings(configuration, generator: &rng)
        encoderStack = RNNEncoder(configuration: configuration, embeddings: embeddings, generator: &rng)
    }

    public var encoder: any Encoder { encoderStack }
    /// "rnn-encoder".
    public var pluginName: String { "rnn-encoder" }
    public var localParameters: [(name: String, tensor: Tensor)] { [("embeddings.weight", embeddings)] }
    public var children: [(name: String, module: any Module)] { [("encoder", encoderStack)] }
    public func configurationJSON() throws -> Data { try configuration.json(plugin: pluginName) }
}

/// The RNN decoder alone as a causal language model: no encoder, no attention, tied embeddings.
public final class RNNLanguageModel: DecoderOnlyModel {
    /// The configuration it was built from (encoder and attention fields unused).
    public let configuration: RNNConfiguration
    /// `[V, E]`.
    public let embeddings: Tensor
    let decoderStack: RNNDecoder

    /// A freshly initialised language model, seeded.
    public init(_ configuration: RNNConfiguration, seed: UInt64 = 0) throws {
        try configuration.validate()
        self.configuration = configuration
        var rng = SeededGenerator(seed: seed)
        embeddings = makeEmbeddings(configuration, generator: &rng)
        decoderStack = RNNDecoder(configuration: configuration, embeddings: embeddings, attends: false, generator: &rng)
    }

    public var decoder: any Decoder { decoderStack }
    public var specialIds: SequenceSpecialIds {
        SequenceSpecialIds(eos: configuration.eosTokenId, pad: configuration.padTokenId, decoderStart: configuration.decoderStartTokenId)
    }
    /// "rnn-lm".
    public var pluginName: String { "rnn-lm" }
    public var localParameters: [(name: String, tensor: Tensor)] { [("embeddings.weight", embeddings)] }
    public var children: [(name: String, module: any Module)] { [("decoder", decoderStack)] }
    public func configurationJSON() throws -> Data { try configuration.json(plugin: pluginName) }
}
