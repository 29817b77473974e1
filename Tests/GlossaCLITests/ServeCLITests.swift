import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `glossa serve` as a user runs it: the binary on a free port, answered with exactly what `glossa translate`,
/// `embed` and `generate` print, and a clean exit on SIGTERM.
@Suite(.serialized) struct ServeCLITests {
    static let root = GlossaRunner.repositoryRoot
    static let translator = root.appendingPathComponent("Tests/Fixtures/marian-tiny").path
    static let embedder = root.appendingPathComponent("Tests/Fixtures/bert-tiny").path
    static let languageModel = root.appendingPathComponent("models/en-de-lm").path

    /// A running `glossa serve` and the port it printed.
    final class Server: @unchecked Sendable {
        let process = Process()
        let errors: URL
        private(set) var port = 0

        init(_ arguments: [String]) throws {
            errors = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-serve-\(UUID().uuidString).log")
            try Data().write(to: errors)
            process.executableURL = try GlossaRunner.binary()
            process.arguments = ["serve", "--port", "0"] + arguments
            process.standardError = try FileHandle(forWritingTo: errors)
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            for _ in 0..<1000 where process.isRunning {
                let log = String(decoding: (try? Data(contentsOf: errors)) ?? Data(), as: UTF8.self)
                if let range = log.range(of: #"listening on http://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                    port = Int(log[range].split(separator: ":").last ?? "") ?? 0
                    return
                }
                Thread.sleep(forTimeInterval: 0.02)
            }
            process.terminate()
            throw RunnerError(description: "glossa serve did not start: \(String(decoding: (try? Data(contentsOf: errors)) ?? Data(), as: UTF8.self))")
        }

        /// POSTs `json` and returns the answer's body as a JSON object.
        func post(_ path: String, _ json: [String: Any]) throws -> [String: Any] {
            guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { throw RunnerError(description: "bad path \(path)") }
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var body = Data()
            URLSession.shared.dataTask(with: request) { data, _, _ in
                body = data ?? Data()
                done.signal()
            }.resume()
            done.wait()
            return (try JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        }

        /// The body of a GET, as text.
        func get(_ path: String) throws -> String {
            guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { throw RunnerError(description: "bad path \(path)") }
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var body = Data()
            URLSession.shared.dataTask(with: url) { data, _, _ in
                body = data ?? Data()
                done.signal()
            }.resume()
            done.wait()
            return String(decoding: body, as: UTF8.self)
        }

        /// Sends SIGTERM and returns the exit status.
        func stop() -> Int32 {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: errors)
            return process.terminationStatus
        }
    }

    @Test func answersAsTheCLIDoesAndStopsOnSIGTERM() throws {
        let server = try Server(["--model", "mt=\(Self.translator)", "--model", "embed=\(Self.embedder)", "--model", "lm=\(Self.languageModel)"])
        let lines = ["Hello world.", "A longer sentence, with more words in it than the first one has.", ""]
        let translated = try server.post("/translate", ["q": lines, "source": "en", "target": "de"])["translatedText"] as? [String]
        let cli = try runGlossa(["translate", "--model", Self.translator] + lines)
        #expect(translated == outputLines(cli.stdout))

        let embedded = try server.post("/v1/embeddings", ["input": "Hello world."])
        let vector = ((embedded["data"] as? [[String: Any]])?.first?["embedding"] as? [Double])?.map(Float.init)
        let cliVector = try runGlossa(["embed", "--model", Self.embedder, "Hello world."]).stdout
        let expected = cliVector.trimmingCharacters(in: CharacterSet(charactersIn: "[]\n")).split(separator: ",").compactMap {
            Float($0.trimmingCharacters(in: .whitespaces))
        }
        #expect(vector == expected)

        let completion = try server.post("/v1/completions", ["prompt": "The house", "max_tokens": 10, "seed": 5, "temperature": 0.7, "n": 2])
        let texts = (completion["choices"] as? [[String: Any]])?.compactMap { $0["text"] as? String } ?? []
        let generated = try runGlossa(["generate", "--model", Self.languageModel, "--max-new-tokens", "10", "--seed", "5",
                                       "--temperature", "0.7", "--num-samples", "2", "The house"])
        #expect(texts.map { "The house" + $0 } == outputLines(generated.stdout))
        #expect(server.stop() == 0)
    }

    /// SIGTERM while a generation runs: the server stops accepting, answers it in full, and exits 0.
    @Test func sigtermFinishesWhatIsInFlight() async throws {
        let server = try Server(["--model", "lm=\(Self.languageModel)"])
        let answer = Task.detached {
            ((try server.post("/v1/completions", ["prompt": "The", "n": 8, "max_tokens": 100]))["choices"] as? [[String: Any]])?.count
        }
        for _ in 0..<2000 {
            if (try? server.get("/metrics"))?.contains("glossa_running_items{model=\"lm\"} 1") == true { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        kill(server.process.processIdentifier, SIGTERM)
        #expect(try await answer.value == 8)
        #expect(server.stop() == 0)
    }
}
