import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension GlossaServer {
    /// OpenAI's `POST /v1/embeddings`: `input` a string or an array of strings, `model`, `encoding_format` `float`
    /// (numbers as `glossa embed` prints them) or `base64` (little-endian float32).
    func embeddings(_ fields: RequestFields) async throws -> Response {
        let (texts, _) = try fields.texts("input", maxItems: configuration.maxItems)
        let service: EmbeddingService = try Self.named(try fields.string("model"), in: embedders, kind: "embedder", by: \.name)
        let encoding = try fields.string("encoding_format") ?? "float"
        guard encoding == "float" || encoding == "base64" else {
            throw ServerError.badRequest(field: "encoding_format", message: "encoding_format must be \"float\" or \"base64\"")
        }
        let tokens = try service.tokens(texts, field: "input")
        let vectors = try await service.scheduler.submit(texts, tokens: tokens.reduce(0, +), timeout: timeout)
        let data = vectors.enumerated().map { index, vector in
            let embedding = encoding == "float" ? JSONText.floats(vector)
                : JSONText.string(vector.withUnsafeBufferPointer { Data(buffer: $0) }.base64EncodedString())
            return JSONText.object([("object", JSONText.string("embedding")), ("index", String(index)), ("embedding", embedding)])
        }
        let total = String(tokens.reduce(0, +))
        return Self.json(JSONText.object([
            ("object", JSONText.string("list")), ("data", JSONText.array(data)), ("model", JSONText.string(service.name)),
            ("usage", JSONText.object([("prompt_tokens", total), ("total_tokens", total)])),
        ]))
    }

    /// OpenAI's `POST /v1/completions`: `prompt` (a string or an array), `max_tokens` (default 16), `temperature`
    /// (default 1; 0 is greedy), `top_p`, `seed` (default 0), `n`, `stream` (server-sent events, one per token).
    func completions(_ fields: RequestFields) async throws -> Response {
        let service: CompletionService = try Self.named(try fields.string("model"), in: languageModels, kind: "language model", by: \.name)
        let (prompts, _) = try fields.texts("prompt", maxItems: configuration.maxItems)
        let samples = try fields.integer("n", in: 1...1024) ?? 1
        if prompts.count * samples > configuration.maxItems {
            throw ServerError.tooManyItems(field: "n", count: prompts.count * samples, limit: configuration.maxItems)
        }
        var job = CompletionJob(
            prompt: "", promptTokens: 0, maxTokens: try fields.integer("max_tokens", in: 1...100_000) ?? 16, samples: samples,
            temperature: Float(try fields.number("temperature", in: 0...100) ?? 1),
            topP: Float(try fields.number("top_p", in: 0...1) ?? 1), seed: try fields.unsigned("seed") ?? 0, stream: nil)
        if job.topP == 0 { throw ServerError.badRequest(field: "top_p", message: "top_p must be in (0, 1]") }
        for unsupported in ["logprobs", "echo", "best_of", "suffix", "stop"] where fields.has(unsupported) {
            throw ServerError.badRequest(field: unsupported, message: "\(unsupported) is not supported by glossa serve")
        }
        var jobs: [CompletionJob] = []
        for (index, prompt) in prompts.enumerated() {
            job.prompt = prompt
            job.promptTokens = try service.promptTokens(prompt, field: prompts.count == 1 ? "prompt" : "prompt[\(index)]")
            jobs.append(job)
        }
        let cost = jobs.reduce(0) { $0 + $1.promptTokens + $1.maxTokens * $1.samples }
        let promptTokens = jobs.reduce(0) { $0 + $1.promptTokens }
        let id = "cmpl-\(UUID().uuidString.lowercased())"
        let created = Int(Date().timeIntervalSince1970)
        @Sendable func choice(_ index: Int, text: String, finish: String?) -> String {
            JSONText.object([("text", JSONText.string(text)), ("index", String(index)), ("logprobs", "null"),
                             ("finish_reason", finish.map(JSONText.string) ?? "null")])
        }
        @Sendable func envelope(_ choices: [String], usage: String? = nil) -> String {
            var members = [("id", JSONText.string(id)), ("object", JSONText.string("text_completion")), ("created", String(created)),
                           ("model", JSONText.string(service.name)), ("choices", JSONText.array(choices))]
            if let usage { members.append(("usage", usage)) }
            return JSONText.object(members)
        }
        @Sendable func usage(_ results: [CompletionResult]) -> String {
            let prompt = promptTokens, completion = results.reduce(0) { $0 + $1.completionTokens }
            return JSONText.object([("prompt_tokens", String(prompt)), ("completion_tokens", String(completion)),
                                    ("total_tokens", String(prompt + completion))])
        }

        guard try fields.bool("stream") == true else {
            let results = try await service.scheduler.submit(jobs, tokens: cost, timeout: timeout)
            var choices: [String] = []
            for (prompt, result) in results.enumerated() {
                for (sample, text) in result.texts.enumerated() {
                    choices.append(choice(prompt * samples + sample, text: text, finish: result.finishReasons[sample]))
                }
            }
            return Self.json(envelope(choices, usage: usage(results)))
        }

        // Streaming: a queue that is already full is still answered 503 before the stream starts.
        if service.scheduler.depth + jobs.count > configuration.maxQueue { throw ServerError.queueFull }
        let (events, sink) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        for index in jobs.indices {
            jobs[index].stream = { sample, piece in
                sink.yield("data: " + envelope([choice(index * samples + sample, text: piece, finish: nil)]) + "\n\n")
            }
        }
        let streamed = jobs
        let timeout = self.timeout
        let body = ResponseBody { writer in
            let work = Task {
                do {
                    let results = try await service.scheduler.submit(streamed, tokens: cost, timeout: timeout)
                    for (prompt, result) in results.enumerated() {
                        for (sample, finish) in result.finishReasons.enumerated() {
                            sink.yield("data: " + envelope([choice(prompt * samples + sample, text: "", finish: finish)]) + "\n\n")
                        }
                    }
                    sink.yield("data: " + envelope([], usage: usage(results)) + "\n\n")
                } catch {
                    let failure = ServerError.from(error)
                    sink.yield("data: " + JSONText.object([("error", JSONText.object([
                        ("message", JSONText.string(failure.message)), ("code", String(failure.status.code))]))]) + "\n\n")
                }
                sink.yield("data: [DONE]\n\n")
                sink.finish()
            }
            do {
                for await event in events { try await writer.write(ByteBuffer(string: event)) }
                try await writer.finish(nil)
            } catch {
                // The client is gone: stop generating for it.
                work.cancel()
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// The service a request names, or the only one of its kind when it names none; a 400 naming `model` otherwise.
    static func named<Service>(_ name: String?, in services: [Service], kind: String, by key: (Service) -> String) throws -> Service {
        if let name {
            guard let service = services.first(where: { key($0) == name }) else {
                throw ServerError.badRequest(field: "model", message: "no \(kind) named '\(name)'; see GET /v1/models")
            }
            return service
        }
        guard let only = services.first, services.count == 1 else {
            throw ServerError.badRequest(field: "model", message: services.isEmpty ? "this server has no \(kind)" : "model is required (this server has several \(kind)s)")
        }
        return only
    }
}
