import ArgumentParser
import Dispatch
import Foundation
import Glossa
import GlossaServer
import Logging

/// `glossa serve`: translation, embeddings and generation over HTTP, batched across requests.
struct ServeCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve models over HTTP: LibreTranslate's /translate, OpenAI's /v1/embeddings and /v1/completions.",
        discussion: """
            Each --model NAME=DIR is loaded (its kind — translator, embedder, language model — read from the directory) \
            before the server listens. Requests queue per model and join the model's running batch between decoding \
            steps while the running requests hold fewer than --max-batch-tokens input tokens (an idle worker waits at \
            most --max-wait-ms for company); each request is answered with exactly what the CLI gives for the same input. SIGTERM or SIGINT stops accepting connections, finishes what is in flight, and \
            exits 0. See docs/serving.md.
            """)

    @Option(name: .customLong("model"), help: "A model as NAME=DIR (repeatable): the name requests use, the directory to load.")
    var models: [String] = []

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port (0: pick a free one; the address is printed on standard error either way).")
    var port = 8080

    @Option(help: "No request joins the running batch once its requests hold this many input tokens (a larger request runs alone).")
    var maxBatchTokens = ServerConfiguration().maxBatchTokens

    @Option(help: "The longest a request waits for others to join its batch, in milliseconds.")
    var maxWaitMs = ServerConfiguration().maxWaitMilliseconds

    @Option(help: "The largest request body accepted, in bytes (413 above).")
    var maxRequestBytes = ServerConfiguration().maxRequestBytes

    @Option(help: "The most strings (texts, prompts × n) in one request (413 above).")
    var maxItems = ServerConfiguration().maxItems

    @Option(help: "The most items waiting per model (503 with Retry-After above).")
    var maxQueue = ServerConfiguration().maxQueue

    @Option(help: "Seconds a request may take; past it the answer is 504 and its work is abandoned.")
    var timeout = ServerConfiguration().timeoutSeconds

    @Option(help: "A file of API keys, one per line: clients must send `Authorization: Bearer KEY` (401 otherwise).")
    var apiKeyFile: String?

    @OptionGroup var threads: ThreadOptions

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if models.isEmpty { throw ValidationError("give at least one --model NAME=DIR") }
        if host.isEmpty { throw ValidationError("--host must not be empty") }
        try FlagBounds.check(port, ServerConfiguration.portRange, "--port")
        try FlagBounds.check(maxBatchTokens, ServerConfiguration.batchTokensRange, "--max-batch-tokens")
        try FlagBounds.check(maxWaitMs, ServerConfiguration.waitRange, "--max-wait-ms")
        try FlagBounds.check(maxRequestBytes, ServerConfiguration.requestBytesRange, "--max-request-bytes")
        try FlagBounds.check(maxItems, ServerConfiguration.itemsRange, "--max-items")
        try FlagBounds.check(maxQueue, ServerConfiguration.queueRange, "--max-queue")
        try FlagBounds.check(finite: timeout, ServerConfiguration.timeoutRange, "--timeout")
        for model in models {
            do { _ = try ModelSpec(parsing: model) } catch { throw ValidationError("\(error)") }
        }
    }

    func run(plugins: PluginRegistry) throws {
        threads.apply()
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "glossa.serve")
        logger.logLevel = .info
        var settings = ServerConfiguration()
        settings.host = host
        settings.port = port
        settings.maxBatchTokens = maxBatchTokens
        settings.maxWaitMilliseconds = maxWaitMs
        settings.maxRequestBytes = maxRequestBytes
        settings.maxItems = maxItems
        settings.maxQueue = maxQueue
        settings.timeoutSeconds = timeout
        if let apiKeyFile { settings.apiKeys = try ServerConfiguration.readKeys(apiKeyFile) }

        let start = Date()
        var loaded: [(name: String, directory: URL, model: LoadedModel)] = []
        for text in models {
            let spec = try ModelSpec(parsing: text)
            let model = try LoadedModel.load(spec, registry: plugins) { try compute.prepare($0, directory: $1) }
            logger.info("loaded model", metadata: ["name": "\(spec.name)", "kind": "\(model.kind.rawValue)", "directory": "\(spec.directory.path)"])
            loaded.append((spec.name, spec.directory, model))
        }
        let server = try GlossaServer(models: loaded, configuration: settings, logger: logger)
        let host = self.host
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run(signals: [.sigterm, .sigint]) { port in
                    let seconds = Date().timeIntervalSince(start)
                    logError(String(format: "glossa serve: listening on http://%@:%d (ready in %.2f s)", host, port, seconds))
                }
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        // The main thread only waits: the server runs on Swift's executors, the models on their batch threads.
        done.wait()
        if let error = outcome.error { throw error }
        logger.info("stopped")
    }
}

/// How the server task ended, handed back to the waiting main thread.
private final class Outcome: @unchecked Sendable {
    // Written by the server task before it signals, read by the main thread after the wait.
    var error: (any Error)?
}
