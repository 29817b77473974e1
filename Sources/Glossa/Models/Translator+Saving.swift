import Foundation
import GlossaNN

extension Translator {
    /// Writes the translator as a Marian directory, the layout `load` reads back: `config.json`, the model's extra
    /// files (`generation_config.json`) and `model.safetensors` (weights as `dtype`); each side's SentencePiece model
    /// as `source.spm` / `target.spm`; the source vocabulary as `vocab.json` and, when the target's differs (OPUS-MT's
    /// separate vocabularies), the target's as `target_vocab.json`. Everything is checked before the first file is written.
    ///
    /// `generationConfig` is not written: `generation_config.json` is the model's own, as training writes it.
    public func save(to directory: URL, dtype: SafetensorsDType = .f32) throws {
        let source = try Self.marianSide(sourceTokenizer), target = try Self.marianSide(targetTokenizer)
        var files = try tokenizerFiles(source.base, named: "source.spm", readable: ["source.spm"], layout: "Marian")
        files.merge(try tokenizerFiles(target.base, named: "target.spm", readable: ["target.spm"], layout: "Marian")) { $1 }
        files.merge(try source.files(named: "vocab.json")) { $1 }
        let separate = source.vocabulary != target.vocabulary
        if separate { files.merge(try target.files(named: "target_vocab.json")) { $1 } }
        try ModelDirectory.save(model, to: directory, dtype: dtype)
        // The target side reads target_vocab.json before vocab.json, so one left by an earlier save would win.
        try ModelDirectory.write(files, to: directory, removing: ["target_vocab.json"])
    }

    /// One side as a Marian directory stores it: pieces from a SentencePiece model and a piece → id vocabulary.
    /// A tokenizer with no vocabulary of its own gets its own ids, which is what loading the saved side gives back.
    static func marianSide(_ tokenizer: any Tokenizer) throws -> VocabularyTokenizer {
        if let side = tokenizer as? VocabularyTokenizer { return side }
        return try VocabularyTokenizer(base: tokenizer)
    }
}
