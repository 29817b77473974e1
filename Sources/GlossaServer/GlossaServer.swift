import Foundation
import Glossa
import GlossaNN
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// The settings of `glossa serve`, each with the range it is checked against.
public struct ServerConfiguration: Sendable {
    /// The address to listen on.
    public var host = "127.0.0.1"
    /// The port; 0 picks a free one (reported to `onReady`).
    public var port = 8080
    /// A batch is closed once it holds this many input tokens.
    public var maxBatchTokens = 4096
    /// The longest a request waits for others to join its batch, in milliseconds.
    public var maxWaitMilliseconds = 5
    /// The largest request body accepted (413 above).
    public var maxRequestBytes = 1 << 20
    /// The most strings in one request (413 above).
    public var maxItems = 128
    /// The most items waiting per model (503 with Retry-After above).
    public var maxQueue = 1024
    /// Seconds a request may take before it is answered 504 and its work abandoned.
    public var timeoutSeconds = 60.0
    /// The API keys clients must send as `Authorization: Bearer KEY`; none means no check.
    public var apiKeys: [String] = []

    /// The default settings.
    public init() {}

    /// The accepted ranges (shown in flag errors and docs/serving.md).
    public static let portRange = 0...65535
    /// See `maxBatchTokens`.
    public static let batchTokensRange = 1...1_000_000
    /// See `maxWaitMilliseconds`.
    public static let waitRange = 0...10_000
    /// See `maxRequestBytes`.
    public static let requestBytesRange = 1...(1 << 30)
    /// See `maxItems`.
    public static let itemsRange = 1...100_000
    /// See `maxQueue`.
    public static let queueRange = 1...10_000_000
    /// See `timeoutSeconds`.
    public static let timeoutRange = 0.001...86_400.0

    /// Reads an API key file: one key per line, blank lines and `#` comments skipped; an empty file is an error, as it
    /// would lock every client out.
    public static func readKeys(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ServerConfigurationError("--api-key-file \(path): cannot read it as UTF-8 text")
        }
        let keys = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        if keys.isEmpty { throw ServerConfigurationError("--api-key-file \(path) holds no key") }
        return keys
    }
}

/// `glossa serve` as a library: the models behind their batch queues, and the HTTP application that answers with them.
public final class GlossaServer: Sendable {
    /// The settings it runs with.
    public let configuration: ServerConfiguration
    let translators: [TranslationService]
    let embedders: [EmbeddingService]
    let languageModels: [CompletionService]
    let metrics = ServerMetrics()
    let connections = ConnectionWatch()
    let logger: Logger

    /// Builds the queues for `models` (loaded already, named). Names must be unique.
    public init(models: [(name: String, directory: URL, model: LoadedModel)], configuration: ServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        var names = Set<String>()
        var translators: [TranslationService] = [], embedders: [EmbeddingService] = [], languageModels: [CompletionService] = []
        let lane = ComputeLane()
        for (name, directory, model) in models {
            guard names.insert(name).inserted else { throw ServerConfigurationError("--model \(name) is given twice") }
            switch model {
            case .translator(let translator):
                let service = TranslationService(name: name, directory: directory, translator: translator,
                                                 limits: Self.limits(configuration), lane: lane, metrics: metrics)
                metrics.watchQueue(model: name, depth: { service.scheduler.depth }, running: { service.scheduler.running })
                translators.append(service)
            case .embedder(let embedder):
                let service = EmbeddingService(name: name, embedder: embedder, limits: Self.limits(configuration), lane: lane, metrics: metrics)
                metrics.watchQueue(model: name, depth: { service.scheduler.depth }, running: { service.scheduler.running })
                embedders.append(service)
            case .languageModel(let language):
                let service = CompletionService(name: name, language: language, limits: Self.limits(configuration), lane: lane, metrics: metrics)
                metrics.watchQueue(model: name, depth: { service.scheduler.depth }, running: { service.scheduler.running })
                languageModels.append(service)
            }
        }
        self.translators = translators
        self.embedders = embedders
        self.languageModels = languageModels
    }

    private static func limits<Engine: BatchEngine>(_ configuration: ServerConfiguration) -> BatchScheduler<Engine>.Limits {
        .init(maxBatchTokens: configuration.maxBatchTokens, maxWait: .milliseconds(configuration.maxWaitMilliseconds), maxQueue: configuration.maxQueue)
    }

    /// The request timeout as a duration.
    var timeout: Duration { .nanoseconds(Int64(configuration.timeoutSeconds * 1e9)) }

    /// Serves until cancelled or, with `signals`, until one of them arrives: then it stops accepting connections,
    /// answers what is in flight, stops the batch workers and returns. `onReady` gets the port once it listens.
    public func run(signals: [UnixSignal] = [], onReady: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let logger = self.logger
        let port = configuration.port
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "glossa"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")", "port": "\(bound)"])
                onReady(bound)
            },
            logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: signals, logger: logger)
        defer { shutdown() }
        try await group.run()
    }

    /// Stops every batch worker once its queue is answered.
    func shutdown() {
        for service in translators { service.scheduler.shutdown() }
        for service in embedders { service.scheduler.shutdown() }
        for service in languageModels { service.scheduler.shutdown() }
    }
}
