import Foundation
import GlossaNN

extension LanguageModel {
    /// Writes the language model as a directory `load` reads back: `config.json` in the plugin's layout (Llama's for
    /// `causal-lm`), its extra files (`generation_config.json`), `model.safetensors` (weights as `dtype`), and the
    /// SentencePiece tokenizer as `tokenizer.model`. The tokenizer is checked before the first file is written.
    public func save(to directory: URL, dtype: SafetensorsDType = .f32) throws {
        let tokenizerData = try tokenizerFiles(tokenizer, named: "tokenizer.model", readable: ["tokenizer.model"], layout: "language-model")
        try ModelDirectory.save(model, to: directory, dtype: dtype)
        try ModelDirectory.write(tokenizerData, to: directory)
    }
}
