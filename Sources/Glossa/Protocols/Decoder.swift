import GlossaNN
import GlossaTensor

/// Per-batch decoding state, such as key/value caches, owned by the decoder that made it.
/// Search loops only reorder it; what it holds is the decoder's business.
public protocol DecoderState: AnyObject {
    /// The number of positions already consumed.
    var length: Int { get }
    /// Keeps batch rows `rows` in that order (beam search reorders and prunes hypotheses).
    func select(rows: [Int])
    /// Keeps rows `rows` of what depends on the generated tokens, and rows `memoryRows` of what depends
    /// only on the source (cross-attention caches). The two differ when beam search moves hypotheses
    /// within a sentence, whose rows share one source: then `memoryRows` is the identity and nothing
    /// source-side needs copying.
    func select(rows: [Int], memoryRows: [Int])
    /// Appends the rows of `other`, a state of the same decoder whose rows may sit at other positions, after these
    /// rows: how a continuous batch takes in sequences that start while others are decoding (`DecodingBatch`). Each
    /// row then goes on at its own position and attends only to what it holds itself.
    func append(rowsOf other: any DecoderState) throws
    /// Whether the state holds all it needs of the encoder's states once it has decoded a step (its cross-attention
    /// keys and values), so that later steps read only the memory's mask.
    var holdsMemory: Bool { get }
}

extension DecoderState {
    /// Treats everything as depending on the generated tokens.
    public func select(rows: [Int], memoryRows: [Int]) { select(rows: rows) }

    /// Reads the encoder's states at every step.
    public var holdsMemory: Bool { false }

    /// A state that cannot take rows in: decoders without it decode only batches that start together.
    public func append(rowsOf other: any DecoderState) throws {
        throw GlossaError.invalidInput("this decoder's state (\(type(of: self))) cannot take in rows of another, so it cannot be batched continuously")
    }
}

/// Turns previous tokens (plus, for a translator, the encoder's memory) into next-token logits.
///
/// Training calls it once on the whole target prefix with `state == nil` (causal masking inside);
/// decoding makes a state with `makeState` and feeds one new position per call, so the prefix is
/// never recomputed. Both paths must give the same logits.
public protocol Decoder: Module {
    /// The number of logits per position.
    var vocabularySize: Int { get }
    /// The longest sequence the decoder accepts; `nil` when unbounded.
    var maxLength: Int? { get }
    /// A fresh state (empty caches) for incremental decoding.
    func makeState() -> any DecoderState
    /// `[B, T]` new tokens → `[B, T, V]` logits. With a state, the tokens continue what it holds
    /// (and are appended to it); without, they start at position 0.
    func decode(_ tokens: TokenBatch, memory: EncoderMemory?, state: (any DecoderState)?, context: ForwardContext) throws -> Tensor
}

/// A decoder that also gives its final hidden states (after the last block and norm, before the output projection):
/// what a reward model's scalar head reads at a response's last position.
public protocol HiddenStateDecoder: Decoder {
    /// The width C of the hidden states.
    var hiddenSize: Int { get }
    /// `[B, T]` tokens from position 0 → `[B, T, C]` final hidden states (causal masking inside).
    func hiddenStates(_ tokens: TokenBatch, context: ForwardContext) throws -> Tensor
}
