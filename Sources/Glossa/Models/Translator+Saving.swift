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
        var files: [String: Data] = [:]
        func side(_ tokenizer: any Tokenizer, model name: String) throws -> VocabularyTokenizer {
            let vocabulary = tokenizer as? VocabularyTokenizer
            // The pieces' tokenizer first, so one that cannot be stored is named as such.
            let base = vocabulary?.base ?? tokenizer
            files.merge(try tokenizerFiles(base, named: name, readable: [name], layout: "Marian")) { $1 }
            // A tokenizer with no vocabulary of its own gets its own ids, which is what loading the saved side gives back.
            return try vocabulary ?? VocabularyTokenizer(base: base)
        }
        let source = try side(sourceTokenizer, model: "source.spm"), target = try side(targetTokenizer, model: "target.spm")
        files.merge(try source.files(named: "vocab.json")) { $1 }
        let separate = source.vocabulary != target.vocabulary
        if separate { files.merge(try target.files(named: "target_vocab.json")) { $1 } }
        try ModelDirectory.save(model, to: directory, dtype: dtype)
        // The target side reads target_vocab.json before vocab.json, so one left by an earlier save would win.
        try ModelDirectory.write(files, to: directory, removing: ["target_vocab.json"])
    }
}
