import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaSentencePiece
import GlossaTensor
import GlossaTestSupport

/// `save(to:)` of translators, embedders and language models: each writes the layout its loader reads, and a
/// saved model loaded again gives the same outputs.
@Suite struct ModelSavingTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static func fixture(_ name: String) -> URL { tests.appendingPathComponent("Fixtures/\(name)") }
    static let tinySentencePiece = tests.appendingPathComponent("GlossaSentencePieceTests/Fixtures/tiny.model")
    static let texts = ["Open the file.", "This function is not available.", "Klicken Sie auf OK.", "a", ""]

    /// A fresh folder that does not exist yet, removed after `body`.
    static func scratch<T>(_ body: (URL) throws -> T) throws -> T {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-save-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        return try body(folder)
    }

    /// The files below `folder` (folders end in `/`), relative to it.
    static func files(_ folder: URL) throws -> Set<String> {
        let names = try FileManager.default.subpathsOfDirectory(atPath: folder.path)
        return Set(names.map { name in
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path, isDirectory: &isDirectory)
            return isDirectory.boolValue ? name + "/" : name
        })
    }

    static func vocabulary(_ file: URL) throws -> [String: Int] {
        try JSONDecoder().decode([String: Int].self, from: Data(contentsOf: file))
    }

    static func translations(_ translator: Translator) throws -> [[GeneratedText]] {
        try translator.translate(texts, search: SearchSettings(beamSize: 2, maxNewTokens: 12), nBest: 2)
    }

    static let marianFiles: Set<String> = ["config.json", "generation_config.json", "model.safetensors", "source.spm", "target.spm", "vocab.json"]

    @Test(arguments: ["marian-tiny", "opus-shuffled", "opus-separate"]) func translatorRoundTrips(name: String) throws {
        let original = try Translator.load(Self.fixture(name), registry: builtinPlugins)
        let separate = name == "opus-separate"
        try Self.scratch { folder in
            try original.save(to: folder)
            #expect(try Self.files(folder) == Self.marianFiles.union(separate ? ["target_vocab.json"] : []))
            for file in ["source.spm", "target.spm", "vocab.json"] + (separate ? ["target_vocab.json"] : []) {
                let written = folder.appendingPathComponent(file), stored = Self.fixture(name).appendingPathComponent(file)
                if file.hasSuffix(".json") {
                    #expect(try Self.vocabulary(written) == Self.vocabulary(stored), "\(file)")
                } else {
                    #expect(try Data(contentsOf: written) == Data(contentsOf: stored), "\(file)")
                }
            }
            let loaded = try Translator.load(folder, registry: builtinPlugins)
            #expect(try Self.translations(loaded) == Self.translations(original))
            for text in Self.texts {
                #expect(try loaded.sourceTokenizer.encode(text) == original.sourceTokenizer.encode(text))
            }
            #expect(loaded.model.checkpointTensors().mapValues(\.scalars) == original.model.checkpointTensors().mapValues(\.scalars))
        }
    }

    /// What training builds: one plain SentencePiece tokenizer for both sides, stored with its own ids as vocab.json.
    @Test func translatorWithPlainSentencePieceRoundTrips() throws {
        let marian = try Translator.load(Self.fixture("marian-tiny"), registry: builtinPlugins)
        let spm = try SentencePieceTokenizer(modelPath: Self.fixture("marian-tiny").appendingPathComponent("source.spm").path)
        let original = Translator(model: marian.model, sourceTokenizer: spm, targetTokenizer: spm)
        try Self.scratch { folder in
            try original.save(to: folder)
            #expect(try Self.files(folder) == Self.marianFiles)
            let ids = try Self.vocabulary(folder.appendingPathComponent("vocab.json"))
            #expect(ids.count == spm.vocabularySize && ids.allSatisfy { spm.piece(for: $0.value) == $0.key })
            let loaded = try Translator.load(folder, registry: builtinPlugins)
            #expect(try Self.texts.map { try loaded.sourceTokenizer.encode($0) } == Self.texts.map { try spm.encode($0) })
            #expect(try Self.translations(loaded) == Self.translations(original))
        }
    }

    /// A shared-vocabulary save over a separate-vocabulary one removes target_vocab.json, which would otherwise win.
    @Test func resavingRemovesAStaleTargetVocabulary() throws {
        let separate = try Translator.load(Self.fixture("opus-separate"), registry: builtinPlugins)
        let shared = try Translator.load(Self.fixture("marian-tiny"), registry: builtinPlugins)
        try Self.scratch { folder in
            try separate.save(to: folder)
            try shared.save(to: folder)
            #expect(try Self.files(folder) == Self.marianFiles)
            #expect(try Self.translations(Translator.load(folder, registry: builtinPlugins)) == Self.translations(shared))
        }
    }

    /// A tokenizer with no files is refused by name before anything is written.
    @Test func unpersistableTokenizerIsAClearErrorAndWritesNothing() throws {
        let marian = try Translator.load(Self.fixture("marian-tiny"), registry: builtinPlugins)
        let translator = Translator(model: marian.model, sourceTokenizer: LetterTokenizer(), targetTokenizer: LetterTokenizer())
        try Self.scratch { folder in
            #expect { try translator.save(to: folder) } throws: { "\($0)".contains("LetterTokenizer") && "\($0)".contains("PersistableTokenizer") }
            #expect(!FileManager.default.fileExists(atPath: folder.path))
        }
    }

    @Test func embedderRoundTripsTheSentenceTransformersLayout() throws {
        let original = try Embedder.load(Self.fixture("bert-tiny"), registry: builtinPlugins)
        try Self.scratch { folder in
            try original.save(to: folder)
            #expect(try Self.files(folder) == ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "modules.json",
                                               "1_Pooling/", "1_Pooling/config.json", "2_Normalize/", "sentence_bert_config.json"])
            #expect(try Data(contentsOf: folder.appendingPathComponent("vocab.txt")) == Data(contentsOf: Self.fixture("bert-tiny").appendingPathComponent("vocab.txt")))
            #expect(try SentenceTransformersPipeline.read(folder) == SentenceTransformersPipeline.read(Self.fixture("bert-tiny")))
            let loaded = try Embedder.load(folder, registry: builtinPlugins)
            #expect(try loaded.embed(Self.texts) == original.embed(Self.texts))
            #expect(try Self.texts.map { try loaded.tokenize($0) } == Self.texts.map { try original.tokenize($0) })
        }
    }

    /// `glossa quantize`'s copy keeps the modules' folders, so an int8 embedder still reads its pipeline.
    @Test func int8CopyOfASavedEmbedderKeepsItsPipeline() throws {
        let original = try Embedder.load(Self.fixture("bert-tiny"), registry: builtinPlugins)
        try Self.scratch { folder in
            try original.save(to: folder)
            let layout = try Self.files(folder)
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
            let copy = folder.appendingPathComponent("int8")
            try Int8Checkpoint.write(from: folder, to: copy)
            #expect(try Self.files(copy) == layout)
            #expect(try SentenceTransformersPipeline.read(copy) == SentenceTransformersPipeline.read(folder))
            let float = try original.embed(Self.texts), int8 = try Embedder.load(copy, registry: builtinPlugins).embed(Self.texts)
            for (a, b) in zip(float, int8) { #expect(zip(a, b).map { $0 * $1 }.reduce(0, +) > 0.99) }
        }
    }

    /// The pooling written is the embedder's own: modes in sentence-transformers' order, Normalize only when it normalises.
    @Test(arguments: [[PoolingMode.cls], [.max], [.cls, .mean], [.mean, .weightedMean, .lastToken]])
    func embedderWritesItsPooling(modes: [PoolingMode]) throws {
        let original = try Embedder.load(Self.fixture("bert-tiny"), registry: builtinPlugins)
        original.pooler = ConcatenatedPooler(modes.map(\.pooler))
        original.normalize = false
        try Self.scratch { folder in
            try original.save(to: folder)
            let pipeline = try #require(try SentenceTransformersPipeline.read(folder))
            #expect(pipeline.modes == modes && !pipeline.normalize && pipeline.maxSequenceLength == original.maxLength)
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("2_Normalize").path))
            #expect(try Embedder.load(folder, registry: builtinPlugins).embed(Self.texts) == original.embed(Self.texts))
        }
    }

    /// A `NormalizedPooler` is stored as the Normalize module; an order sentence-transformers would not rebuild is refused.
    @Test func embedderPoolingThatTheModulesCannotDescribeIsRefused() throws {
        let original = try Embedder.load(Self.fixture("bert-tiny"), registry: builtinPlugins)
        original.pooler = NormalizedPooler(MeanPooler())
        original.normalize = false
        try Self.scratch { folder in
            try original.save(to: folder)
            #expect(try SentenceTransformersPipeline.read(folder) == SentenceTransformersPipeline(modes: [.mean], normalize: true, maxSequenceLength: original.maxLength))
            #expect(try Embedder.load(folder, registry: builtinPlugins).embed(Self.texts) == original.embed(Self.texts))
        }
        original.pooler = ConcatenatedPooler([MeanPooler(), FirstTokenPooler()])
        try Self.scratch { folder in
            #expect { try original.save(to: folder) } throws: { "\($0)".contains("sentence-transformers' order") }
            #expect(!FileManager.default.fileExists(atPath: folder.path))
        }
    }

    /// A tiny Llama-layout model over the SentencePiece fixture.
    static func languageModel() throws -> LanguageModel {
        let tokenizer = try SentencePieceTokenizer(modelPath: tinySentencePiece.path)
        guard case .decoderOnly(let make) = try builtinPlugins.plugin(named: "causal-lm").factory else {
            throw GlossaError.invalidInput("causal-lm is not a decoder-only plugin")
        }
        let settings: [String: Any] = [
            "vocab_size": tokenizer.vocabularySize, "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 1,
            "num_attention_heads": 2, "max_position_embeddings": 32, "tie_word_embeddings": true,
            "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3,
        ]
        return LanguageModel(model: try make(PluginConfiguration(json: try JSONSerialization.data(withJSONObject: settings))), tokenizer: tokenizer)
    }

    static func logits(_ lm: LanguageModel) throws -> [Float] {
        let ids = try lm.tokenizer.encode("Open the file and click OK.")
        return try withoutGrad {
            try lm.model.decoder.decode(TokenBatch([ids], padId: 3), memory: nil, state: nil, context: ForwardContext()).scalars
        }
    }

    @Test func languageModelRoundTrips() throws {
        let original = try Self.languageModel()
        try Self.scratch { folder in
            try original.save(to: folder)
            #expect(try Self.files(folder) == ["config.json", "generation_config.json", "model.safetensors", "tokenizer.model"])
            #expect(try Data(contentsOf: folder.appendingPathComponent("tokenizer.model")) == Data(contentsOf: Self.tinySentencePiece))
            let loaded = try LanguageModel.load(folder, registry: builtinPlugins)
            #expect(try Self.logits(loaded) == Self.logits(original))
            #expect(try loaded.generate(["Open the"], sampler: GreedySampler(), maxNewTokens: 8) == original.generate(["Open the"], sampler: GreedySampler(), maxNewTokens: 8))
        }
    }

    /// Half-precision weights come back rounded, close to the float32 logits.
    @Test func languageModelSavesHalfPrecision() throws {
        let original = try Self.languageModel()
        try Self.scratch { folder in
            try original.save(to: folder, dtype: .f16)
            let file = try Safetensors.read(contentsOf: folder.appendingPathComponent("model.safetensors"))
            #expect(file.entries.allSatisfy { $0.dtype == .f16 })
            assertClose(try Self.logits(LanguageModel.load(folder, registry: builtinPlugins)), try Self.logits(original), rtol: 2e-2, atol: 2e-3)
        }
    }

    @Test func languageModelRefusesATokenizerItsLoaderCannotRead() throws {
        let original = try Self.languageModel()
        let wordPiece = try builtinPlugins.plugin(named: "wordpiece")
        guard case .tokenizer(let make) = wordPiece.factory else { return }
        let lm = LanguageModel(model: original.model, tokenizer: try make(PluginConfiguration(json: Data("{}".utf8), directory: Self.fixture("bert-tiny"))))
        try Self.scratch { folder in
            #expect { try lm.save(to: folder) } throws: { "\($0)".contains("vocab.txt") && "\($0)".contains("tokenizer.model") }
            #expect(!FileManager.default.fileExists(atPath: folder.path))
        }
    }
}
