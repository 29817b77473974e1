import Glossa

/// Letters a…r as ids 1…18 (0 = EOS and start, 19 = pad): a tokenizer small enough for tiny language models whose
/// outputs tests and rewards read as text.
public struct LetterTokenizer: Tokenizer {
    let letters = Array("abcdefghijklmnopqr")
    /// The tokenizer.
    public init() {}
    public var vocabularySize: Int { 20 }
    public var specialTokens: SpecialTokens { SpecialTokens(pad: 19, eos: 0) }
    public func encode(_ text: String) throws -> [Int] { text.compactMap { c in letters.firstIndex(of: c).map { $0 + 1 } } }
    public func pieces(_ text: String) throws -> [String] { try encode(text).map { piece(for: $0) } }
    public func decode(_ ids: [Int]) throws -> String { String(ids.compactMap { (1...18).contains($0) ? letters[$0 - 1] : nil }) }
    public func piece(for id: Int) -> String { (1...18).contains(id) ? String(letters[id - 1]) : "<\(id)>" }
    public func id(for piece: String) -> Int? { piece.count == 1 ? piece.first.flatMap { letters.firstIndex(of: $0) }.map { $0 + 1 } : nil }
}
