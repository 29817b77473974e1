import Foundation

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

/// A tokenizer that can store itself as files of a model directory, so a model's `save(to:)` writes whatever tokenizer it holds.
///
/// The tokenizer hands back bytes rather than writing them: the layout checks the names against what its loader
/// reads before anything is written, and writes every file atomically in one place.
public protocol PersistableTokenizer: Tokenizer {
    /// The files its loader reads back, by name inside the model directory. `name` is what the layout calls the
    /// tokenizer's own file (`tokenizer.model`, Marian's `source.spm` or `target_vocab.json`); a tokenizer whose
    /// loader reads fixed names (WordPiece's `vocab.txt`) keeps those, and the layout decides whether it can read them.
    func files(named name: String) throws -> [String: Data]
}

/// The files of `tokenizer` for a layout that calls its file `name` and whose loader reads a tokenizer from one of
/// `readable`: a clear error, before anything is written, when the tokenizer cannot be stored or the loader would not find it.
func tokenizerFiles(_ tokenizer: any Tokenizer, named name: String, readable: Set<String>, layout: String) throws -> [String: Data] {
    guard let persistable = tokenizer as? any PersistableTokenizer else {
        throw GlossaError.invalidInput(
            "the \(layout) layout cannot store a \(type(of: tokenizer)): it is not a PersistableTokenizer, so its files are unknown")
    }
    let files = try persistable.files(named: name)
    guard files.keys.contains(where: readable.contains) else {
        throw GlossaError.invalidInput(
            "a \(type(of: tokenizer)) stores itself as \(files.keys.sorted().joined(separator: ", ")), but the \(layout) layout "
                + "reads its tokenizer from \(readable.sorted().joined(separator: " or "))")
    }
    return files
}
