import Foundation
import Glossa
import GlossaNN

/// The model directory layouts a recipe run writes.
enum ModelLayouts {
    static func copy(_ file: String, to destination: URL) throws {
        try AtomicFile.write(try Data(contentsOf: URL(fileURLWithPath: file)), to: destination)
    }

    /// Marian: the model, `source.spm` and `target.spm`, `vocab.json`.
    static func saveTranslator(_ translator: Translator, tokenizerFile: String, to output: URL) throws {
        try ModelDirectory.save(translator.model, to: output)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: tokenizerFile))
        for name in ["source.spm", "target.spm"] { try AtomicFile.write(bytes, to: output.appendingPathComponent(name)) }
        var vocab: [String: Int] = [:]
        for id in 0..<translator.sourceTokenizer.vocabularySize { vocab[translator.sourceTokenizer.piece(for: id)] = id }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(vocab), to: output.appendingPathComponent("vocab.json"))
    }

    /// Llama: the model and `tokenizer.model`.
    static func saveLanguageModel(_ model: any DecoderOnlyModel, tokenizerFile: String, dtype: WeightType, to output: URL) throws {
        try ModelDirectory.save(model, to: output, dtype: dtype.safetensors)
        try copy(tokenizerFile, to: output.appendingPathComponent("tokenizer.model"))
    }

    /// sentence-transformers: the model (f16), `tokenizer.model`, `modules.json`, `1_Pooling`, `2_Normalize`.
    static func saveEmbedder(_ embedder: Embedder, tokenizerFile: String, maxLength: Int, to output: URL) throws {
        try ModelDirectory.save(embedder.model, to: output, dtype: .f16)
        try copy(tokenizerFile, to: output.appendingPathComponent("tokenizer.model"))
        try FileManager.default.createDirectory(at: output.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: output.appendingPathComponent("2_Normalize"), withIntermediateDirectories: true)
        let files: [String: Any] = [
            "modules.json": [
                ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
                ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
                ["idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"],
            ],
            "1_Pooling/config.json": ["word_embedding_dimension": embedder.model.encoder.hiddenSize, "pooling_mode_mean_tokens": true,
                                      "pooling_mode_cls_token": false, "pooling_mode_max_tokens": false,
                                      "pooling_mode_mean_sqrt_len_tokens": false],
            "sentence_bert_config.json": ["max_seq_length": maxLength, "do_lower_case": false],
        ]
        for (name, object) in files {
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
                                 to: output.appendingPathComponent(name))
        }
    }
}
