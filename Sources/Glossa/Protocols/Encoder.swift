import GlossaNN
import GlossaTensor

/// Reads a batch of token ids and gives one hidden vector per position.
///
/// To write one: keep parameters in a `Module` tree named as in your checkpoint, make the output
/// of each real position independent of padding (mask padded keys in attention), and use
/// `context` for anything random (dropout) so that runs repeat under a seed.
public protocol Encoder: Module {
    /// The width C of the hidden states.
    var hiddenSize: Int { get }
    /// The longest sequence the encoder accepts (position table size); `nil` when unbounded.
    var maxLength: Int? { get }
    /// The number of token ids it has embeddings for; `nil` when it reads any id.
    var vocabularySize: Int? { get }
    /// `[B, T]` ids (with padding mask) → `[B, T, C]` hidden states.
    func encode(_ batch: TokenBatch, context: ForwardContext) throws -> Tensor
}

extension Encoder {
    /// No limit by default.
    public var vocabularySize: Int? { nil }
}

/// Refuses a tokenizer that can produce ids past a model's embedding table (they would index out of it);
/// `role` names the tokenizer in the message ("source", "target", "embedder").
public func checkTokenizer(_ tokenizer: any Tokenizer, fits rows: Int?, role: String) throws {
    guard let rows, tokenizer.vocabularySize > rows else { return }
    throw GlossaError.invalidConfiguration(
        "the \(role) tokenizer has \(tokenizer.vocabularySize) pieces but the model's vocabulary has only \(rows)")
}

/// What a decoder attends to: the encoder's states and which of them are padding.
public struct EncoderMemory {
    /// `[B, S, C]`.
    public var states: Tensor
    /// Additive mask `[B, 1, 1, S]` over the encoder positions.
    public var mask: Tensor

    /// Memory from an encoder output and its source batch.
    public init(states: Tensor, source: TokenBatch) {
        self.states = states
        self.mask = source.attentionMask
    }

    /// Memory from states and an additive mask.
    public init(states: Tensor, mask: Tensor) {
        self.states = states
        self.mask = mask
    }

    /// Keeps batch rows `rows` (repeats them for beams, drops finished sentences).
    public func selecting(rows: [Int]) -> EncoderMemory {
        EncoderMemory(states: states.indexSelect(axis: 0, rows), mask: mask.indexSelect(axis: 0, rows))
    }

    /// The source positions S (of the mask, which outlives the states: see `maskOnly`).
    public var sourceLength: Int { mask.shape[3] }

    /// The mask alone (states `[B, 0, C]`), for a decoder state that holds what it needs of the states
    /// (`DecoderState.holdsMemory`): the running batch then moves only the mask when rows join and leave.
    public var maskOnly: EncoderMemory {
        states.shape[1] == 0 ? self : EncoderMemory(states: Tensor.zeros([states.shape[0], 0, states.shape[2]]), mask: mask)
    }
}
