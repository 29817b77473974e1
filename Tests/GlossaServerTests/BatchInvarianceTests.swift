import Foundation
import Glossa
import GlossaBuiltins
import GlossaServer
import Testing

/// A request's answer is what the SDK (and so the CLI) gives for its input alone, whatever else shares its batch.
@Suite(.serialized) struct BatchInvarianceTests {
    /// Each sentence alone, through the SDK call `glossa translate` makes.
    static func singleTranslations() throws -> [String] {
        let translator = try Translator.load(Fixtures.translatorDirectory, registry: builtinPlugins)
        return try Fixtures.sentences.map { try translator.translate([$0], search: translator.defaultSearch()).first?.first?.text ?? "" }
    }

    /// The batch the scheduler would form (all sentences, sorted by length inside) against each sentence alone.
    @Test func translatorBatchEqualsSingleSentences() throws {
        let translator = try Translator.load(Fixtures.translatorDirectory, registry: builtinPlugins)
        let batched = try translator.translate(Fixtures.sentences, search: translator.defaultSearch(),
                                               batchSize: Fixtures.sentences.count, batchTokens: 4096).map { $0.first?.text ?? "" }
        #expect(batched == (try Self.singleTranslations()))
    }

    /// Concurrent one-sentence requests (batched by the server within the wait) against each sentence alone.
    @Test func concurrentTranslateRequestsMatchSingleSentences() async throws {
        let expected = try Self.singleTranslations()
        try await withServer({ $0.maxWaitMilliseconds = 50 }) { client in
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (index, sentence) in Fixtures.sentences.enumerated() {
                    group.addTask {
                        let reply = try await client.post("/translate", json: ["q": sentence, "source": "en", "target": "de"])
                        return (index, reply.json["translatedText"] as? String ?? "<\(reply.status) \(reply.text)>")
                    }
                }
                var answers = [String](repeating: "", count: Fixtures.sentences.count)
                for try await (index, text) in group { answers[index] = text }
                return answers
            }
            #expect(answers == expected)
            // An array request batched with the others gives the same, in order.
            let array = try await client.post("/translate", json: ["q": Fixtures.sentences, "source": "en", "target": "de"])
            #expect(array.json["translatedText"] as? [String] == expected)
        }
    }

    @Test func concurrentEmbeddingRequestsMatchSingleTexts() async throws {
        let embedder = try Embedder.load(Fixtures.embedderDirectory, registry: builtinPlugins)
        let expected = try Fixtures.sentences.map { try embedder.embed([$0]).first ?? [] }
        try await withServer({ $0.maxWaitMilliseconds = 50 }) { client in
            let answers = try await withThrowingTaskGroup(of: (Int, [Double]).self) { group in
                for (index, sentence) in Fixtures.sentences.enumerated() {
                    group.addTask {
                        let reply = try await client.post("/v1/embeddings", json: ["input": sentence])
                        return (index, (reply.json["data"] as? [[String: Any]])?.first?["embedding"] as? [Double] ?? [])
                    }
                }
                var answers = [[Double]](repeating: [], count: Fixtures.sentences.count)
                for try await (index, vector) in group { answers[index] = vector }
                return answers
            }
            // The server prints each Float in its shortest form, which reads back as that Float exactly.
            #expect(answers.map { $0.map(Float.init) } == expected)
        }
    }

    /// Continuous batching: a short completion that arrives while a long one generates joins it between steps and is
    /// answered while the long one still runs, with the text the SDK gives it alone.
    @Test func shortCompletionJoinsARunningGeneration() async throws {
        let language = try LanguageModel.load(Fixtures.languageModelDirectory, registry: builtinPlugins)
        var sampler = StochasticSampler(temperature: 0.8, seed: 7)
        var expected = ""
        _ = try language.continuation(of: "Open the", sampler: &sampler, maxNewTokens: 4) { expected += $0 }
        // Token room for the long request's 1024 samples, so the short one may join it.
        try await withServer({ $0.maxWaitMilliseconds = 0; $0.maxItems = 1024; $0.maxBatchTokens = 1 << 20 }) { client in
            // Long enough (1024 samples, the most `n` allows, one after another: seconds even on a fast machine, where 16
            // samples of the tiny model could end before the short request's round trip) that it is still running when the
            // short one is answered; closing it at the end abandons the rest.
            let long = try client.start("/v1/completions", json: ["prompt": "The", "n": 1024, "max_tokens": 120])
            defer { close(long) }
            try await client.waitFor("glossa_running_items{model=\"lm\"}", 1)
            let short = try await client.post("/v1/completions", json: ["prompt": "Open the", "max_tokens": 4, "temperature": 0.8, "seed": 7])
            #expect((short.json["choices"] as? [[String: Any]])?.first?["text"] as? String == expected)
            // The long request is still running: the short one did not wait for it.
            let running = try await client.metric("glossa_running_items{model=\"lm\"}")
            #expect(running == 1, "running items \(running)")
        }
    }

    /// Concurrent completions with their own seeds: each is what `LanguageModel.continuation` (as `glossa generate`) gives.
    @Test func concurrentCompletionsMatchTheirSeeds() async throws {
        let language = try LanguageModel.load(Fixtures.languageModelDirectory, registry: builtinPlugins)
        let prompts = Array(Fixtures.sentences.prefix(6).map { String($0.prefix(20)) })
        let expected = try prompts.enumerated().map { index, prompt -> String in
            var sampler = StochasticSampler(temperature: 0.9, seed: UInt64(index))
            var text = ""
            _ = try language.continuation(of: prompt, sampler: &sampler, maxNewTokens: 8) { text += $0 }
            return text
        }
        try await withServer({ $0.maxWaitMilliseconds = 50 }) { client in
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (index, prompt) in prompts.enumerated() {
                    group.addTask {
                        let reply = try await client.post("/v1/completions", json: ["prompt": prompt, "max_tokens": 8, "temperature": 0.9, "seed": index])
                        return (index, (reply.json["choices"] as? [[String: Any]])?.first?["text"] as? String ?? "<\(reply.status)>")
                    }
                }
                var answers = [String](repeating: "", count: prompts.count)
                for try await (index, text) in group { answers[index] = text }
                return answers
            }
            #expect(answers == expected)
        }
    }
}
