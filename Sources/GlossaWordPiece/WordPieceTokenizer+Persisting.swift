import Foundation
import Glossa

extension WordPieceTokenizer: PersistableTokenizer {
    /// `vocab.txt` (one piece per line) and `tokenizer_config.json` with the settings `init(directory:)` reads, whatever
    /// `name` the layout asks for: BERT directories always use these names. A model's maximum length is the layout's
    /// (`sentence_bert_config.json`), so it is stored here only as transformers' `model_max_length`.
    public func files(named name: String) throws -> [String: Data] {
        if let bad = pieceTable.first(where: { $0.contains("\n") || $0.hasSuffix("\r") }) {
            throw GlossaError.invalidInput("the WordPiece piece \(bad.debugDescription) cannot be stored in vocab.txt, one piece per line")
        }
        // The loader has no setting for it, so another value would silently come back as the default.
        guard maxInputCharactersPerWord == 100 else {
            throw GlossaError.invalidInput(
                "vocab.txt and tokenizer_config.json cannot store max_input_chars_per_word \(maxInputCharactersPerWord) (only the default 100)")
        }
        let settings: [String: Any] = [
            "tokenizer_class": "BertTokenizer", "do_lower_case": basic.lowercase, "strip_accents": basic.stripAccents.map { $0 as Any } ?? NSNull(),
            "tokenize_chinese_chars": basic.splitCJK, "model_max_length": maxLength, "unk_token": unknownPiece, "cls_token": classifierPiece,
            "sep_token": separatorPiece, "pad_token": paddingPiece, "mask_token": maskPiece,
        ]
        return [
            "vocab.txt": Data(pieceTable.map { $0 + "\n" }.joined().utf8),
            "tokenizer_config.json": try JSONSerialization.data(withJSONObject: settings, options: [.prettyPrinted, .sortedKeys]),
        ]
    }
}
