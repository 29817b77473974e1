import Foundation
@testable import GlossaSentencePiece
import Testing

/// `SentencePieceModelCheck`: damaged normalization tables are refused at load (libsentencepiece would read past
/// them on the first encode), while every real model passes.
@Suite struct ModelCheckTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theFuzzFindingsAreRefusedByName() throws {
        let folder = Self.root.appendingPathComponent("Fuzz/Regressions/sentencepiece-model")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
        #expect(!names.isEmpty)
        for name in names {
            let bytes = try Data(contentsOf: folder.appendingPathComponent(name))
            let error = #expect(throws: TokenizerError.self) { try SentencePieceTokenizer(modelData: bytes, source: name) }
            // crash-*: damaged tables Glossa refuses; leak-*: a model libsentencepiece throws on (the shim leaked it).
            if name.hasPrefix("crash-") {
                #expect(error?.description.contains("normalization table") == true, "\(String(describing: error))")
            } else {
                #expect(error?.description.contains("not a usable SentencePiece model") == true, "\(String(describing: error))")
            }
        }
    }

    @Test func realModelsPassAndEncode() throws {
        for path in ["Tests/GlossaSentencePieceTests/Fixtures/tiny.model", "Tests/Fixtures/marian-tiny/source.spm", "models/en-de/source.spm"] {
            let bytes = [UInt8](try Data(contentsOf: Self.root.appendingPathComponent(path)))
            #expect(!(SentencePieceModelCheck.charsmaps(in: bytes) ?? []).isEmpty, "\(path) has a normalization table")
            try SentencePieceModelCheck.validate(bytes, source: path)
            #expect(!(try SentencePieceTokenizer(modelData: bytes, source: path).encode("Hello world")).isEmpty)
        }
    }

    @Test func damagedTablesAreDescribed() {
        #expect(SentencePieceModelCheck.problem(inCharsmap: [1, 2, 3]) != nil)
        #expect(SentencePieceModelCheck.problem(inCharsmap: [0xFF, 0xFF, 0, 0, 1, 2, 3, 4]) != nil)  // trie larger than the table
        // A trie offset past the trie's one unit.
        #expect(SentencePieceModelCheck.problem(inCharsmap: [4, 0, 0, 0, 0x00, 0x04, 0, 0, 0x61, 0]) != nil)
        #expect(SentencePieceModelCheck.problem(inCharsmap: [4, 0, 0, 0, 0, 0, 0, 0, 0x61]) != nil)  // strings not NUL-terminated
        #expect(SentencePieceModelCheck.problem(inCharsmap: []) == nil)
    }
}
