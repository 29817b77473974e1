import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Each limit and each kind of bad input of `glossa serve`, on a loopback server with the tiny models.
@Suite(.serialized) struct LimitTests {
    @Test func bodyOverTheLimitIs413() async throws {
        try await withServer({ $0.maxRequestBytes = 1024 }) { client in
            let reply = try await client.post("/translate", json: ["q": String(repeating: "a", count: 2000), "source": "en", "target": "de"])
            #expect(reply.status == 413)
            #expect(reply.text.contains("1024 bytes"))
        }
    }

    @Test func tooManyItemsIs413() async throws {
        try await withServer({ $0.maxItems = 3 }) { client in
            let reply = try await client.post("/v1/embeddings", json: ["input": ["a", "b", "c", "d"]])
            #expect(reply.status == 413)
            #expect(reply.errorField == "input")
            let samples = try await client.post("/v1/completions", json: ["prompt": ["a", "b"], "n": 2, "max_tokens": 2])
            #expect(samples.status == 413)
            #expect(samples.errorField == "n")
        }
    }

    @Test func invalidJSONIs400NamingTheBody() async throws {
        try await withServer { client in
            let reply = try await client.send("POST", "/translate", body: Array("{\"q\": ".utf8), headers: ["Content-Type": "application/json"])
            #expect(reply.status == 400)
            #expect(reply.errorField == "body")
            let array = try await client.send("POST", "/v1/embeddings", body: Array("[1, 2]".utf8), headers: ["Content-Type": "application/json"])
            #expect(array.status == 400)
            #expect(array.errorField == "body")
        }
    }

    @Test func wrongTypesAre400NamingTheField() async throws {
        try await withServer { client in
            let q = try await client.post("/translate", json: ["q": 5, "source": "en", "target": "de"])
            #expect(q.status == 400)
            #expect(q.errorField == "q")
            let item = try await client.post("/v1/embeddings", json: ["input": ["fine", 7]])
            #expect(item.errorField == "input[1]")
            let tokens = try await client.post("/v1/completions", json: ["prompt": "x", "max_tokens": "many"])
            #expect(tokens.status == 400)
            #expect(tokens.errorField == "max_tokens")
            let fraction = try await client.post("/v1/completions", json: ["prompt": "x", "max_tokens": 1.5])
            #expect(fraction.errorField == "max_tokens")
            let temperature = try await client.post("/v1/completions", json: ["prompt": "x", "temperature": -1])
            #expect(temperature.errorField == "temperature")
            let stream = try await client.post("/v1/completions", json: ["prompt": "x", "stream": "yes"])
            #expect(stream.errorField == "stream")
        }
    }

    @Test func invalidUTF8Is400() async throws {
        try await withServer { client in
            let body = Array("{\"q\": \"ab".utf8) + [0xC3, 0x28] + Array("\", \"source\": \"en\", \"target\": \"de\"}".utf8)
            let reply = try await client.send("POST", "/translate", body: body, headers: ["Content-Type": "application/json"])
            #expect(reply.status == 400)
            #expect(reply.errorField == "body")
            #expect(reply.text.contains("UTF-8"))
        }
    }

    @Test func unknownModelIs400NamingModel() async throws {
        try await withServer { client in
            let embed = try await client.post("/v1/embeddings", json: ["input": "x", "model": "nope"])
            #expect(embed.status == 400)
            #expect(embed.errorField == "model")
            let translate = try await client.post("/translate", json: ["q": "x", "model": "nope"])
            #expect(translate.errorField == "model")
            let pair = try await client.post("/translate", json: ["q": "x", "source": "en", "target": "fr"])
            #expect(pair.status == 400)
            #expect(pair.errorField == "target")
        }
    }

    @Test func unknownRouteIs404AsJSON() async throws {
        try await withServer { client in
            let reply = try await client.send("GET", "/nowhere")
            #expect(reply.status == 404)
            #expect((reply.json["error"] as? [String: Any])?["message"] != nil)
        }
    }

    @Test func apiKeyIsRequiredWhenConfigured() async throws {
        try await withServer({ $0.apiKeys = ["first-key", "s3cret"] }) { client in
            let missing = try await client.post("/v1/embeddings", json: ["input": "x"])
            #expect(missing.status == 401)
            let wrong = try await client.post("/v1/embeddings", json: ["input": "x"], headers: ["Authorization": "Bearer s3cres"])
            #expect(wrong.status == 401)
            let longer = try await client.post("/v1/embeddings", json: ["input": "x"], headers: ["Authorization": "Bearer s3cret2"])
            #expect(longer.status == 401)
            let right = try await client.post("/v1/embeddings", json: ["input": "x"], headers: ["Authorization": "Bearer s3cret"])
            #expect(right.status == 200)
            let health = try await client.send("GET", "/health")
            #expect(health.status == 200)
        }
    }

    /// A long generation holds the language model's worker; with room for one waiting item, a second request waits
    /// and a third is refused with 503 and Retry-After.
    @Test func fullQueueIs503WithRetryAfter() async throws {
        try await withServer({ $0.maxQueue = 1; $0.maxWaitMilliseconds = 0 }) { client in
            let long = try client.start("/v1/completions", json: ["prompt": "The", "n": 64, "max_tokens": 120])
            defer { close(long) }
            try await client.waitFor("glossa_running_items{model=\"lm\"}", 1)
            let waiting = try client.start("/v1/completions", json: ["prompt": "The", "max_tokens": 2])
            defer { close(waiting) }
            try await client.waitFor("glossa_queue_depth_items{model=\"lm\"}", 1)
            let refused = try await client.post("/v1/completions", json: ["prompt": "The", "max_tokens": 2])
            #expect(refused.status == 503)
            #expect(refused.headers["retry-after"] == "1")
        }
    }

    /// A request past `--timeout` is answered 504, and its generation stops, freeing the worker.
    @Test func slowRequestIs504AndAbandoned() async throws {
        try await withServer({ $0.timeoutSeconds = 0.2; $0.maxWaitMilliseconds = 0 }) { client in
            let reply = try await client.post("/v1/completions", json: ["prompt": "The", "n": 64, "max_tokens": 120])
            #expect(reply.status == 504)
            try await client.waitFor("glossa_running_items{model=\"lm\"}", 0)
            let next = try await client.post("/v1/completions", json: ["prompt": "The", "max_tokens": 2])
            #expect(next.status == 200)
        }
    }

    /// A client that leaves while its request waits takes it out of the queue, and one that leaves while its request
    /// runs stops the generation.
    @Test func disconnectFreesTheSlot() async throws {
        try await withServer({ $0.maxQueue = 1; $0.maxWaitMilliseconds = 0 }) { client in
            let long = try client.start("/v1/completions", json: ["prompt": "The", "n": 64, "max_tokens": 120])
            try await client.waitFor("glossa_running_items{model=\"lm\"}", 1)
            let waiting = try client.start("/v1/completions", json: ["prompt": "The", "max_tokens": 2])
            try await client.waitFor("glossa_queue_depth_items{model=\"lm\"}", 1)
            close(waiting)
            try await client.waitFor("glossa_queue_depth_items{model=\"lm\"}", 0)
            close(long)
            try await client.waitFor("glossa_running_items{model=\"lm\"}", 0)
            let next = try await client.post("/v1/completions", json: ["prompt": "The", "max_tokens": 2])
            #expect(next.status == 200)
        }
    }
}
