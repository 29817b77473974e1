import Foundation
import Testing

/// `glossa classify` with the tiny transformers-made BertForSequenceClassification fixture.
@Suite struct ClassifyCLITests {
    let model = GlossaRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/bert-classifier-tiny").path
    /// The fixture's most probable label for each text (expected.json).
    static let texts = ["the house is good", "hello world", "", "a longer sentence about the small cat and the dog"]
    static let labels = ["negative", "neutral", "negative", "negative"]

    func file(_ text: String, _ ext: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-classify-\(UUID().uuidString).\(ext)")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test func oneLinePerInputLine() throws {
        let run = try runGlossa(["classify", "--model", model], stdin: Data((Self.texts.joined(separator: "\n") + "\n").utf8))
        #expect(run.status == 0, "\(run.stderr)")
        let lines = outputLines(run.stdout)
        try #require(lines.count == Self.texts.count, "one line per input line, the empty one included: \(run.stdout)")
        for (line, label) in zip(lines, Self.labels) {
            let fields = line.split(separator: "\t").map(String.init)
            #expect(fields.count == 2 && fields[0] == label && (Double(fields[1]).map { $0 > 0.4 && $0 <= 1 } ?? false), "\(line)")
        }
    }

    @Test func topKAndJSONLines() throws {
        let tsv = try runGlossa(["classify", "--model", model, "--top-k", "2", Self.texts[0]])
        #expect(tsv.status == 0, "\(tsv.stderr)")
        let fields = outputLines(tsv.stdout).first?.split(separator: "\t").map(String.init) ?? []
        #expect(fields.count == 4 && fields[0] == "negative" && fields[2] == "neutral", "\(tsv.stdout)")

        let jsonl = try runGlossa(["classify", "--model", model, "--format", "jsonl", "--top-k", "10"], stdin: Data("hello world\nthe house is good\n".utf8))
        #expect(jsonl.status == 0, "\(jsonl.stderr)")
        let objects = try outputLines(jsonl.stdout).map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        try #require(objects.count == 2)
        let predictions = try #require(objects[0]["predictions"] as? [[String: Any]])
        #expect(predictions.count == 3, "a top-k above the label count gives every label")
        #expect(predictions.first?["label"] as? String == "neutral")
        let total = predictions.compactMap { $0["probability"] as? Double }.reduce(0, +)
        #expect(abs(total - 1) < 1e-4)
    }

    @Test func evaluateReportsScoresAndWritesTheMatrix() throws {
        let data = try file(zip(Self.labels, Self.texts).map { "\($0)\t\($1)" }.joined(separator: "\n") + "\npositive\thello world\n", "tsv")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-classify-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGlossa(["classify", "--model", model, "--evaluate", data, "--report", folder.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("accuracy 0.8000, macro-F1"), "\(run.stdout)")
        #expect(run.stdout.contains("| positive | 0.0000 | 0.0000 | 0.0000 | 1 |"), "\(run.stdout)")
        let svg = try String(contentsOf: folder.appendingPathComponent("confusion.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("evaluation.json"))) as? [String: Any])
        #expect(json["confusion"] as? [[Int]] == [[3, 0, 0], [0, 1, 0], [0, 1, 0]])
    }

    @Test func badFlagsAndInputAreClearErrors() throws {
        for (args, fragment) in [(["--top-k", "0"], "--top-k must be in 1...1000000"), (["--batch-size", "0"], "--batch-size must be in"),
                                 (["--format", "xml"], "--format"), (["--report", "/tmp/x"], "--report needs --evaluate")] {
            let run = try runGlossa(["classify", "--model", model] + args, stdin: Data("a\n".utf8))
            #expect(run.status == 64 && run.stderr.contains(fragment), "\(args): \(run.status) \(run.stderr)")
        }
        let missing = try runGlossa(["classify", "--model", "/nonexistent-model-dir"], stdin: Data())
        #expect(missing.status == 64 && missing.stderr.contains("is not a directory"))
        let notClassifier = try runGlossa(["classify", "--model", GlossaRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/bert-tiny").path], stdin: Data("a\n".utf8))
        #expect(notClassifier.status == 1 && notClassifier.stderr.contains("id2label"), "\(notClassifier.stderr)")
        let noTab = try file("negative the house\n", "tsv")
        let bad = try runGlossa(["classify", "--model", model, "--evaluate", noTab])
        #expect(bad.status == 1 && bad.stderr.contains(":1: expected label<TAB>text"), "\(bad.stderr)")
        let unknown = try file("happy\tthe house\n", "tsv")
        let unknownRun = try runGlossa(["classify", "--model", model, "--evaluate", unknown])
        #expect(unknownRun.status == 1 && unknownRun.stderr.contains("\"happy\" is not one of"), "\(unknownRun.stderr)")
        let invalid = try runGlossa(["classify", "--model", model], stdin: Data([0x61, 0x0A, 0xFF, 0xFE, 0x0A]))
        #expect(invalid.status == 1 && invalid.stderr.contains("--replace-invalid"), "\(invalid.stderr)")
        #expect(outputLines(invalid.stdout).count == 1, "the line before the bad one is still classified")
    }
}
