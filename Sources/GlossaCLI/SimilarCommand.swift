import ArgumentParser
import Crypto
import Foundation
import Glossa
import GlossaNN

/// `glossa similar`: the corpus lines closest to each query by cosine similarity.
struct SimilarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "similar", abstract: "Find the corpus lines most similar to each query (cosine of embeddings).",
        discussion: """
            The corpus (one text per line; empty lines are skipped) is embedded once and cached beside it as \
            FILE.glossa-embeddings.npy with a key file FILE.glossa-embeddings.json; the cache is rebuilt when the \
            corpus or the model directory changes. For each query (QUERY arguments, or standard-input lines) the top \
            K lines are printed as "score<TAB>line", best first; blocks of several queries are separated by an empty line.
            """)

    @Argument(help: "Queries (default: standard input, one per line).")
    var queries: [String] = []

    @OptionGroup var options: EmbedderOptions

    @Option(help: "The corpus, one text per line.")
    var corpus: String

    @Option(help: "How many lines to print per query.")
    var topK = 5

    @Flag(help: "Recompute the corpus embeddings even if the cache is valid.")
    var noCache = false

    func validate() throws {
        try FlagBounds.check(topK, 1...FlagBounds.topK.upperBound, "--top-k")
    }

    func run() throws {
        let embedder = try options.load()
        let corpusURL = URL(fileURLWithPath: corpus)
        let lines: [String]
        do {
            lines = try InputFile.lines(corpus, purpose: "the corpus", replacingInvalid: options.replaceInvalid)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        } catch let error as InputFileError where error.invalidLine != nil {
            throw CommandError(description: "\(error) Pass --replace-invalid to replace invalid bytes with U+FFFD.")
        }
        let cache = EmbeddingCache(corpus: corpusURL, model: URL(fileURLWithPath: options.model),
                                   settings: "pooling=\(options.pooling?.rawValue ?? "default") normalize=\(options.normalize.map(String.init) ?? "default") max_length=\(embedder.maxLength)")
        let key = try cache.key()
        var vectors = noCache ? nil : cache.load(key: key, rows: lines.count)
        if vectors == nil {
            let computed = try embedder.embed(lines, batchSize: options.batchSize)
            do { try cache.save(computed, key: key, columns: computed.first?.count ?? embedder.dimension) } catch {
                StandardStreams.writeError("warning: could not cache the corpus embeddings: \(error)\n")
            }
            vectors = computed
        }
        let corpusVectors = (vectors ?? []).map(unitVector)
        let sink = try OutputSink(path: nil)
        var first = true
        let answer: ([String]) throws -> Void = { batch in
            for query in try embedder.embed(batch, batchSize: options.batchSize).map(unitVector) {
                if !first { try sink.write(Data("\n".utf8)) }
                first = false
                let scores = corpusVectors.map { zip($0, query).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
                let best = scores.indices.sorted { (scores[$0], $1) > (scores[$1], $0) }.prefix(topK)
                for i in best { try sink.write(Data((String(format: "%.4f", scores[i]) + "\t" + lines[i] + "\n").utf8)) }
                try sink.flush()
            }
        }
        if !queries.isEmpty { try answer(queries) } else { try readLines(chunk: options.batchSize, replaceInvalid: options.replaceInvalid, answer) }
        try sink.close()
    }
}

/// Corpus embeddings stored beside the corpus, valid while the corpus, the model directory and the
/// embedding settings are what the key file records.
struct EmbeddingCache {
    /// The corpus file.
    let corpus: URL
    /// The model directory.
    let model: URL
    /// Flags that change the vectors (pooling, normalisation).
    let settings: String

    /// What the key file holds.
    struct Key: Codable, Equatable {
        var corpus_size: Int
        var corpus_mtime: Double
        var corpus_sha256: String
        var model_sha256: String
        var settings: String
    }

    var vectorsURL: URL { URL(fileURLWithPath: corpus.path + ".glossa-embeddings.npy") }
    var keyURL: URL { URL(fileURLWithPath: corpus.path + ".glossa-embeddings.json") }

    /// The model files whose bytes decide the vectors.
    static let modelFiles = ["config.json", "model.safetensors", "vocab.txt", "tokenizer.model", "tokenizer_config.json",
                             "sentence_bert_config.json", "modules.json", "1_Pooling/config.json"]

    /// The key of the corpus and model as they are now.
    func key() throws -> Key {
        let attributes = try FileManager.default.attributesOfItem(atPath: corpus.path)
        var hasher = SHA256()
        for name in Self.modelFiles {
            let file = model.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: file.path) else { continue }
            hasher.update(data: Data("\(name) \(try Self.digest(of: file))\n".utf8))
        }
        return Key(corpus_size: (attributes[.size] as? NSNumber)?.intValue ?? 0,
                   corpus_mtime: (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0,
                   corpus_sha256: try Self.digest(of: corpus), model_sha256: Self.hex(hasher.finalize()), settings: settings)
    }

    /// The SHA-256 of a file as 64 lowercase hex digits, read in 1 MiB chunks so a large corpus is never whole in memory.
    static func digest(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hex(hasher.finalize())
    }

    /// Lowercase hex, the form earlier cache key files hold (so existing caches stay valid).
    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// The cached vectors if the key file matches `key` and the matrix has `rows` rows; `nil` otherwise.
    func load(key: Key, rows: Int) -> [[Float]]? {
        guard let data = try? Data(contentsOf: keyURL), let stored = try? JSONDecoder().decode(Key.self, from: data) else { return nil }
        guard stored.corpus_sha256 == key.corpus_sha256, stored.corpus_size == key.corpus_size,
              stored.model_sha256 == key.model_sha256, stored.settings == key.settings else { return nil }
        guard let matrix = (try? Data(contentsOf: vectorsURL)).flatMap(NpyFile.decode), matrix.count == rows else { return nil }
        // A damaged cache (NaN or infinite numbers) is recomputed, not trusted.
        guard matrix.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { return nil }
        return matrix
    }

    /// Writes the vectors, then the key (so a key never describes vectors that are not there).
    func save(_ vectors: [[Float]], key: Key, columns: Int) throws {
        try AtomicFile.write(NpyFile.encode(vectors, columns: columns), to: vectorsURL)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(key), to: keyURL)
    }
}
