import Foundation
import Glossa

/// BERT's WordPiece tokenizer over a `vocab.txt` (one piece per line, the line number is the id): basic
/// tokenisation, then greedy longest-match-first pieces, continuations marked `##` (Wu et al. 2016 as
/// used by BERT; transformers' `BertTokenizer`).
public struct WordPieceTokenizer: Tokenizer {
    /// Piece → id.
    let vocabulary: [String: Int]
    /// Id → piece.
    let pieceTable: [String]
    /// The longest piece, in scalars, so the greedy search never tries longer substrings.
    let longestPiece: Int
    /// Normalisation and word splitting.
    public let basic: BasicTokenizer
    /// Words longer than this (in Unicode scalars) become the unknown piece (`max_input_chars_per_word`).
    public let maxInputCharactersPerWord: Int
    /// The longest sequence `encodeForModel` returns, `[CLS]` and `[SEP]` included.
    public let maxLength: Int
    /// `[UNK]`, `[CLS]`, `[SEP]`, `[PAD]`, `[MASK]` (or the spellings `tokenizer_config.json` gives).
    public let unknownPiece, classifierPiece, separatorPiece, paddingPiece, maskPiece: String
    let unknownId: Int, classifierId: Int, separatorId: Int
    /// Special pieces matched in raw text before normalisation, longest first.
    let specialPieces: [(piece: String, id: Int)]

    /// A tokenizer over `pieces` (id = index).
    public init(
        pieces: [String], basic: BasicTokenizer = BasicTokenizer(), maxLength: Int = 512, maxInputCharactersPerWord: Int = 100,
        unknown: String = "[UNK]", classifier: String = "[CLS]", separator: String = "[SEP]", padding: String = "[PAD]",
        mask: String = "[MASK]"
    ) throws {
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(pieces.count)
        for (id, piece) in pieces.enumerated() { vocabulary[piece] = id }  // a repeated piece keeps its last id, as transformers does
        func require(_ piece: String, _ role: String) throws -> Int {
            guard let id = vocabulary[piece] else {
                throw GlossaError.invalidConfiguration("vocab.txt has no \(role) piece \"\(piece)\"")
            }
            return id
        }
        guard maxLength >= 2 else { throw GlossaError.invalidConfiguration("the maximum length must be at least 2 (for [CLS] and [SEP]), got \(maxLength)") }
        self.vocabulary = vocabulary
        self.pieceTable = pieces
        self.longestPiece = pieces.map { $0.unicodeScalars.count }.max() ?? 1
        self.basic = basic
        self.maxLength = maxLength
        self.maxInputCharactersPerWord = maxInputCharactersPerWord
        (unknownPiece, classifierPiece, separatorPiece, paddingPiece, maskPiece) = (unknown, classifier, separator, padding, mask)
        unknownId = try require(unknown, "unknown")
        classifierId = try require(classifier, "classifier")
        separatorId = try require(separator, "separator")
        specialPieces = [unknown, classifier, separator, padding, mask].compactMap { piece in vocabulary[piece].map { (piece, $0) } }
            .sorted { $0.piece.count > $1.piece.count }
    }

    public var vocabularySize: Int { pieceTable.count }

    /// Pad, unknown, `[CLS]` as beginning and `[SEP]` as end of sequence.
    public var specialTokens: SpecialTokens {
        SpecialTokens(pad: vocabulary[paddingPiece], unk: unknownId, bos: classifierId, eos: separatorId)
    }

    /// The ids of `text` without `[CLS]`/`[SEP]` and without truncation.
    public func encode(_ text: String) throws -> [Int] {
        var ids: [Int] = []
        for (chunk, special) in splitSpecial(text) {
            if let special { ids.append(special); continue }
            for word in basic.words(chunk) { appendPieces(of: word, to: &ids) }
        }
        return ids
    }

    /// `[CLS]` + the ids of `text` + `[SEP]`, the pieces cut so the whole fits `maxLength` (or `limit`, when smaller).
    public func encodeForModel(_ text: String, limit: Int? = nil) throws -> [Int] {
        let budget = Swift.max(Swift.min(maxLength, limit ?? maxLength) - 2, 0)
        return [classifierId] + (try encode(text)).prefix(budget) + [separatorId]
    }

    public func pieces(_ text: String) throws -> [String] { try encode(text).map { piece(for: $0) } }

    /// The pieces joined by spaces with `##` continuations glued on; `[CLS]`, `[SEP]`, `[PAD]` and `[MASK]` dropped.
    public func decode(_ ids: [Int]) throws -> String {
        let dropped = Set([specialTokens.pad, classifierId, separatorId, vocabulary[maskPiece]].compactMap { $0 })
        var text = ""
        for id in ids where !dropped.contains(id) {
            guard id >= 0 && id < pieceTable.count else {
                throw GlossaError.invalidInput("id \(id) is outside the vocabulary of \(pieceTable.count) pieces")
            }
            let piece = pieceTable[id]
            if piece.hasPrefix("##") && !text.isEmpty {
                text += piece.dropFirst(2)
            } else {
                if !text.isEmpty { text += " " }
                text += piece
            }
        }
        return text
    }

    public func piece(for id: Int) -> String { id >= 0 && id < pieceTable.count ? pieceTable[id] : unknownPiece }

    public func id(for piece: String) -> Int? { vocabulary[piece] }

    /// Greedy longest-match-first: a word with any unmatched remainder becomes one unknown piece.
    func appendPieces(of word: [Unicode.Scalar], to ids: inout [Int]) {
        if word.count > maxInputCharactersPerWord { ids.append(unknownId); return }
        let mark = 2  // the "##" prefix, in scalars
        var found: [Int] = []
        var start = 0
        while start < word.count {
            var end = Swift.min(word.count, start + longestPiece - (start > 0 ? mark : 0))
            var match: Int?
            while end > start {
                var candidate = start > 0 ? "##" : ""
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] { match = id; break }
                end -= 1
            }
            guard let match else { ids.append(unknownId); return }
            found.append(match)
            start = end
        }
        ids += found
    }

    /// `text` cut around special pieces written literally (`[SEP]`), which keep their ids as transformers does.
    func splitSpecial(_ text: String) -> [(String, Int?)] {
        guard text.contains("[") else { return [(text, nil)] }
        var parts: [(String, Int?)] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "[") {
            let tail = rest[open...]
            if let hit = specialPieces.first(where: { tail.hasPrefix($0.piece) }) {
                parts.append((String(rest[..<open]), nil))
                parts.append(("", hit.id))
                rest = tail.dropFirst(hit.piece.count)
            } else {
                parts.append((String(rest[...open]), nil))
                rest = rest[rest.index(after: open)...]
            }
        }
        parts.append((String(rest), nil))
        return parts
    }
}
