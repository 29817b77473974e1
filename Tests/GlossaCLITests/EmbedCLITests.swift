import Foundation
import Testing

/// `glossa embed` and `glossa similar` with the tiny BERT sentence-transformers fixture.
@Suite struct EmbedCLITests {
    let model = GlossaRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/bert-tiny").path

    struct Case: Decodable { var text: String; var embedding: [Float]; var mean_pooled: [Float] }
    struct Expected: Decodable { var cases: [Case] }

    func expected() throws -> [Case] {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: model).appendingPathComponent("expected.json"))).cases
    }

    func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        let na = a.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return dot / max(na * nb, 1e-12)
    }

    func parseJSONL(_ text: String) throws -> [[Float]] {
        try outputLines(text).map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Double]).map(Float.init)
        }
    }

    @Test func stdinLinesGiveTheSentenceTransformersVectorsInOrder() throws {
        let cases = try expected().filter { !$0.text.contains("\n") && !$0.text.contains("\t") }
        let input = cases.map(\.text).joined(separator: "\n") + "\n"
        let run = try runGlossa(["embed", "--model", model, "--batch-size", "4"], stdin: Data(input.utf8))
        #expect(run.status == 0, "\(run.stderr)")
        let vectors = try parseJSONL(run.stdout)
        try #require(vectors.count == cases.count, "one vector per input line, the empty one included")
        for (vector, c) in zip(vectors, cases) { #expect(cosine(vector, c.embedding) >= 0.9999, "\(c.text)") }
    }

    @Test func argumentsTSVAndOverrides() throws {
        let cases = try expected()
        let tsv = try runGlossa(["embed", "--model", model, "--format", "tsv", cases[0].text, cases[1].text])
        #expect(tsv.status == 0, "\(tsv.stderr)")
        let rows = outputLines(tsv.stdout).map { $0.split(separator: "\t").compactMap { Float($0) } }
        try #require(rows.count == 2 && rows.allSatisfy { $0.count == 32 })
        #expect(cosine(rows[1], cases[1].embedding) >= 0.9999)

        let raw = try runGlossa(["embed", "--model", model, "--no-normalize", cases[0].text])
        let vector = try #require(try parseJSONL(raw.stdout).first)
        for (a, b) in zip(vector, cases[0].mean_pooled) { #expect(abs(a - b) <= 1e-4 + 1e-4 * abs(b)) }

        let cls = try runGlossa(["embed", "--model", model, "--pooling", "cls", cases[0].text])
        #expect(cls.status == 0, "\(cls.stderr)")
        let clsVector = try #require(try parseJSONL(cls.stdout).first)
        #expect(cosine(clsVector, cases[0].embedding) < 0.9999)
    }

    @Test func npyFileHoldsTheMatrix() throws {
        let cases = try expected()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-embed-\(UUID().uuidString).npy")
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try runGlossa(["embed", "--model", model, "--format", "npy", "--output", out.path], stdin: Data("Hello world!\na\n".utf8))
        #expect(run.status == 0, "\(run.stderr)")
        let bytes = [UInt8](try Data(contentsOf: out))
        #expect(Array(bytes[0..<8]) == [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.contains("'descr': '<f4'") && header.contains("'shape': (2, 32)") && header.hasSuffix("\n"))
        let floats = stride(from: 10 + headerLength, to: bytes.count, by: 4).map { o in
            Float(bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
        }
        try #require(floats.count == 64)
        #expect(cosine(Array(floats[0..<32]), cases[0].embedding) >= 0.9999)
        #expect(cosine(Array(floats[32..<64]), cases.first { $0.text == "a" }?.embedding ?? []) >= 0.9999)
    }

    @Test func badFlagsFail() throws {
        let npy = try runGlossa(["embed", "--model", model, "--format", "npy", "x"])
        #expect(npy.status != 0 && npy.stderr.contains("--output"))
        let missing = try runGlossa(["embed", "--model", "/nonexistent/model", "x"])
        #expect(missing.status != 0 && missing.stderr.contains("not a directory"))
        let pooling = try runGlossa(["embed", "--model", model, "--pooling", "median", "x"])
        #expect(pooling.status != 0 && pooling.stderr.contains("median"))
        let help = try runGlossa(["embed", "--help"])
        #expect(help.stdout.contains("weightedmean") && help.stdout.contains("--no-normalize"))
    }

    @Test func similarFindsLinesAndCachesTheCorpus() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-similar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = folder.appendingPathComponent("corpus.txt")
        try Data("the quick brown fox\nhallo welt\n\nthe lazy dog\nprice of the file\n".utf8).write(to: corpus)

        let first = try runGlossa(["similar", "--model", model, "--corpus", corpus.path, "--top-k", "2", "the lazy dog", "hallo welt"])
        #expect(first.status == 0, "\(first.stderr)")
        let lines = outputLines(first.stdout)
        try #require(lines.count == 5, "two blocks of two lines and a blank line between:\n\(first.stdout)")
        #expect(lines[0] == "1.0000\tthe lazy dog" && lines[2] == "" && lines[3] == "1.0000\thallo welt")
        let npy = URL(fileURLWithPath: corpus.path + ".glossa-embeddings.npy")
        let key = URL(fileURLWithPath: corpus.path + ".glossa-embeddings.json")
        #expect(FileManager.default.fileExists(atPath: npy.path) && FileManager.default.fileExists(atPath: key.path))

        // The cache is read: vectors zeroed in place (same shape) give zero scores.
        var cached = try Data(contentsOf: npy)
        let dataStart = cached.count - 4 * 32 * 4
        cached.replaceSubrange(dataStart..<cached.count, with: [UInt8](repeating: 0, count: 4 * 32 * 4))
        try cached.write(to: npy)
        let reused = try runGlossa(["similar", "--model", model, "--corpus", corpus.path, "--top-k", "1"], stdin: Data("the lazy dog\n".utf8))
        #expect(outputLines(reused.stdout) == ["0.0000\tthe quick brown fox"], "\(reused.stdout)")

        // A changed corpus invalidates it.
        try Data("the lazy dog\nhallo welt\n".utf8).write(to: corpus)
        let fresh = try runGlossa(["similar", "--model", model, "--corpus", corpus.path, "--top-k", "1", "the lazy dog"])
        #expect(outputLines(fresh.stdout) == ["1.0000\tthe lazy dog"], "\(fresh.stdout)")
    }
}

/// `glossa train` with an encoder recipe: a contrastive embedder on a few translation pairs.
@Suite struct TrainEmbedderCLITests {
    @Test func tinyEmbedderRecipeTrainsAndLoads() throws {
        let root = GlossaRunner.repositoryRoot
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-train-embedder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func firstLines(_ name: String, _ count: Int) throws -> URL {
            let text = try String(contentsOf: root.appendingPathComponent("corpora/\(name)"), encoding: .utf8)
            let url = folder.appendingPathComponent(name)
            try Data((text.split(separator: "\n").prefix(count).joined(separator: "\n") + "\n").utf8).write(to: url)
            return url
        }
        let recipe: [String: Any] = [
            "plugin": "bert",
            "model": ["hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 32],
            "data": ["train": ["source": try firstLines("en-de.train.en", 40).path, "target": try firstLines("en-de.train.de", 40).path],
                     "dev": ["source": try firstLines("en-de.dev.en", 10).path, "target": try firstLines("en-de.dev.de", 10).path]],
            "tokenizer": ["model": root.appendingPathComponent("models/en-de/source.spm").path, "vocab_size": 8000, "model_type": "unigram", "character_coverage": 1.0],
            "training": ["max_length": 32, "learning_rate": 0.001, "warmup_steps": 2, "steps": 6, "seed": 1],
            "contrastive": ["batch_size": 8],
            "output": folder.appendingPathComponent("model").path,
        ]
        let recipeURL = folder.appendingPathComponent("recipe.json")
        try JSONSerialization.data(withJSONObject: recipe).write(to: recipeURL)
        let run = try runGlossa(["train", "--recipe", recipeURL.path, "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("dev P@1 before training") && run.stderr.contains("dev P@1 after 6 steps"), "\(run.stderr)")
        let card = try String(contentsOf: folder.appendingPathComponent("model/README.md"), encoding: .utf8)
        #expect(card.contains("P@1"))
        let embed = try runGlossa(["embed", "--model", folder.appendingPathComponent("model").path, "--format", "tsv", "Open the file."])
        #expect(embed.status == 0, "\(embed.stderr)")
        #expect(outputLines(embed.stdout).first?.split(separator: "\t").count == 16)
    }
}
