import Foundation
import GlossaNN

extension Embedder {
    /// Writes the embedder as a sentence-transformers directory, the layout `load` reads back: the encoder's
    /// `config.json`, extra files and `model.safetensors` (weights as `dtype`), the tokenizer's files (SentencePiece
    /// as `tokenizer.model`, WordPiece as `vocab.txt`), and the pipeline (`modules.json`, `1_Pooling/config.json`
    /// with the pooling modes it uses, Normalize only when it normalises, `sentence_bert_config.json` with `maxLength`).
    ///
    /// A model with its own pooler (`PoolingEncoderModel`) is read back pooling with it, so `1_Pooling` then records
    /// mean pooling, what tools without the plugin fall back to. Everything is checked before the first file is written.
    public func save(to directory: URL, dtype: SafetensorsDType = .f32) throws {
        let tokenizerData = try tokenizerFiles(tokenizer, named: "tokenizer.model", readable: ["tokenizer.model", "vocab.txt"],
                                               layout: "sentence-transformers")
        let pipeline = try savedPipeline()
        try ModelDirectory.save(model, to: directory, dtype: dtype)
        // `load` prefers vocab.txt, so one left by an earlier save would shadow a new tokenizer.model.
        try ModelDirectory.write(tokenizerData, to: directory, removing: ["vocab.txt"])
        try pipeline.write(to: directory, embeddingDimension: model.encoder.hiddenSize)
    }

    /// The pipeline that, read back by `load`, pools and normalises as this embedder does.
    func savedPipeline() throws -> SentenceTransformersPipeline {
        let described = SentenceTransformersPipeline(pooler: pooler, normalize: normalize, maxSequenceLength: maxLength)
        guard let own = (model as? any PoolingEncoderModel)?.sentencePooler else {
            guard let described else {
                throw GlossaError.invalidInput(
                    "a sentence-transformers directory cannot describe the pooler \(type(of: pooler)): only the pooling modes "
                        + "(\(PoolingMode.allCases.map(\.rawValue).joined(separator: ", "))), concatenated in sentence-transformers' order, with or without normalisation")
            }
            return described
        }
        // `load` pools with the model's own pooler whatever the files say, so another pooling here would not come back.
        let ownDescribed = SentenceTransformersPipeline(pooler: own, normalize: false)
        if described?.modes != ownDescribed?.modes {
            throw GlossaError.invalidInput(
                "this model brings its own pooler, which Embedder.load uses, so a directory cannot store another pooling (\(type(of: pooler))) for it")
        }
        return SentenceTransformersPipeline(modes: described?.modes ?? [.mean], normalize: described?.normalize ?? normalize, maxSequenceLength: maxLength)
    }
}
