import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaNN

/// int8 inference keeps sentence embeddings: every vector's cosine to its float32 one is at least 0.99.
@Suite struct Int8EmbeddingTests {
    @Test func int8EmbeddingsStayCloseToFloat32() throws {
        let embedder = try Embedder.load(BertFixture.directory, registry: builtinPlugins)
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../corpora/en-de.dev.en")
        let texts = try String(contentsOf: corpus, encoding: .utf8).split(separator: "\n").prefix(200).map(String.init)
        let float = try embedder.embed(texts)
        try embedder.model.prepareInference(.int8)
        defer { try? embedder.model.prepareInference(.float32) }
        let int8 = try embedder.embed(texts)
        for (a, b) in zip(float, int8) {
            let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let cosine = dot / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
            #expect(cosine >= 0.99)
        }
    }
}
