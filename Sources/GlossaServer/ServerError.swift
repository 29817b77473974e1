import Foundation
import GlossaNN
import HTTPTypes
import Hummingbird
import NIOCore

/// Every way a request fails, each with its HTTP status and a message for the client; the one place statuses are chosen.
public enum ServerError: Error, Equatable, Sendable {
    /// The body is not what the route accepts (400), naming the field at fault (`body` for the whole of it).
    case badRequest(field: String, message: String)
    /// The body is larger than `--max-request-bytes` (413).
    case bodyTooLarge(limit: Int)
    /// More strings than `--max-items` in one request (413).
    case tooManyItems(field: String, count: Int, limit: Int)
    /// The model's queue has no room for the request (503, with Retry-After).
    case queueFull
    /// The server is stopping and takes no new work (503).
    case shuttingDown
    /// The request ran past `--timeout` (504).
    case timeout
    /// No or a wrong `Authorization: Bearer` key (401).
    case unauthorized
    /// No such route (404) or method (405), or another failure Hummingbird reports with its status.
    case badRoute(status: HTTPResponse.Status, message: String)
    /// Models are still loading (503).
    case notReady
    /// The model failed on the request (500).
    case internalError(String)

    /// The HTTP status this failure answers with.
    public var status: HTTPResponse.Status {
        switch self {
        case .badRequest: .badRequest
        case .bodyTooLarge, .tooManyItems: .contentTooLarge
        case .queueFull, .shuttingDown, .notReady: .serviceUnavailable
        case .timeout: .gatewayTimeout
        case .unauthorized: .unauthorized
        case .badRoute(let status, _): status
        case .internalError: .internalServerError
        }
    }

    /// The sentence shown to the client.
    public var message: String {
        switch self {
        case .badRequest(_, let message): message
        case .bodyTooLarge(let limit): "the request body is larger than \(limit) bytes (--max-request-bytes)"
        case .tooManyItems(let field, let count, let limit): "\(field) holds \(count) items; at most \(limit) are accepted (--max-items)"
        case .queueFull: "the model's queue is full; retry later"
        case .shuttingDown: "the server is shutting down"
        case .timeout: "the request took longer than the server's --timeout; its work was abandoned"
        case .unauthorized: "missing or wrong API key (Authorization: Bearer KEY)"
        case .badRoute(_, let message): message
        case .notReady: "models are still loading"
        case .internalError(let message): message
        }
    }

    /// The request field at fault, when there is one.
    public var field: String? {
        switch self {
        case .badRequest(let field, _), .tooManyItems(let field, _, _): field
        default: nil
        }
    }

    /// OpenAI's error `type` for this failure.
    var kind: String {
        switch self {
        case .badRequest, .bodyTooLarge, .tooManyItems, .badRoute: "invalid_request_error"
        case .unauthorized: "authentication_error"
        case .queueFull, .shuttingDown, .notReady, .timeout: "server_busy"
        case .internalError: "server_error"
        }
    }

    /// The error as a response: `{"error": {"message", "type", "param", "code"}}` (OpenAI's shape, which
    /// LibreTranslate clients read as an error too), with `Retry-After` when retrying helps.
    public var response: Response {
        var object: [String: any Sendable] = ["message": message, "type": kind, "code": Int(status.code)]
        if let field { object["param"] = field }
        var headers: HTTPFields = [.contentType: "application/json"]
        if self == .queueFull || self == .shuttingDown || self == .notReady { headers[.retryAfter] = "1" }
        if self == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        let body = JSONText.object([("error", JSONText.object(object.sorted { $0.key < $1.key }.map { ($0.key, JSONText.value($0.value)) }))])
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body + "\n")))
    }

    /// Any error as a `ServerError`; what the server did not foresee is an internal error.
    public static func from(_ error: any Error) -> ServerError {
        if let error = error as? ServerError { return error }
        if error is CancellationError { return .shuttingDown }
        return .internalError("\(error)")
    }
}

/// JSON text written by hand, so numbers come out exactly as the CLI prints them (`Float`'s shortest form) and
/// responses need no intermediate objects.
enum JSONText {
    /// `text` as a JSON string literal.
    static func string(_ text: String) -> String { jsonStringLiteral(text) }

    /// A JSON object from already-written member values, in the order given.
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// A JSON array from already-written values.
    static func array(_ values: [String]) -> String { "[" + values.joined(separator: ",") + "]" }

    /// A vector as the CLI's `embed --format jsonl` writes its numbers.
    static func floats(_ values: [Float]) -> String { "[" + values.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]" }

    /// A string, integer, boolean or nested text as JSON.
    static func value(_ value: any Sendable) -> String {
        switch value {
        case let text as String: string(text)
        case let number as Int: String(number)
        case let flag as Bool: flag ? "true" : "false"
        default: "null"
        }
    }
}
