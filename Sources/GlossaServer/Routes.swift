import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

extension GlossaServer {
    /// Every route, behind the middleware that checks keys, turns failures into JSON errors and counts requests.
    func makeRouter() -> Router<ServeRequestContext> {
        let router = Router(context: ServeRequestContext.self)
        router.add(middleware: ServerMiddleware(server: self))
        router.get("/health") { _, _ in self.health() }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: self.metrics.render())))
        }
        router.get("/languages") { _, _ in self.languages() }
        router.post("/translate") { request, context in try await self.modelRequest(request, context) { try await self.translate($0) } }
        router.get("/v1/models") { _, _ in self.modelList() }
        router.post("/v1/embeddings") { request, context in try await self.modelRequest(request, context) { try await self.embeddings($0) } }
        router.post("/v1/completions") { request, context in try await self.modelRequest(request, context) { try await self.completions($0) } }
        return router
    }

    /// Reads the body of `request` (413 past `--max-request-bytes`) and runs `body` on its fields; the work is cancelled
    /// if the client closes its connection meanwhile, which takes the request out of its queue (or stops its generation).
    func modelRequest(_ request: Request, _ context: ServeRequestContext,
                      _ body: @escaping @Sendable (RequestFields) async throws -> Response) async throws -> Response {
        let fields = try await Self.fields(of: request.body, contentType: request.headers[.contentType], limit: configuration.maxRequestBytes)
        return try await connections.run(on: context.channel) { try await body(fields) }
    }

    /// The body as fields: 413 past `limit` bytes, 400 when it is not a UTF-8 JSON object.
    static func fields(of body: RequestBody, contentType: String?, limit: Int) async throws -> RequestFields {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ServerError.bodyTooLarge(limit: limit)
        } catch is NIOTooManyBytesError {
            throw ServerError.bodyTooLarge(limit: limit)
        }
        return try RequestFields(bytes: Array(buffer.readableBytesView), contentType: contentType)
    }

    func health() -> Response {
        let models = (translators.map { ($0.name, "translator") } + embedders.map { ($0.name, "embedder") }
                      + languageModels.map { ($0.name, "language-model") })
            .map { JSONText.object([("name", JSONText.string($0.0)), ("kind", JSONText.string($0.1))]) }
        return Self.json(JSONText.object([("status", JSONText.string("ready")), ("models", JSONText.array(models))]))
    }

    /// LibreTranslate's `GET /languages`: each source language with the targets it can be translated into.
    func languages() -> Response {
        var targets: [String: [String]] = [:]
        for service in translators {
            guard let pair = service.pair else { continue }
            targets[pair.source, default: []].append(pair.target)
        }
        let entries = targets.keys.sorted().map { code in
            JSONText.object([("code", JSONText.string(code)), ("name", JSONText.string(languageNames[code] ?? code)),
                             ("targets", JSONText.array((targets[code] ?? []).sorted().map(JSONText.string)))])
        }
        return Self.json(JSONText.array(entries))
    }

    /// OpenAI's `GET /v1/models`.
    func modelList() -> Response {
        let names = translators.map(\.name) + embedders.map(\.name) + languageModels.map(\.name)
        let data = names.map { JSONText.object([("id", JSONText.string($0)), ("object", JSONText.string("model")), ("owned_by", JSONText.string("glossa"))]) }
        return Self.json(JSONText.object([("object", JSONText.string("list")), ("data", JSONText.array(data))]))
    }

    /// LibreTranslate's `POST /translate`: `q` a string or an array, `source` (or `auto`), `target`, `format` `text`;
    /// answers `translatedText` in the shape of `q`. `model` (an extension) picks a translator by name.
    func translate(_ fields: RequestFields) async throws -> Response {
        let (texts, isArray) = try fields.texts("q", maxItems: configuration.maxItems)
        let service = try translator(for: fields)
        if let format = try fields.string("format"), format != "text" {
            throw ServerError.badRequest(field: "format", message: "format must be \"text\" (HTML is not supported)")
        }
        let tokens = try service.tokens(texts, field: "q")
        let outputs = try await service.scheduler.submit(texts, tokens: tokens, timeout: timeout)
        let translated = isArray ? JSONText.array(outputs.map(JSONText.string)) : JSONText.string(outputs.first ?? "")
        return Self.json(JSONText.object([("translatedText", translated)]))
    }

    /// The translator a request names with `model`, else the one whose language pair is `source`→`target`.
    func translator(for fields: RequestFields) throws -> TranslationService {
        if let name = try fields.string("model") {
            guard let service = translators.first(where: { $0.name == name }) else {
                throw ServerError.badRequest(field: "model", message: "no translator named '\(name)'; see GET /v1/models")
            }
            return service
        }
        let source = try fields.string("source")?.lowercased() ?? "auto"
        let target = try fields.string("target", required: !translators.allSatisfy { $0.pair == nil })?.lowercased()
        let matching = translators.filter { service in
            guard let pair = service.pair else { return true }
            return (source == "auto" || source == pair.source) && (target == nil || target == pair.target)
        }
        guard let service = matching.first else {
            let field = translators.contains { $0.pair.map { source == "auto" || source == $0.source } ?? true } ? "target" : "source"
            throw ServerError.badRequest(field: field, message: "no translator for \(source) → \(target ?? "?"); see GET /languages")
        }
        return service
    }

    /// A 200 JSON response.
    static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}

