import Foundation
import Glossa
import GlossaBuiltins
import GlossaServer
import Testing

/// The shapes of the three APIs, `/health`, `/languages`, `/v1/models` and `/metrics`.
@Suite(.serialized) struct APITests {
    @Test func translateKeepsTheShapeOfQ() async throws {
        try await withServer { client in
            let one = try await client.post("/translate", json: ["q": "Hello.", "source": "en", "target": "de", "format": "text"])
            #expect(one.status == 200)
            #expect(one.json["translatedText"] is String)
            let many = try await client.post("/translate", json: ["q": ["Hello.", "", "A cat."], "source": "auto", "target": "de"])
            let texts = try #require(many.json["translatedText"] as? [String])
            #expect(texts.count == 3)
            #expect(texts[1] == "")
            #expect(texts[0] == one.json["translatedText"] as? String)
            // LibreTranslate clients may send a form.
            let form = try await client.send("POST", "/translate", body: Array("q=Hello.&source=en&target=de".utf8),
                                             headers: ["Content-Type": "application/x-www-form-urlencoded"])
            #expect(form.json["translatedText"] as? String == one.json["translatedText"] as? String)
        }
    }

    @Test func languagesListsThePairs() async throws {
        try await withServer { client in
            let reply = try await client.send("GET", "/languages")
            let list = try #require((try JSONSerialization.jsonObject(with: Data(reply.body))) as? [[String: Any]])
            #expect(list.count == 1)
            #expect(list.first?["code"] as? String == "en")
            #expect(list.first?["targets"] as? [String] == ["de"])
        }
    }

    @Test func embeddingsHaveOpenAIsShape() async throws {
        try await withServer { client in
            let reply = try await client.post("/v1/embeddings", json: ["input": ["hello world", "a"], "model": "embed"])
            #expect(reply.status == 200)
            #expect(reply.json["object"] as? String == "list")
            let data = try #require(reply.json["data"] as? [[String: Any]])
            #expect(data.map { $0["index"] as? Int } == [0, 1])
            let vector = try #require(data.first?["embedding"] as? [Double])
            #expect(!vector.isEmpty)
            let usage = try #require(reply.json["usage"] as? [String: Any])
            #expect((usage["prompt_tokens"] as? Int ?? 0) > 0)
            let base64 = try await client.post("/v1/embeddings", json: ["input": "hello world", "encoding_format": "base64"])
            let encoded = try #require((base64.json["data"] as? [[String: Any]])?.first?["embedding"] as? String)
            let floats = try #require(Data(base64Encoded: encoded)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            #expect(floats == vector.map(Float.init))
        }
    }

    @Test func completionsHaveOpenAIsShape() async throws {
        try await withServer { client in
            let reply = try await client.post("/v1/completions", json: ["prompt": "The house", "max_tokens": 6, "n": 2, "seed": 7, "temperature": 0.8])
            #expect(reply.status == 200)
            #expect(reply.json["object"] as? String == "text_completion")
            let choices = try #require(reply.json["choices"] as? [[String: Any]])
            #expect(choices.map { $0["index"] as? Int } == [0, 1])
            #expect(choices.allSatisfy { ["stop", "length"].contains($0["finish_reason"] as? String ?? "") })
            let usage = try #require(reply.json["usage"] as? [String: Any])
            #expect(usage["prompt_tokens"] as? Int == 3)
        }
    }

    /// The streamed pieces join into the text the same request gives unstreamed.
    @Test func completionsStreamServerSentEvents() async throws {
        try await withServer { client in
            let request: [String: Any] = ["prompt": "The house", "max_tokens": 8, "seed": 3]
            let whole = try await client.post("/v1/completions", json: request)
            let text = try #require((whole.json["choices"] as? [[String: Any]])?.first?["text"] as? String)
            let stream = try await client.post("/v1/completions", json: request.merging(["stream": true]) { $1 })
            #expect(stream.headers["content-type"] == "text/event-stream")
            let events = stream.text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
            #expect(events.last == "[DONE]")
            var joined = ""
            for event in events.dropLast() {
                let object = try #require((try JSONSerialization.jsonObject(with: Data(event.utf8))) as? [String: Any])
                for choice in object["choices"] as? [[String: Any]] ?? [] { joined += choice["text"] as? String ?? "" }
            }
            #expect(joined == text)
        }
    }

    @Test func healthModelsAndMetrics() async throws {
        try await withServer { client in
            let health = try await client.send("GET", "/health")
            #expect(health.json["status"] as? String == "ready")
            #expect((health.json["models"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } == ["translator", "embedder", "language-model"])
            let models = try await client.send("GET", "/v1/models")
            #expect((models.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["en-de", "embed", "lm"])
            _ = try await client.post("/v1/embeddings", json: ["input": "x"])
            let metrics = try await client.send("GET", "/metrics").text
            #expect(metrics.contains("glossa_http_requests_total{route=\"/v1/embeddings\",status=\"200\"} 1"))
            #expect(metrics.contains("glossa_queue_depth_items{model=\"embed\"} 0"))
            #expect(metrics.contains("glossa_batch_items_count{model=\"embed\"} 1"))
            #expect(metrics.contains("glossa_http_request_duration_seconds_bucket"))
        }
    }

    @Test func modelFlagsAreParsedAndChecked() throws {
        let spec = try ModelSpec(parsing: "en-de=models/en-de")
        #expect(spec.name == "en-de")
        #expect(spec.directory.path.hasSuffix("models/en-de"))
        #expect(throws: ServerConfigurationError.self) { try ModelSpec(parsing: "models/en-de") }
        #expect(throws: ServerConfigurationError.self) { try ModelSpec(parsing: "a b=models/en-de") }
        #expect(throws: ServerConfigurationError.self) { try ModelSpec(parsing: "x=") }
        #expect(try ModelKind.detect(Fixtures.translatorDirectory, registry: builtinPlugins) == .translator)
        #expect(try ModelKind.detect(Fixtures.embedderDirectory, registry: builtinPlugins) == .embedder)
        #expect(try ModelKind.detect(Fixtures.languageModelDirectory, registry: builtinPlugins) == .languageModel)
    }
}
