import Foundation
import GlossaNN
import GlossaTensor

/// The ids an encoder-decoder or decoder-only network needs besides its weights.
public struct SequenceSpecialIds: Sendable, Equatable, Codable {
    /// End of sequence.
    public var eos: Int
    /// Padding.
    public var pad: Int
    /// The first token fed to the decoder (Marian uses the pad id).
    public var decoderStart: Int

    /// Special ids.
    public init(eos: Int, pad: Int, decoderStart: Int) {
        self.eos = eos
        self.pad = pad
        self.decoderStart = decoderStart
    }
}

/// A network a plugin provides that can write itself as a model directory (`config.json` and
/// `model.safetensors`), in its reference layout, so the Python tools open it too.
public protocol SavableModel: Module {
    /// The plugin name written to `config.json`.
    var pluginName: String { get }
    /// The `config.json` contents.
    func configurationJSON() throws -> Data
    /// Reads weights saved in this layout (tied names and buffers may be optional).
    func loadCheckpoint(_ tensors: [String: Tensor]) throws
    /// Called after each optimizer step (Marian keeps its pad embedding at zero here).
    func didUpdateParameters()
    /// Extra files the layout wants (such as `generation_config.json`), by file name.
    func extraFiles() throws -> [String: Data]
    /// The parameters as saved, by checkpoint name (tied weights may appear under several names).
    func checkpointTensors() -> [String: Tensor]
    /// Prepares the matrix products inference runs in `computeType`, from the weights as they are now (a model that
    /// trains on afterwards must not be prepared: its products would keep the old weights).
    func prepareInference(_ computeType: ComputeType) throws
}

extension SavableModel {
    /// Loads the parameter tree strictly by default.
    public func loadCheckpoint(_ tensors: [String: Tensor]) throws { try load(tensors, strict: true) }
    /// Nothing to do by default.
    public func didUpdateParameters() {}
    /// No extra files by default.
    public func extraFiles() throws -> [String: Data] { [:] }
    /// The parameter tree as it is by default.
    public func checkpointTensors() -> [String: Tensor] { stateDictionary() }
    /// Every `Linear` layer by default; a plugin with other large products (a tied output projection) adds them.
    public func prepareInference(_ computeType: ComputeType) throws { try prepareLinearLayers(for: computeType) }
}

/// An encoder-decoder network (a translator's weights).
public protocol EncoderDecoderModel: SavableModel {
    /// Reads the source.
    var encoder: any Encoder { get }
    /// Writes the target.
    var decoder: any Decoder { get }
    /// EOS, pad, and decoder-start ids.
    var specialIds: SequenceSpecialIds { get }
}

/// A decoder-only network (a language model's weights).
public protocol DecoderOnlyModel: SavableModel {
    /// The causal decoder.
    var decoder: any Decoder { get }
    /// EOS, pad, and start ids.
    var specialIds: SequenceSpecialIds { get }
}

/// An encoder network (an embedder's weights, before pooling).
public protocol EncoderModel: SavableModel {
    /// The bidirectional encoder.
    var encoder: any Encoder { get }
}
