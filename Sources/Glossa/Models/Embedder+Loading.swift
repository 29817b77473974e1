import Foundation
import GlossaNN

extension Embedder {
    /// Loads an embedder from a model directory: a sentence-transformers directory as published
    /// (`modules.json`, `1_Pooling/config.json`, `Normalize`, `sentence_bert_config.json`), or a plain encoder
    /// directory (mean pooling, no normalisation). The encoder comes from the plugin `config.json` names; the
    /// tokenizer is the `wordpiece` plugin when there is a `vocab.txt`, else `sentencepiece`.
    /// `pooling` and `normalize` override what the directory says.
    public static func load(_ directory: URL, registry: PluginRegistry, pooling: PoolingMode? = nil, normalize: Bool? = nil) throws -> Embedder {
        let pipeline = try SentenceTransformersPipeline.read(directory)
        let modelURL = pipeline.map { directory.appendingPathComponent($0.transformerPath) } ?? directory
        let modelDirectory = ModelDirectory(modelURL)
        let plugin = try modelDirectory.plugin(in: registry)
        guard case .encoder(let make) = plugin.factory else {
            throw GlossaError.wrongPluginKind(plugin.name, expected: "encoder", found: plugin.factory.kind)
        }
        let model = try make(try modelDirectory.pluginConfiguration())
        try model.loadCheckpoint(try modelDirectory.weights())
        let tokenizer = try loadTokenizer(modelURL, registry: registry)
        try checkTokenizer(tokenizer, fits: model.encoder.vocabularySize, role: "embedder")
        let modes = pooling.map { [$0] } ?? pipeline?.modes ?? [.mean]
        return Embedder(model: model, tokenizer: tokenizer, pooler: ConcatenatedPooler(modes.map(\.pooler)),
                        normalize: normalize ?? pipeline?.normalize ?? false, maxLength: pipeline?.maxSequenceLength ?? 512)
    }

    /// The tokenizer plugin for the files in `directory`.
    static func loadTokenizer(_ directory: URL, registry: PluginRegistry) throws -> any Tokenizer {
        let files = FileManager.default
        let name: String
        if files.fileExists(atPath: directory.appendingPathComponent("vocab.txt").path) {
            name = "wordpiece"
        } else if files.fileExists(atPath: directory.appendingPathComponent("tokenizer.model").path) {
            name = "sentencepiece"
        } else {
            throw GlossaError.missingFile(directory.appendingPathComponent("vocab.txt"),
                                          purpose: "an embedder needs a tokenizer: vocab.txt (WordPiece) or tokenizer.model (SentencePiece)")
        }
        let plugin = try registry.plugin(named: name)
        guard case .tokenizer(let make) = plugin.factory else {
            throw GlossaError.wrongPluginKind(plugin.name, expected: "tokenizer", found: plugin.factory.kind)
        }
        return try make(PluginConfiguration(json: Data("{}".utf8), directory: directory))
    }
}
