import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaSentencePiece
import GlossaTensor

extension PoolingMode: ExpressibleByArgument {}

/// How `glossa embed` writes its vectors.
enum EmbeddingFormat: String, ExpressibleByArgument, CaseIterable {
    /// One JSON array per line.
    case jsonl
    /// Tab-separated numbers, one line per text.
    case tsv
    /// One NumPy `.npy` matrix `[texts, dimension]` (float32), written to `--output`.
    case npy
}

/// The model flags shared by `glossa embed` and `glossa similar`.
struct EmbedderOptions: ParsableArguments {
    @Option(help: "The model directory (a sentence-transformers directory works as it is).")
    var model: String

    @Option(help: "Pooling, overriding the directory's (\(PoolingMode.allCases.map(\.rawValue).joined(separator: ", "))).")
    var pooling: PoolingMode?

    @Flag(inversion: .prefixedNo, help: "Scale vectors to unit length (default: as the directory says).")
    var normalize: Bool?

    @Option(help: "Texts per forward pass; texts are sorted by length first, so padding stays small.")
    var batchSize = 32

    @Flag(help: "Replace invalid UTF-8 with U+FFFD instead of stopping with an error.")
    var replaceInvalid = false

    @OptionGroup var threads: ThreadOptions

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        try FlagBounds.requireDirectory(model, "--model")
        try FlagBounds.check(batchSize, FlagBounds.batchSize, "--batch-size")
    }

    /// The embedder these flags describe, with the thread count applied.
    func load(plugins: PluginRegistry) throws -> Embedder {
        threads.apply()
        let embedder = try Embedder.load(URL(fileURLWithPath: model), registry: plugins, pooling: pooling, normalize: normalize)
        try compute.prepare(embedder.model, directory: URL(fileURLWithPath: model))
        return embedder
    }
}

/// `glossa embed`: one vector per text, in input order.
struct EmbedCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed", abstract: "Embed sentences: one vector per text or standard-input line, in input order.",
        discussion: """
            Without TEXT arguments, standard input is read line by line; with jsonl or tsv each vector is written and \
            flushed as soon as its line is embedded (lines already waiting are embedded together). An empty line \
            gives the vector of the empty text, as sentence-transformers does.
            """)

    @Argument(help: "Texts to embed (default: standard input, one text per line).")
    var texts: [String] = []

    @OptionGroup var options: EmbedderOptions

    @Option(help: "Output format.")
    var format: EmbeddingFormat = .jsonl

    @Option(help: "Write to this file instead of standard output (required for npy).")
    var output: String?

    @Flag(help: "Print the load time, the embedding time and texts/s to standard error.")
    var stats = false

    func validate() throws {
        if format == .npy && output == nil { throw ValidationError("--format npy needs --output FILE.") }
    }

    func run(plugins: PluginRegistry) throws {
        let loadStart = Date()
        let embedder = try options.load(plugins: plugins)
        let loaded = Date()
        var count = 0
        defer {
            if stats {
                let seconds = Date().timeIntervalSince(loaded)
                let line = String(format: "load %.3f s; embedded %d texts in %.3f s (%.1f texts/s)\n",
                                  loaded.timeIntervalSince(loadStart), count, seconds, Double(count) / max(seconds, 1e-9))
                StandardStreams.writeError(line)
                if Profiler.isEnabled { StandardStreams.writeError((Profiler.report() + "\n")) }
            }
        }
        let sink = try OutputSink(path: output)
        if format == .npy {
            var vectors: [[Float]] = []
            if !texts.isEmpty {
                vectors = try embedder.embed(texts, batchSize: options.batchSize)
            } else {
                try readLines(chunk: 1 << 20, replaceInvalid: options.replaceInvalid) { vectors += try embedder.embed($0, batchSize: options.batchSize) }
            }
            count = vectors.count
            try sink.write(NpyFile.encode(vectors, columns: vectors.first?.count ?? embedder.dimension))
            try sink.close()
            return
        }
        let write: ([[Float]]) throws -> Void = { vectors in
            count += vectors.count
            for vector in vectors {
                try sink.write(Data(Self.line(vector, format: format).utf8))
                try sink.flush()
            }
        }
        if !texts.isEmpty {
            try write(try embedder.embed(texts, batchSize: options.batchSize))
        } else {
            try readLines(chunk: 8 * options.batchSize, replaceInvalid: options.replaceInvalid) { try write(try embedder.embed($0, batchSize: options.batchSize)) }
        }
        try sink.close()
    }

    /// One output line for a vector.
    static func line(_ vector: [Float], format: EmbeddingFormat) -> String {
        let numbers = vector.map { "\($0)" }
        return format == .tsv ? numbers.joined(separator: "\t") + "\n" : "[" + numbers.joined(separator: ", ") + "]\n"
    }
}

/// Reads standard input lines (invalid UTF-8 refused, or replaced with `replaceInvalid`; a final `\r` dropped) and
/// hands them over in groups: whenever `chunk` lines are waiting, and whenever reading would block, so an interactive
/// pipe answers per line.
func readLines(chunk: Int, replaceInvalid: Bool, _ body: ([String]) throws -> Void) throws {
    let reader = LineReader()
    var pending: [String] = []
    func drain() throws {
        if !pending.isEmpty { try body(pending) }
        pending.removeAll(keepingCapacity: true)
    }
    while let line = try reader.next(beforeBlocking: drain) {
        let text: String
        do {
            text = try reader.text(of: line, replacingInvalid: replaceInvalid)
        } catch {
            try drain()  // the lines before a bad one still get their vectors
            throw error
        }
        pending.append(text)
        if pending.count >= chunk { try drain() }
    }
    try drain()
}
