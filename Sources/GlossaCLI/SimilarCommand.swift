import ArgumentParser
import Foundation
import Glossa
import GlossaNN

/// `glossa similar`: the corpus lines closest to each query by cosine similarity.
struct SimilarCommand: PluginCommand {
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

    func run(plugins: PluginRegistry) throws {
        let embedder = try options.load(plugins: plugins)
        let corpusURL = URL(fileURLWithPath: corpus)
        let lines: [String]
        do {
            lines = try InputFile.lines(corpus, purpose: "the corpus", replacingInvalid: options.replaceInvalid)
                .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        } catch let error as InputFileError where error.invalidLine != nil {
            throw CommandError(description: "\(error) Pass --replace-invalid to replace invalid bytes with U+FFFD.")
        }
        let settings = "pooling=\(options.pooling?.rawValue ?? "default") normalize=\(options.normalize.map(String.init) ?? "default") max_length=\(embedder.maxLength)"
        let key = try EmbeddingCache.Key(model: URL(fileURLWithPath: options.model), texts: lines, settings: settings)
        let vectors = try EmbeddingCache(beside: corpusURL).vectors(for: key, recompute: noCache, storeFailed: { error in
            StandardStreams.writeError("warning: could not cache the corpus embeddings: \(error)\n")
        }) { try embedder.embed(lines, batchSize: options.batchSize) }
        let index = SimilarityIndex(vectors: vectors)
        let sink = try OutputSink(path: nil)
        var first = true
        let answer: ([String]) throws -> Void = { batch in
            for query in try embedder.embed(batch, batchSize: options.batchSize) {
                if !first { try sink.write(Data("\n".utf8)) }
                first = false
                for hit in index.nearest(query, k: topK) {
                    try sink.write(Data((String(format: "%.4f", hit.score) + "\t" + lines[hit.index] + "\n").utf8))
                }
                try sink.flush()
            }
        }
        if !queries.isEmpty { try answer(queries) } else { try readLines(chunk: options.batchSize, replaceInvalid: options.replaceInvalid, answer) }
        try sink.close()
    }
}
