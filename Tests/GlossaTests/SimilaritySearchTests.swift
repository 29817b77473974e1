import Foundation
@testable import Glossa
import GlossaBuiltins
import Testing

/// `SimilarityIndex`, `EmbeddingCache` and the `.npy` matrices behind `glossa similar`, called from Swift.
@Suite struct SimilaritySearchTests {
    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-similar-sdk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func nearestRowsComeBestFirstAndTiesKeepRowOrder() {
        let index = SimilarityIndex(vectors: [[2, 0], [0, 3], [1, 1], [0, 0], [5, 0]])
        #expect(index.vectors[0] == [1, 0] && index.vectors[3] == [0, 0])
        let hits = index.nearest([10, 0], k: 3)
        #expect(hits.map(\.index) == [0, 4, 2])
        #expect(hits[0].score == 1 && abs(hits[2].score - 0.70710677) < 1e-6)
        #expect(index.nearest([0, 1], k: 100).map(\.index) == [1, 2, 0, 3, 4])
        #expect(index.nearest([1, 0], k: 0).isEmpty && index.nearest([1, 0], k: -2).isEmpty)
        #expect(SimilarityIndex(vectors: []).nearest([1], k: 3).isEmpty)
    }

    @Test func theDigestIsSHA256() throws {
        func hex(_ text: String) -> String {
            var digest = ContentDigest()
            digest.update(text)
            return digest.hexDigest()
        }
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Fed in pieces that straddle blocks, the digest is the same.
        var pieces = ContentDigest()
        let text = String(repeating: "0123456789", count: 30)
        for chunk in stride(from: 0, to: text.utf8.count, by: 37) { pieces.update(Array(text.utf8).dropFirst(chunk).prefix(37)) }
        #expect(pieces.hexDigest() == hex(text))
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("f")
        try Data(text.utf8).write(to: file)
        #expect(try ContentDigest.file(file) == hex(text))
    }

    @Test func npyMatricesRoundTripAndDamagedHeadersAreRefused() {
        let rows: [[Float]] = [[1, -2.5, 3], [0, .greatestFiniteMagnitude, -0]]
        let data = NpyFile.encode(rows, columns: 3)
        #expect(data.count % 64 == 24 && NpyFile.decode(data) == rows)
        #expect(NpyFile.decode(NpyFile.encode([], columns: 4)) == [])
        func withShape(_ shape: String) -> Data {
            let text = String(decoding: data, as: UTF8.self)
            return Data(text.replacingOccurrences(of: "(2, 3)", with: shape).utf8)
        }
        #expect(NpyFile.decode(withShape("(-1, -6)")) == nil)
        #expect(NpyFile.decode(withShape("(9223372036854775807, 2)")) == nil)
        #expect(NpyFile.decode(Data(data.dropLast())) == nil)
        #expect(NpyFile.decode(Data("not numpy".utf8)) == nil)
    }

    @Test func aFolderCacheKeepsEntriesPerKeyAndRecomputesWhatChanged() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = folder.appendingPathComponent("model"), cacheFolder = folder.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: model.appendingPathComponent("config.json"))
        let cache = EmbeddingCache(folder: cacheFolder)
        var calls = 0
        func vectors(_ texts: [String], settings: String = "s", recompute: Bool = false) throws -> [[Float]] {
            try cache.vectors(for: try EmbeddingCache.Key(model: model, texts: texts, settings: settings), recompute: recompute) {
                calls += 1
                return texts.map { [Float($0.count), Float(calls)] }
            }
        }
        #expect(try vectors(["ab", "c"]) == [[2, 1], [1, 1]] && calls == 1)
        #expect(try vectors(["ab", "c"]) == [[2, 1], [1, 1]] && calls == 1)
        // Other texts (even the same characters split otherwise), other settings, a forced refresh: new vectors.
        #expect(try vectors(["a", "bc"]) == [[1, 2], [2, 2]] && calls == 2)
        #expect(try vectors(["ab", "c"], settings: "t") == [[2, 3], [1, 3]] && calls == 3)
        #expect(try vectors(["ab", "c"], recompute: true) == [[2, 4], [1, 4]] && calls == 4)
        #expect(try vectors(["a", "bc"]) == [[1, 2], [2, 2]] && calls == 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cacheFolder.path).count == 6)
        // A changed model file is a different key.
        try Data("{\"x\": 1}".utf8).write(to: model.appendingPathComponent("config.json"))
        #expect(try vectors(["ab", "c"]) == [[2, 5], [1, 5]] && calls == 5)
    }

    @Test func aDamagedEntryIsNotTrusted() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cache = EmbeddingCache(beside: folder.appendingPathComponent("corpus.txt"))
        let key = try EmbeddingCache.Key(model: folder, texts: ["x", "y"], settings: "")
        #expect(cache.files(for: key).vectors.lastPathComponent == "corpus.txt.glossa-embeddings.npy")
        try cache.store([[Float.nan, 1], [0, 1]], for: key)
        #expect(cache.load(key) == nil)
        try cache.store([[1, 1]], for: key)
        #expect(cache.load(key) == nil, "one row for two texts")
        try cache.store([[1, 1], [2, 2]], for: key)
        #expect(cache.load(key) == [[1, 1], [2, 2]])
        try Data("garbage".utf8).write(to: cache.files(for: key).key)
        #expect(cache.load(key) == nil)
        var failures = 0
        let unwritable = EmbeddingCache(vectorsFile: folder.appendingPathComponent("missing/dir/v.npy"), keyFile: folder.appendingPathComponent("k.json"))
        let computed = try unwritable.vectors(for: key, storeFailed: { _ in failures += 1 }) { [[3, 3], [4, 4]] }
        #expect(computed == [[3, 3], [4, 4]] && failures == 1)
    }

    @Test func searchesACorpusEmbeddedByTheFixtureModel() throws {
        let embedder = try Embedder.load(BuiltinConformanceTests.bert, registry: builtinPlugins)
        let corpus = ["the quick brown fox", "hallo welt", "the lazy dog", "price of the file"]
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = try EmbeddingCache.Key(model: BuiltinConformanceTests.bert, texts: corpus, settings: "default")
        let vectors = try EmbeddingCache(folder: folder).vectors(for: key) { try embedder.embed(corpus) }
        let index = SimilarityIndex(vectors: vectors)
        for (i, text) in corpus.enumerated() {
            let best = try #require(index.nearest(try embedder.embed([text])[0], k: 2).first)
            #expect(best.index == i && abs(best.score - 1) < 1e-4)
        }
        #expect(EmbeddingCache(folder: folder).load(key) == vectors)
    }
}
