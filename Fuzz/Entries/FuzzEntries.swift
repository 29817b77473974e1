import Foundation
import Glossa
import GlossaBERT
import GlossaBuiltins
import GlossaCausalLM
import GlossaMarian
import GlossaNN
import GlossaRNN
import GlossaSentencePiece
import GlossaWordPiece

/// The bodies of the libFuzzer targets (`make fuzz`), in a library so the unit tests can replay every committed
/// input (`Fuzz/Corpus`, `Fuzz/Regressions`) through exactly the same code. Each entry feeds arbitrary bytes to one
/// parser; a thrown error is the right answer to bad bytes, a trap, hang or runaway allocation is a finding.
public enum FuzzEntries {
    /// The targets by name, as `make fuzz` and the regression test know them.
    public static let all: [String: @Sendable (Data) -> Void] = [
        "safetensors-header": safetensorsHeader,
        "plugin-configuration": pluginConfiguration,
        "recipe": recipe,
        "vocab-json": vocabularyJSON,
        "vocab-txt": vocabularyText,
        "sentencepiece-model": sentencePieceModel,
    ]

    /// `Safetensors.read(data:)`, then every tensor decoded.
    @Sendable public static func safetensorsHeader(_ data: Data) {
        guard let file = try? Safetensors.read(data: data) else { return }
        for name in file.names { _ = try? file.tensor(named: name) }
    }

    /// Every built-in plugin's configuration decoding (with its size check) and `generation_config.json`. The first
    /// byte picks the plugin; the rest is the JSON. Network plugins are decoded only, never built: a configuration
    /// that passes may still describe a model of many gigabytes.
    @Sendable public static func pluginConfiguration(_ data: Data) {
        guard let selector = data.first else { return }
        let configuration = PluginConfiguration(json: data.dropFirst())
        switch selector % 7 {
        case 0: _ = try? configuration.decode(MarianConfiguration.self)
        case 1: _ = try? configuration.decode(CausalLMConfiguration.self)
        case 2: _ = try? configuration.decode(BertConfiguration.self)
        case 3: _ = try? configuration.decode(RNNConfiguration.self)
        case 4:
            if let config = try? JSONDecoder().decode(GenerationConfig.self, from: configuration.json) { _ = try? config.validate() }
        default:
            // Poolers and samplers are cheap to build: run their factories.
            let small = builtinPlugins.plugins.filter {
                switch $0.factory { case .pooler, .sampler: return true; default: return false }
            }
            guard !small.isEmpty else { return }
            let plugin = small[Int(selector) % small.count]
            switch plugin.factory {
            case .pooler(let make): _ = try? make(configuration)
            case .sampler(let make): _ = try? make(configuration)
            default: break
            }
        }
    }

    /// `Recipe` decoding and validation, and the GRPO block's.
    @Sendable public static func recipe(_ data: Data) {
        if let recipe = try? JSONDecoder().decode(Recipe.self, from: data) { _ = try? recipe.validate() }
        if let settings = try? JSONDecoder().decode(GRPOSettings.self, from: data) { _ = try? settings.validate() }
    }

    /// A Marian `vocab.json` over a character tokenizer, then a round trip through it.
    @Sendable public static func vocabularyJSON(_ data: Data) {
        guard let tokenizer = try? VocabularyTokenizer(base: CharacterTokenizer(), vocabJSON: data) else { return }
        if let ids = try? tokenizer.encode("Hallo Welt </s>") { _ = try? tokenizer.decode(ids + [-1, Int.max, tokenizer.vocabularySize]) }
        _ = tokenizer.piece(for: tokenizer.vocabularySize - 1)
    }

    /// A WordPiece `vocab.txt` (written to a scratch folder, as the loader reads a directory), then text through it.
    @Sendable public static func vocabularyText(_ data: Data) {
        let folder = scratchFolder
        guard (try? data.write(to: folder.appendingPathComponent("vocab.txt"))) != nil,
              let tokenizer = try? WordPieceTokenizer(directory: folder) else { return }
        if let ids = try? tokenizer.encode("Hello, WORLD! naïve 東京 unaffable") { _ = try? tokenizer.decode(ids) }
    }

    /// A SentencePiece model from bytes (the shim's `csp_processor_load_bytes`), then text through it.
    @Sendable public static func sentencePieceModel(_ data: Data) {
        guard let tokenizer = try? SentencePieceTokenizer(modelData: data, source: "fuzz input") else { return }
        if let ids = try? tokenizer.encode("Hello world, ▁ <unk> </s> 東京") {
            _ = try? tokenizer.decode(ids)
            _ = try? tokenizer.pieces("Hello world")
        }
        _ = try? tokenizer.decode([-1, tokenizer.vocabularySize, Int(Int32.max), Int.max])
    }

    private static let scratchFolder: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }()
}

/// One piece per character, so `vocab.json` decides every id.
struct CharacterTokenizer: Tokenizer {
    var vocabularySize: Int { 0 }
    var specialTokens: SpecialTokens { SpecialTokens(pad: nil, unk: nil, bos: nil, eos: nil) }
    func encode(_ text: String) throws -> [Int] { [] }
    func pieces(_ text: String) throws -> [String] { text.split(separator: " ").map(String.init) }
    func decode(_ ids: [Int]) throws -> String { "" }
    func piece(for id: Int) -> String { "" }
    func id(for piece: String) -> Int? { nil }
}
