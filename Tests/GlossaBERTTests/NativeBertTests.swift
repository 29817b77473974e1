import Foundation
import Testing
import Glossa
import GlossaBERT
import GlossaBuiltins
import GlossaNN

/// A BERT encoder trained here: saved by Glossa with its SentencePiece tokenizer, loaded back as an embedder.
@Suite struct NativeBertTests {
    @Test func savedModelWithSentencePieceLoadsAsAnEmbedder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-native-bert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let spm = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../GlossaSentencePieceTests/Fixtures/tiny.model").standardizedFileURL
        let model = try BertModel(BertConfiguration(vocabSize: 1000, hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, maxPositions: 24), seed: 5)
        try ModelDirectory.save(model, to: folder)
        try FileManager.default.copyItem(at: spm, to: folder.appendingPathComponent("tokenizer.model"))

        let embedder = try Embedder.load(folder, registry: builtinPlugins, normalize: true)
        let texts = ["Open the file.", "", String(repeating: "Hallo Welt ", count: 40)]
        let vectors = try embedder.embed(texts, batchSize: 2)
        #expect(vectors.count == 3 && vectors.allSatisfy { $0.count == 16 })
        #expect(try embedder.tokenize(texts[2]).count == 24, "cut to the position table")
        let alone = try embedder.embed([texts[0]])[0]
        for (a, b) in zip(alone, vectors[0]) { #expect(abs(a - b) < 1e-5, "batching changed a vector") }
    }

    /// A tokenizer with more pieces than the model has embeddings is refused at load, not at the first long word.
    @Test func tokenizerLargerThanTheEmbeddingTableIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-bert-vocab-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let spm = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../GlossaSentencePieceTests/Fixtures/tiny.model").standardizedFileURL
        let model = try BertModel(BertConfiguration(vocabSize: 50, hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, maxPositions: 24), seed: 5)
        try ModelDirectory.save(model, to: folder)
        try FileManager.default.copyItem(at: spm, to: folder.appendingPathComponent("tokenizer.model"))
        #expect {
            try Embedder.load(folder, registry: builtinPlugins)
        } throws: { error in
            "\(error)".contains("embedder tokenizer has") && "\(error)".contains("only 50")
        }
    }
}
