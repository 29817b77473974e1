import Foundation
import Glossa
import GlossaSentencePiece
import Testing

/// `SentencePieceTokenizer` as a `PersistableTokenizer`: its file is the `.model` it came from, byte for byte.
@Suite struct SentencePiecePersistingTests {
    @Test func filesAreTheModelBytesUnderTheLayoutsName() throws {
        let source = try Fixtures.url("tiny", "model")
        let tokenizer = try Fixtures.tokenizer()
        let files = try tokenizer.files(named: "source.spm")
        #expect(Array(files.keys) == ["source.spm"])
        #expect(files["source.spm"] == (try Data(contentsOf: source)))
        #expect(tokenizer.modelData == (try Data(contentsOf: source)))
    }

    @Test func writtenFileReadsBackAsTheSameTokenizer() throws {
        let tokenizer = try Fixtures.tokenizer()
        let folder = try Fixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("tokenizer.model")
        try #require(try tokenizer.files(named: "tokenizer.model")["tokenizer.model"]).write(to: file)
        let loaded = try SentencePieceTokenizer(modelPath: file.path)
        #expect(loaded.vocabularySize == tokenizer.vocabularySize && loaded.specialTokens == tokenizer.specialTokens)
        for line in try Fixtures.lines("sample", "txt") {
            #expect(try loaded.encode(line) == tokenizer.encode(line), "\(line)")
        }
    }

    /// A tokenizer made from bytes (not a file) keeps them too.
    @Test func tokenizerFromBytesKeepsThem() throws {
        let bytes = try Data(contentsOf: Fixtures.url("tiny", "model"))
        #expect(try SentencePieceTokenizer(modelData: bytes).files(named: "x.model") == ["x.model": bytes])
    }
}
