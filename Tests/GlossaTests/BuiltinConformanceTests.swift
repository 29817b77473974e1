import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor
import GlossaTestSupport

/// The conformance kit of GlossaTestSupport over every built-in plugin, built through the registry as a
/// third party's would be: translators, encoders, poolers, samplers and tokenizers.
@Suite struct BuiltinConformanceTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let marian = fixtures.appendingPathComponent("Fixtures/marian-tiny")
    static let bert = fixtures.appendingPathComponent("Fixtures/bert-tiny")
    static let sentencePiece = fixtures.appendingPathComponent("GlossaSentencePieceTests/Fixtures")

    static let texts = ["Open the file.", "This function is not available.", "Klicken Sie auf OK.", "a", ""]

    @Test func marianTranslator() throws {
        let translator = try Translator.load(Self.marian, registry: builtinPlugins)
        let plugin = try builtinPlugins.plugin(named: "marian")
        let eos = translator.model.specialIds.eos
        let sources = try Self.texts.prefix(3).map { try translator.sourceTokenizer.encode($0) + [eos] }
        let targets = try ["Öffnen Sie die Datei.", "Nicht verfügbar.", "OK"].map { [translator.model.specialIds.decoderStart] + (try translator.targetTokenizer.encode($0)) }
        try checkEncoderDecoderModelConformance(translator.model, plugin: plugin, sources: sources, targets: targets)
        try checkTokenizerConformance(translator.sourceTokenizer, texts: Self.texts)
    }

    @Test func bertEncoder() throws {
        let embedder = try Embedder.load(Self.bert, registry: builtinPlugins)
        let ids = try Self.texts.map { try embedder.tokenize($0) }
        try checkEncoderModelConformance(embedder.model, plugin: try builtinPlugins.plugin(named: "bert"), ids: ids, padId: 0,
                                         tolerance: 1e-4, noGradient: ["pooler."])
    }

    @Test func wordPieceTokenizer() throws {
        guard case .tokenizer(let make) = try builtinPlugins.plugin(named: "wordpiece").factory else {
            Issue.record("wordpiece is not a tokenizer plugin")
            return
        }
        let tokenizer = try make(PluginConfiguration(json: Data("{}".utf8), directory: Self.bert))
        // BERT's uncased WordPiece lower-cases and detaches punctuation, and decodes accordingly.
        try checkTokenizerConformance(tokenizer, texts: Self.texts, expected: nil)
        #expect(try tokenizer.decode(tokenizer.encode("open the file")) == "open the file")
    }

    @Test func sentencePieceTokenizer() throws {
        guard case .tokenizer(let make) = try builtinPlugins.plugin(named: "sentencepiece").factory else {
            Issue.record("sentencepiece is not a tokenizer plugin")
            return
        }
        let tokenizer = try make(PluginConfiguration(json: Data(#"{"model_file": "tiny.model"}"#.utf8), directory: Self.sentencePiece))
        try checkTokenizerConformance(tokenizer, texts: Self.texts)
    }

    @Test func poolers() throws {
        let poolers = builtinPlugins.plugins.filter { $0.factory.kind == "pooler" }
        #expect(poolers.count >= 6)
        for plugin in poolers {
            guard case .pooler(let make) = plugin.factory else { continue }
            checkPoolerConformance(try make(PluginConfiguration(json: Data("{}".utf8))))
            checkPoolerConformance(try make(PluginConfiguration(json: Data(#"{"normalize": true}"#.utf8))))
        }
    }

    @Test func samplers() throws {
        let settings = ["greedy": "{}", "beam": #"{"beam_size": 3}"#, "sampling": #"{"temperature": 0.8, "top_k": 5, "top_p": 0.9, "seed": 4}"#]
        let samplers = builtinPlugins.plugins.filter { $0.factory.kind == "sampler" }
        #expect(Set(samplers.map(\.name)) == Set(settings.keys))
        for plugin in samplers {
            guard case .sampler(let make) = plugin.factory else { continue }
            let json = Data((settings[plugin.name] ?? "{}").utf8)
            let first = try make(PluginConfiguration(json: json))
            #expect(first.width >= 1)
            checkSamplerConformance { (try? make(PluginConfiguration(json: json))) ?? GreedySampler() }
        }
    }
}
