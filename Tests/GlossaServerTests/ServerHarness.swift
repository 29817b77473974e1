import Foundation
import Glossa
import GlossaBuiltins
import GlossaServer
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 answer as the tests read it.
struct Reply: Sendable {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (an empty one when it is not).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }

    /// The `param` of a JSON error body.
    var errorField: String? { (json["error"] as? [String: Any])?["param"] as? String }
}

/// A deliberately small HTTP client over a plain loopback socket, so tests can send anything (invalid UTF-8, huge
/// bodies, a connection dropped mid-request) and see exactly what comes back. Each call runs on a thread of its own,
/// never blocking Swift's executors (which the server runs on).
struct TestClient: Sendable {
    let port: Int

    /// Sends one request on a fresh connection and reads the whole answer.
    func send(_ method: String, _ path: String, body: [UInt8] = [], headers: [String: String] = [:]) async throws -> Reply {
        try await onThread {
            let socket = try connect(port: port)
            defer { close(socket) }
            try write(socket, Self.head(method, path, length: body.count, headers: headers) + body)
            return try Self.parse(try readAll(socket))
        }
    }

    /// A JSON POST.
    func post(_ path: String, json: Any, headers: [String: String] = [:]) async throws -> Reply {
        let body = try JSONSerialization.data(withJSONObject: json)
        return try await send("POST", path, body: Array(body), headers: ["Content-Type": "application/json"].merging(headers) { $1 })
    }

    /// Opens a connection and sends a request on it without reading the answer; the caller closes it to leave.
    func start(_ path: String, json: Any) throws -> Int32 {
        let body = Array(try JSONSerialization.data(withJSONObject: json))
        let socket = try connect(port: port)
        try write(socket, Self.head("POST", path, length: body.count, headers: ["Content-Type": "application/json"]) + body)
        return socket
    }

    /// The value of a sample line of `/metrics` (`name{labels}`), or `nil` when absent.
    func metric(_ sample: String) async throws -> Double? {
        let text = try await send("GET", "/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }

    /// Polls `/metrics` until `sample` reads `value` (a bounded wait for the server to reach a state, not a timing check).
    func waitFor(_ sample: String, _ value: Double) async throws {
        for _ in 0..<2000 {
            if try await metric(sample) == value { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ClientError("\(sample) never became \(value)")
    }

    static func head(_ method: String, _ path: String, length: Int, headers: [String: String]) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(length)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// Splits status, headers and body, undoing chunked transfer encoding.
    static func parse(_ bytes: [UInt8]) throws -> Reply {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0...(max(0, bytes.count - 4))).first(where: { Array(bytes[$0..<min(bytes.count, $0 + 4)]) == separator }) else {
            throw ClientError("no header end in \(bytes.count) bytes")
        }
        let lines = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        guard let status = lines.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw ClientError("bad status line \(lines.first ?? "")")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(bytes[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return Reply(status: status, headers: headers, body: body)
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [], index = 0
        while index < bytes.count {
            guard let lineEnd = (index..<bytes.count).first(where: { bytes[$0] == 13 }),
                  let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self), radix: 16), size > 0 else { break }
            let start = lineEnd + 2
            out += bytes[start..<min(bytes.count, start + size)]
            index = start + size + 2
        }
        return out
    }
}

/// What went wrong on the client side.
struct ClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs blocking work on a new thread and awaits its result.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

func connect(port: Int) throws -> Int32 {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw ClientError("socket failed") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else {
        close(socket)
        throw ClientError("cannot connect to port \(port)")
    }
    return socket
}

func write(_ socket: Int32, _ bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
        // The server may answer (413) and close before reading a large body: stop sending then.
        let sent = bytes[offset...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent <= 0 { return }
        offset += sent
    }
}

func readAll(_ socket: Int32) throws -> [UInt8] {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count <= 0 { return out }
        out += buffer[0..<count]
    }
}

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
