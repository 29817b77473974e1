/// Turns text into token ids and back. Every model in Glossa reads text through one of these.
///
/// Implementations must be deterministic for `encode` (sampling belongs to `encode(_:sampling:)` of
/// implementations that support subword regularisation) and safe to call from several threads.
public protocol Tokenizer: Sendable {
    /// The number of ids this tokenizer can produce; every id is in `0..<vocabularySize`.
    var vocabularySize: Int { get }
    /// Special ids; `nil` when the vocabulary has no such token.
    var specialTokens: SpecialTokens { get }
    /// The ids of one line of text (no BOS/EOS added; models add what they need).
    func encode(_ text: String) throws -> [Int]
    /// The pieces (subword strings) of one line, aligned with `encode`.
    func pieces(_ text: String) throws -> [String]
    /// The text of a sequence of ids; special ids are dropped.
    func decode(_ ids: [Int]) throws -> String
    /// The piece for one id.
    func piece(for id: Int) -> String
    /// The id of a piece, or `nil` if the vocabulary lacks it.
    func id(for piece: String) -> Int?
    /// Encodes many lines, keeping their order; a requirement so calls through `any Tokenizer` reach a parallel
    /// implementation. The default encodes one line after another.
    func encodeBatch(_ texts: [String]) throws -> [[Int]]
}

/// The ids a tokenizer reserves for padding, unknown text, and sequence boundaries.
public struct SpecialTokens: Sendable, Equatable, Codable {
    /// Padding id.
    public var pad: Int?
    /// Unknown-piece id.
    public var unk: Int?
    /// Beginning-of-sequence id.
    public var bos: Int?
    /// End-of-sequence id.
    public var eos: Int?

    /// Makes a set of special ids.
    public init(pad: Int? = nil, unk: Int? = nil, bos: Int? = nil, eos: Int? = nil) {
        self.pad = pad
        self.unk = unk
        self.bos = bos
        self.eos = eos
    }
}

extension Tokenizer {
    /// Encodes many lines, keeping their order.
    public func encodeBatch(_ texts: [String]) throws -> [[Int]] {
        try texts.map { try encode($0) }
    }
}
