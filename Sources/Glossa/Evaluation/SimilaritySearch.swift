import Foundation
import GlossaNN

/// One hit of a similarity search: a row of the index and its cosine with the query.
public struct SimilarityMatch: Sendable, Equatable {
    /// The row of the vectors the index was made from.
    public var index: Int
    /// Cosine similarity with the query, in [-1, 1].
    public var score: Float

    /// A hit.
    public init(index: Int, score: Float) {
        self.index = index
        self.score = score
    }
}

/// Top-k cosine search over a fixed set of vectors, each scaled to unit length once, so a search is dot products.
public struct SimilarityIndex: Sendable {
    /// The vectors at unit length (a zero vector stays zero and scores 0 against everything).
    public let vectors: [[Float]]

    /// An index over `vectors` (any lengths; they are normalised here).
    public init(vectors: [[Float]]) {
        self.vectors = vectors.map(Self.unitLength)
    }

    /// `v` scaled to unit length (zero stays zero).
    public static func unitLength(_ v: [Float]) -> [Float] {
        let norm = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    /// Cosine of `query` with every row, in row order.
    public func scores(_ query: [Float]) -> [Float] {
        let q = Self.unitLength(query)
        return vectors.map { zip($0, q).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
    }

    /// The `k` rows most similar to `query`, best first; equal scores keep row order, so results are reproducible.
    public func nearest(_ query: [Float], k: Int) -> [SimilarityMatch] {
        let scores = scores(query)
        let best = scores.indices.sorted { (scores[$0], $1) > (scores[$1], $0) }.prefix(Swift.max(0, k))
        return best.map { SimilarityMatch(index: $0, score: scores[$0]) }
    }
}

/// Embeddings of texts kept on disk as a float32 `.npy` matrix and a JSON key, reused while the key matches:
/// the model directory's files, the texts and the embedding settings, each by SHA-256.
public struct EmbeddingCache: Sendable {
    /// What an entry was made from; an entry is used only for an equal key.
    public struct Key: Codable, Equatable, Sendable {
        /// SHA-256 over the model directory's files that decide the vectors (`EmbeddingCache.modelFiles`).
        public var modelSHA256: String
        /// SHA-256 over the texts, each length-prefixed so that no two lists of texts hash alike by concatenation.
        public var textsSHA256: String
        /// How many texts, hence rows.
        public var rows: Int
        /// Whatever else changes the vectors (pooling, normalisation, truncation), in the caller's words.
        public var settings: String

        enum CodingKeys: String, CodingKey {
            case modelSHA256 = "model_sha256", textsSHA256 = "texts_sha256", rows, settings
        }

        /// The key of `texts` embedded by the model in `model` under `settings`.
        public init(model: URL, texts: [String], settings: String) throws {
            var digest = ContentDigest()
            for name in EmbeddingCache.modelFiles {
                let file = model.appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: file.path) else { continue }
                digest.update("\(name) \(try ContentDigest.file(file))\n")
            }
            modelSHA256 = digest.hexDigest()
            var texts256 = ContentDigest()
            for text in texts { texts256.update("\(text.utf8.count):"); texts256.update(text) }
            textsSHA256 = texts256.hexDigest()
            rows = texts.count
            self.settings = settings
        }

        /// A short name for the entry, for caches that keep many in one folder.
        var fileStem: String {
            var digest = ContentDigest()
            digest.update("\(modelSHA256) \(textsSHA256) \(rows) \(settings)")
            return String(digest.hexDigest().prefix(32))
        }
    }

    /// The model files whose bytes decide the vectors.
    public static let modelFiles = ["config.json", "model.safetensors", "vocab.txt", "tokenizer.model", "tokenizer_config.json",
                                    "sentence_bert_config.json", "modules.json", "1_Pooling/config.json"]

    /// Where entries go: a folder of entries named by key, or one fixed pair of files.
    private enum Place: Sendable {
        case folder(URL)
        case files(vectors: URL, key: URL)
    }
    private let place: Place

    /// A cache keeping any number of entries in `folder` (created when first written), named by their key.
    public init(folder: URL) { place = .folder(folder) }

    /// A cache of one entry in these two files, replaced whenever a different key is stored.
    public init(vectorsFile: URL, keyFile: URL) { place = .files(vectors: vectorsFile, key: keyFile) }

    /// The cache `glossa similar` keeps beside a corpus file: `FILE.glossa-embeddings.npy` and `.json`.
    public init(beside file: URL) {
        self.init(vectorsFile: URL(fileURLWithPath: file.path + ".glossa-embeddings.npy"),
                  keyFile: URL(fileURLWithPath: file.path + ".glossa-embeddings.json"))
    }

    /// The files of the entry for `key`.
    public func files(for key: Key) -> (vectors: URL, key: URL) {
        switch place {
        case .files(let vectors, let key): return (vectors, key)
        case .folder(let folder):
            let stem = folder.appendingPathComponent(key.fileStem)
            return (stem.appendingPathExtension("npy"), stem.appendingPathExtension("json"))
        }
    }

    /// The stored vectors for `key`, or `nil` when there are none, they were made from something else, or they are damaged.
    public func load(_ key: Key) -> [[Float]]? {
        let (vectorsURL, keyURL) = files(for: key)
        guard let data = try? Data(contentsOf: keyURL), let stored = try? JSONDecoder().decode(Key.self, from: data), stored == key,
              let matrix = (try? Data(contentsOf: vectorsURL)).flatMap(NpyFile.decode), matrix.count == key.rows else { return nil }
        // A damaged cache (NaN or infinite numbers) is recomputed, not trusted.
        guard matrix.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { return nil }
        return matrix
    }

    /// Stores `vectors` for `key`: the matrix first, then the key, so a key never describes vectors that are not there.
    public func store(_ vectors: [[Float]], for key: Key, columns: Int? = nil) throws {
        let (vectorsURL, keyURL) = files(for: key)
        if case .folder(let folder) = place { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try AtomicFile.write(NpyFile.encode(vectors, columns: columns ?? vectors.first?.count ?? 0), to: vectorsURL)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(key), to: keyURL)
    }

    /// The vectors for `key` from the cache, or from `embed` (then stored) when there are none or `recompute` is set.
    /// A failed store is handed to `storeFailed` and the computed vectors are returned all the same.
    public func vectors(for key: Key, recompute: Bool = false, storeFailed: (any Error) -> Void = { _ in },
                        embed: () throws -> [[Float]]) throws -> [[Float]] {
        if !recompute, let cached = load(key) { return cached }
        let computed = try embed()
        do { try store(computed, for: key) } catch { storeFailed(error) }
        return computed
    }
}
