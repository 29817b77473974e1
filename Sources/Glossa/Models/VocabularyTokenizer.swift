import Foundation

/// A tokenizer whose pieces come from another tokenizer but whose ids come from a `vocab.json`
/// (piece → id), as in Marian directories, where the model's ids need not be SentencePiece's.
public struct VocabularyTokenizer: Tokenizer {
    /// The tokenizer that cuts text into pieces.
    public let base: any Tokenizer
    private let ids: [String: Int]
    private let pieceList: [String]
    public let specialTokens: SpecialTokens

    /// The largest id a vocabulary may use (far above any real one; bounds what a corrupt file can allocate).
    public static let maximumId = 1 << 24

    /// Wraps `base` with the vocabulary in `vocabJSON`; `unk`, `eos` and `pad` are looked up by
    /// their Marian spellings.
    public init(base: any Tokenizer, vocabJSON: Data) throws {
        guard let object = try? JSONSerialization.jsonObject(with: vocabJSON) as? [String: Any] else {
            throw GlossaError.invalidConfiguration("vocab.json is not a JSON object of piece → id")
        }
        var ids: [String: Int] = [:]
        for (piece, value) in object {
            guard let id = value as? Int, id >= 0, id <= Self.maximumId else {
                throw GlossaError.invalidConfiguration(
                    "vocab.json maps \"\(piece)\" to something that is not an integer in 0...\(Self.maximumId)")
            }
            ids[piece] = id
        }
        try self.init(base: base, vocabulary: ids)
    }

    /// Wraps `base` with `base`'s own ids as the vocabulary: what a Marian directory written from a plain
    /// SentencePiece model holds, so it reads back with the same ids.
    public init(base: any Tokenizer) throws {
        var ids: [String: Int] = [:]
        for id in 0..<base.vocabularySize { ids[base.piece(for: id)] = id }
        try self.init(base: base, vocabulary: ids)
    }

    /// Wraps `base` with the vocabulary `ids` (piece → id).
    public init(base: any Tokenizer, vocabulary ids: [String: Int]) throws {
        guard !ids.isEmpty else { throw GlossaError.invalidConfiguration("vocab.json is empty; it should map every piece to its id") }
        if let bad = ids.first(where: { $0.value < 0 || $0.value > Self.maximumId }) {
            throw GlossaError.invalidConfiguration("vocab.json maps \"\(bad.key)\" to \(bad.value), outside 0...\(Self.maximumId)")
        }
        let size = (ids.values.max() ?? -1) + 1
        var list = [String?](repeating: nil, count: size)
        for (piece, id) in ids.sorted(by: { $0.key < $1.key }) {
            if let other = list[id] {
                throw GlossaError.invalidConfiguration("vocab.json gives \"\(other)\" and \"\(piece)\" the same id \(id)")
            }
            list[id] = piece
        }
        guard ids["</s>"] != nil else { throw GlossaError.invalidConfiguration("vocab.json has no </s> piece, so no translation could end") }
        self.base = base
        self.ids = ids
        self.pieceList = list.map { $0 ?? "" }
        self.specialTokens = SpecialTokens(pad: ids["<pad>"], unk: ids["<unk>"], bos: ids["<s>"], eos: ids["</s>"])
    }

    /// Piece → id, as `vocab.json` holds it.
    public var vocabulary: [String: Int] { ids }

    public var vocabularySize: Int { pieceList.count }

    public func pieces(_ text: String) throws -> [String] { try base.pieces(text) }

    public func encode(_ text: String) throws -> [Int] {
        let unknown = specialTokens.unk ?? 0
        return try base.pieces(text).map { ids[$0] ?? unknown }
    }

    /// The text of `ids` with every special token left out (`<unk>` too), as transformers'
    /// `decode(skip_special_tokens=True)` gives it.
    public func decode(_ ids: [Int]) throws -> String {
        let special = Set([specialTokens.pad, specialTokens.eos, specialTokens.bos, specialTokens.unk].compactMap { $0 })
        let text = ids.filter { !special.contains($0) && $0 >= 0 && $0 < pieceList.count }.map { pieceList[$0] }.joined()
        return text.replacingOccurrences(of: "\u{2581}", with: " ").trimmingCharacters(in: .whitespaces)
    }

    public func piece(for id: Int) -> String { id >= 0 && id < pieceList.count ? pieceList[id] : "" }

    public func id(for piece: String) -> Int? { ids[piece] }
}

extension VocabularyTokenizer: PersistableTokenizer {
    /// The vocabulary as `name` (`vocab.json`, or `target_vocab.json` for a separate target side), encoded as
    /// Glossa has always written it. The pieces' tokenizer (`base`) is stored by the layout under its own name.
    public func files(named name: String) throws -> [String: Data] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return [name: try encoder.encode(ids)]
    }
}
