import Foundation
import Glossa
import GlossaBuiltins
import GlossaServer
import Logging

/// The repository's tiny models, loaded once per test process.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let translatorDirectory = root.appendingPathComponent("Tests/Fixtures/marian-tiny")
    static let embedderDirectory = root.appendingPathComponent("Tests/Fixtures/bert-tiny")
    static let languageModelDirectory = root.appendingPathComponent("models/en-de-lm")

    /// Test sentences of different lengths (every 13th dev line of the corpus).
    static let sentences: [String] = {
        let text = (try? String(contentsOf: root.appendingPathComponent("Tests/GlossaSentencePieceTests/Fixtures/sample.txt"), encoding: .utf8)) ?? ""
        return Array(text.split(separator: "\n").prefix(24).map(String.init))
    }()

    static func load(_ name: String, _ directory: URL) throws -> (name: String, directory: URL, model: LoadedModel) {
        let spec = try ModelSpec(parsing: "\(name)=\(directory.path)")
        return (name, directory, try LoadedModel.load(spec, registry: builtinPlugins) { _, _ in })
    }

    /// The translator, embedder and language model under the names the tests use.
    static func all() throws -> [(name: String, directory: URL, model: LoadedModel)] {
        [try load("en-de", translatorDirectory), try load("embed", embedderDirectory), try load("lm", languageModelDirectory)]
    }
}

/// Runs `body` against a server on a free loopback port, then stops the server (as SIGTERM would).
func withServer(_ configure: (inout ServerConfiguration) -> Void = { _ in },
                models: [(name: String, directory: URL, model: LoadedModel)]? = nil,
                _ body: (TestClient) async throws -> Void) async throws {
    var configuration = ServerConfiguration()
    configuration.port = 0
    configure(&configuration)
    var logger = Logger(label: "glossa.serve.test")
    logger.logLevel = .warning
    let server = try GlossaServer(models: try models ?? Fixtures.all(), configuration: configuration, logger: logger)
    let (ports, portSink) = AsyncStream<Int>.makeStream()
    let running = Task {
        defer { portSink.finish() }  // a server that fails to start ends the wait below
        try await server.run { portSink.yield($0) }
    }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else {
        try await running.value
        throw ClientError("the server never listened")
    }
    do {
        try await body(TestClient(port: port))
    } catch {
        running.cancel()
        _ = await running.result
        throw error
    }
    running.cancel()
    _ = await running.result
}