/// Checks the API key, answers every failure as a JSON error, and counts each request with its route and status.
struct ServerMiddleware: RouterMiddleware {
    typealias Context = ServeRequestContext
    let server: GlossaServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let route = ServerMetrics.route(request.uri.path)
        let response: Response
        do {
            try authorize(request)
            response = try await next(request, context)
        } catch {
            response = failure(error, request: request).response
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        server.metrics.request(route: route, status: Int(response.status.code), seconds: seconds)
        if response.status.code >= 500 {
            server.logger.warning("request failed", metadata: ["route": "\(route)", "status": "\(response.status.code)"])
        }
        return response
    }

    private func failure(_ error: any Error, request: Request) -> ServerError {
        if let error = error as? HTTPError {
            switch error.status {
            case .notFound: return .badRoute(status: .notFound, message: "no route \(request.method) \(request.uri.path)")
            case .methodNotAllowed: return .badRoute(status: .methodNotAllowed, message: "\(request.method) is not allowed on \(request.uri.path)")
            case .contentTooLarge: return .bodyTooLarge(limit: server.configuration.maxRequestBytes)
            default: return .badRoute(status: error.status, message: error.body ?? "\(error.status)")
            }
        }
        return .from(error)
    }

    /// With API keys configured, the request must carry one as `Authorization: Bearer KEY`; `/health` is open so
    /// orchestrators can probe it.
    private func authorize(_ request: Request) throws {
        let keys = server.configuration.apiKeys
        guard !keys.isEmpty, request.uri.path != "/health" else { return }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        let given = header.hasPrefix(prefix) ? Array(header.utf8.dropFirst(prefix.utf8.count)) : []
        // Every key is compared, each in time independent of where the bytes differ, so timing reveals nothing.
        var matched = false
        for key in keys where constantTimeEqual(given, Array(key.utf8)) { matched = true }
        if !matched { throw ServerError.unauthorized }
    }
}

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
    difference |= a.count == b.count ? 0 : 1
    for index in 0..<max(a.count, b.count) {
        difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
    }
    return difference == 0
}

/// Hummingbird's request context plus the connection, so a request can be abandoned when its client leaves.
struct ServeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The client's connection.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The requests in flight on each open connection, so a connection that closes cancels them. One close callback per
/// connection rather than per request: a keep-alive connection serves many requests, and callbacks (with the tasks
/// they hold) would otherwise pile up on it until it closes.
final class ConnectionWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var inFlight: [ObjectIdentifier: [UInt64: Task<Response, any Error>]] = [:]
    private var counter: UInt64 = 0

    /// Runs `operation` as a task that is cancelled when `channel` closes (or when the caller is cancelled).
    func run(on channel: any Channel, _ operation: @escaping @Sendable () async throws -> Response) async throws -> Response {
        let task = Task { try await operation() }
        let key = ObjectIdentifier(channel)
        let (id, first) = lock.withLock { () -> (UInt64, Bool) in
            counter += 1
            let first = inFlight[key] == nil
            inFlight[key, default: [:]][counter] = task
            return (counter, first)
        }
        if first {
            // Runs at once when the connection is already closed.
            channel.closeFuture.whenComplete { [weak self] _ in
                guard let self else { return }
                let orphans = self.lock.withLock { self.inFlight.removeValue(forKey: key) }
                for task in orphans?.values ?? [:].values { task.cancel() }
            }
        }
        defer { lock.withLock { _ = inFlight[key]?.removeValue(forKey: id) } }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}
