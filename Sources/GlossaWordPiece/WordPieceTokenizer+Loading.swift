import Foundation
import Glossa
import GlossaNN

extension WordPieceTokenizer {
    /// The tokenizer of a BERT-family model directory: `vocab.txt`; `do_lower_case`, `strip_accents`,
    /// `tokenize_chinese_chars` and the special pieces from `tokenizer_config.json` when present; the maximum
    /// length from `sentence_bert_config.json` (`max_seq_length`), else `model_max_length`, else 512.
    public init(directory: URL) throws {
        let vocabFile = directory.appendingPathComponent("vocab.txt")
        guard FileManager.default.fileExists(atPath: vocabFile.path) else {
            throw GlossaError.missingFile(vocabFile, purpose: "the WordPiece vocabulary, one piece per line")
        }
        let pieces = try InputFile.lines(vocabFile.path, purpose: "the WordPiece vocabulary", limit: InputFile.tokenizerLimit)
        guard !pieces.isEmpty else { throw GlossaError.invalidConfiguration("\(vocabFile.path) is empty") }

        struct Settings: Decodable {
            var do_lower_case: Bool?
            var strip_accents: Bool?
            var tokenize_chinese_chars: Bool?
            var model_max_length: Double?
            var unk_token: Spelling?, cls_token: Spelling?, sep_token: Spelling?, pad_token: Spelling?, mask_token: Spelling?
        }
        struct SentenceSettings: Decodable { var max_seq_length: Int? }
        let settings = try Self.readOptional(Settings.self, directory.appendingPathComponent("tokenizer_config.json")) ?? Settings()
        let sentence = try Self.readOptional(SentenceSettings.self, directory.appendingPathComponent("sentence_bert_config.json"))
        // transformers writes a huge sentinel (1e30) for "no limit".
        let modelLimit = settings.model_max_length.flatMap { $0 >= 2 && $0 <= 1_000_000 ? Int($0) : nil }
        let maxLength = sentence?.max_seq_length ?? modelLimit ?? 512
        try self.init(
            pieces: pieces,
            basic: BasicTokenizer(lowercase: settings.do_lower_case ?? true, stripAccents: settings.strip_accents,
                                  splitCJK: settings.tokenize_chinese_chars ?? true),
            maxLength: maxLength, unknown: settings.unk_token?.text ?? "[UNK]", classifier: settings.cls_token?.text ?? "[CLS]",
            separator: settings.sep_token?.text ?? "[SEP]", padding: settings.pad_token?.text ?? "[PAD]",
            mask: settings.mask_token?.text ?? "[MASK]")
    }

    /// A JSON file decoded, `nil` when absent; a malformed file is an error naming it.
    static func readOptional<T: Decodable>(_ type: T.Type, _ file: URL) throws -> T? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: try InputFile.read(file.path, purpose: file.lastPathComponent, limit: InputFile.configurationLimit))
        } catch is DecodingError {
            throw GlossaError.invalidConfiguration("\(file.lastPathComponent) could not be read: a field has the wrong type or the JSON is malformed")
        }
    }
}

/// A special token as `tokenizer_config.json` spells it: a string, or an `AddedToken` object with `content`.
struct Spelling: Decodable {
    var text: String

    init(from decoder: any Swift.Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            self.text = text
            return
        }
        struct Added: Decodable { var content: String }
        text = try Added(from: decoder).content
    }
}

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
