import Foundation
import Testing

/// `glossa score` argument checks and `glossa bench` JSON output.
@Suite struct ScoreAndBenchCLITests {
    /// Writes `contents` to a fresh temporary file and returns its URL.
    private func temporaryFile(_ contents: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-cli-\(UUID().uuidString).txt")
        try Data(contents.utf8).write(to: url)
        return url
    }

    @Test func scoreWithMismatchedLineCountsFails() throws {
        let hypotheses = try temporaryFile("the cat sat\non the mat\n")
        let references = try temporaryFile("the cat sat\n")
        defer {
            try? FileManager.default.removeItem(at: hypotheses)
            try? FileManager.default.removeItem(at: references)
        }
        let run = try runGlossa(["score", "--hypotheses", hypotheses.path, "--references", references.path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("has 2 lines"), "\(run.stderr)")
        #expect(run.stderr.contains("has 1"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func scoreOfIdenticalFilesIsJSON() throws {
        let file = try temporaryFile("the cat sat on the mat\nopen the file and save it\n")
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try runGlossa(["score", "--hypotheses", file.path, "--references", file.path, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) is [String: Any])
    }

    @Test func scoreReadsCRLFLikeLFAndNamesABadLine() throws {
        let lf = try temporaryFile("the cat sat on the mat\nopen the file and save it\n")
        let crlf = try temporaryFile("the cat sat on the mat\r\nopen the file and save it")
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-cli-\(UUID().uuidString).txt")
        try Data(Array("fine\n".utf8) + [0x61, 0xFF, 0x0A]).write(to: bad)
        defer { for url in [lf, crlf, bad] { try? FileManager.default.removeItem(at: url) } }
        let run = try runGlossa(["score", "--hypotheses", crlf.path, "--references", lf.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("BLEU = 100.00 "), "\(run.stdout)")
        let refused = try runGlossa(["score", "--hypotheses", bad.path, "--references", lf.path])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the hypotheses file '\(bad.path)': line 2 is not valid UTF-8"), "\(refused.stderr)")
    }

    @Test func benchSoftmaxPrintsJSONLines() throws {
        let run = try runGlossa(["bench", "softmax", "--seconds", "0.05", "--json", "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = outputLines(run.stdout)
        try #require(!lines.isEmpty)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
            for key in ["workload", "shape", "unit", "glossa", "reference", "reference_name", "ratio"] {
                #expect(object[key] != nil, "missing \(key) in \(line)")
            }
        }
        #expect(lines.contains { $0.contains("\"workload\":\"softmax\"") })
    }

    @Test func benchRNNReportsAGRUStepAgainstItsProducts() throws {
        let run = try runGlossa(["bench", "rnn", "--seconds", "0.02", "--json", "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        let objects = try outputLines(run.stdout).map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        try #require(objects.count == 3)
        #expect(objects.allSatisfy { $0["workload"] as? String == "rnn" && (($0["ratio"] as? Double) ?? 0) > 0 })
        #expect((objects[0]["shape"] as? String)?.hasPrefix("GRU step B64") == true)
    }

    @Test func benchRejectsAnUnknownWorkload() throws {
        let run = try runGlossa(["bench", "no-such-kernel"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("no-such-kernel"))
    }
}
