import Foundation
import Testing

/// `glossa tokenizer encode` and `decode` with the SentencePiece fixture model.
@Suite struct TokenizerCLITests {
    let model = GlossaRunner.tokenizerModel

    @Test func encodeKeepsOneOutputLinePerInputLine() throws {
        let run = try runGlossa(["tokenizer", "encode", "--model", model], stdin: Data("Open the file.\n\nHallo Welt\n".utf8))
        #expect(run.status == 0, "\(run.stderr)")
        let lines = outputLines(run.stdout)
        try #require(lines.count == 3, "got:\n\(run.stdout)")
        #expect(!lines[0].isEmpty && lines[0].split(separator: " ").allSatisfy { Int($0) != nil })
        #expect(lines[1].isEmpty, "an empty line encodes to an empty line")
        #expect(!lines[2].isEmpty)
    }

    @Test func encodePiecesMatchTheIds() throws {
        let text = Data("Open the file.\n".utf8)
        let ids = try runGlossa(["tokenizer", "encode", "--model", model], stdin: text)
        let pieces = try runGlossa(["tokenizer", "encode", "--model", model, "--output-format", "piece"], stdin: text)
        #expect(ids.status == 0 && pieces.status == 0)
        let pieceList = pieces.stdout.split(whereSeparator: \.isWhitespace)
        #expect(pieceList.count == ids.stdout.split(whereSeparator: \.isWhitespace).count)
        #expect(pieceList.first?.hasPrefix("\u{2581}") == true, "SentencePiece marks a word start with U+2581")
    }

    @Test func invalidUTF8StopsWithTheLineNumber() throws {
        var input = Data("Open the file.\n\nbad ".utf8)
        input.append(0xFF)
        input.append(contentsOf: Array(" byte\nafter\n".utf8))
        let run = try runGlossa(["tokenizer", "encode", "--model", model], stdin: input)
        #expect(run.status == 1, "an ordinary error exit, not a crash or success: \(run.status)")
        #expect(run.stderr.contains("line 3"), "\(run.stderr)")
        #expect(run.stderr.contains("UTF-8"))
        #expect(outputLines(run.stdout).count == 2, "the lines before the bad one are still written")
    }

    @Test func replaceInvalidKeepsGoing() throws {
        var input = Data("bad ".utf8)
        input.append(0xFF)
        input.append(contentsOf: Array("\nafter\n".utf8))
        let run = try runGlossa(["tokenizer", "encode", "--model", model, "--replace-invalid"], stdin: input)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(outputLines(run.stdout).count == 2)
    }

    @Test func decodeRoundTrip() throws {
        let sentences = ["Open the file.", "Click OK to save the changes.", "", "Klicken Sie auf OK, um die Änderungen zu speichern."]
        let text = Data((sentences.joined(separator: "\n") + "\n").utf8)
        let encoded = try runGlossa(["tokenizer", "encode", "--model", model], stdin: text)
        #expect(encoded.status == 0, "\(encoded.stderr)")
        let decoded = try runGlossa(["tokenizer", "decode", "--model", model], stdin: Data(encoded.stdout.utf8))
        #expect(decoded.status == 0, "\(decoded.stderr)")
        #expect(outputLines(decoded.stdout) == sentences)
    }

    @Test func decodeRejectsANonNumberWithItsLine() throws {
        let run = try runGlossa(["tokenizer", "decode", "--model", model], stdin: Data("5 6\n7 x\n".utf8))
        #expect(run.status == 1)
        #expect(run.stderr.contains("line 2"), "\(run.stderr)")
    }

    @Test func missingModelIsAUsageError() throws {
        let run = try runGlossa(["tokenizer", "encode", "--model", "/nonexistent/glossa-test.model"], stdin: Data("x\n".utf8))
        #expect(run.status != 0)
        #expect(run.stderr.contains("/nonexistent/glossa-test.model"))
    }
}
