import Foundation
import GlossaSentencePiece
import Testing

/// The committed fixtures made by `scripts/make-spm-fixture`.
enum Fixtures {
    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static func url(_ name: String, _ ext: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures") else {
            throw Missing(description: "fixture Fixtures/\(name).\(ext) is missing from the test bundle")
        }
        return url
    }

    static func lines(_ name: String, _ ext: String) throws -> [String] {
        let text = try String(contentsOf: url(name, ext), encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    static func tokenizer() throws -> SentencePieceTokenizer {
        try SentencePieceTokenizer(modelPath: url("tiny", "model").path)
    }

    /// A fresh directory under the system temporary directory, for tests that write files.
    static func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-spm-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
