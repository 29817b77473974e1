import Foundation
import Glossa
import GlossaSentencePiece
import Testing

@Suite struct SentencePieceTokenizerTests {
    @Test func idsAndPiecesEqualSpmEncode() throws {
        let tokenizer = try Fixtures.tokenizer()
        let sample = try Fixtures.lines("sample", "txt")
        let expectedIds = try Fixtures.lines("sample", "ids")
        let expectedPieces = try Fixtures.lines("sample", "pieces")
        #expect(sample.count == 204)
        #expect(expectedIds.count == sample.count && expectedPieces.count == sample.count)
        for (index, line) in sample.enumerated() {
            let ids = try tokenizer.encode(line).map(String.init).joined(separator: " ")
            let pieces = try tokenizer.pieces(line).joined(separator: " ")
            #expect(ids == expectedIds[index], "ids of sample line \(index + 1)")
            #expect(pieces == expectedPieces[index], "pieces of sample line \(index + 1)")
        }
    }

    @Test func batchEqualsOneByOneAndGoesThroughTheProtocol() throws {
        let tokenizer = try Fixtures.tokenizer()
        let sample = try Fixtures.lines("sample", "txt")
        let serial = try sample.map { try tokenizer.encode($0) }
        let erased: any Tokenizer = tokenizer
        #expect(try erased.encodeBatch(sample) == serial)
        #expect(try tokenizer.encodeBatch([]) == [])
    }

    @Test func roundTripGivesTheTextBack() throws {
        let tokenizer = try Fixtures.tokenizer()
        // The model's nmt_nfkc normaliser turns "…" into "...", so the text comes back in NFKC form.
        let nfkc = TextHygiene(nfkc: true)
        var checked = 0
        for line in try Fixtures.lines("sample", "txt") {
            let ids = try tokenizer.encode(line)
            // An unknown character cannot come back; the sample has none for most lines.
            guard !ids.contains(tokenizer.specialTokens.unk ?? -1) else { continue }
            #expect(try tokenizer.decode(ids) == nfkc.cleanLine(Array(line.utf8)))
            checked += 1
        }
        #expect(checked > 150)
    }

    @Test func vocabularyAndSpecialIds() throws {
        let tokenizer = try Fixtures.tokenizer()
        #expect(tokenizer.vocabularySize == 1000)
        #expect(tokenizer.specialTokens == SpecialTokens(pad: 3, unk: 0, bos: 1, eos: 2))
        #expect(tokenizer.piece(for: 0) == "<unk>")
        #expect(tokenizer.id(for: "<2de>") == 4)
        #expect(tokenizer.id(for: "no such piece") == nil)
        #expect(tokenizer.piece(for: 1000).isEmpty && tokenizer.piece(for: -1).isEmpty)
        for id in [5, 100, 999] { #expect(tokenizer.id(for: tokenizer.piece(for: id)) == id) }
        #expect(tokenizer.isControl(1) && tokenizer.isControl(2) && !tokenizer.isControl(10))
        // A user-defined symbol stays one piece (after the "▁" of the dummy prefix) and decodes back.
        let tagged = try tokenizer.encode("<2de> Hello")
        #expect(tagged.contains(4))
        #expect(try tokenizer.decode(tagged) == "<2de> Hello")
    }

    @Test func decodeDropsControlIdsAndRejectsUnknownIds() throws {
        let tokenizer = try Fixtures.tokenizer()
        let ids = try tokenizer.encode("The file could not be saved.")
        #expect(try tokenizer.decode([1] + ids + [2, 3, 3]) == "The file could not be saved.")
        #expect(throws: TokenizerError.idOutOfRange(id: 1000, vocabularySize: 1000)) { try tokenizer.decode([5, 1000]) }
        #expect(throws: TokenizerError.idOutOfRange(id: -1, vocabularySize: 1000)) { try tokenizer.decode([-1]) }
    }

    @Test func emptyLineEncodesToNothing() throws {
        let tokenizer = try Fixtures.tokenizer()
        #expect(try tokenizer.encode("") == [])
        #expect(try tokenizer.pieces("") == [])
        #expect(try tokenizer.decode([]) == "")
    }

    @Test func loadsFromBytesAsFromFile() throws {
        let data = try Data(contentsOf: Fixtures.url("tiny", "model"))
        let fromBytes = try SentencePieceTokenizer(modelData: data)
        #expect(try fromBytes.encode("Guten Morgen!") == Fixtures.tokenizer().encode("Guten Morgen!"))
    }

    @Test func brokenModelsAreErrorsNotCrashes() throws {
        let data = [UInt8](try Data(contentsOf: Fixtures.url("tiny", "model")))
        let broken: [String: [UInt8]] = [
            "truncated": Array(data.prefix(data.count / 2)),
            "garbage": (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) },
            "empty": [],
            "text": Array("this is not a model\n".utf8),
        ]
        for (name, bytes) in broken {
            do {
                _ = try SentencePieceTokenizer(modelData: bytes, source: name)
                Issue.record("the \(name) model loaded")
            } catch let error as TokenizerError {
                guard case .invalidModel(let source, let reason) = error else {
                    Issue.record("unexpected error \(error) for \(name)")
                    continue
                }
                #expect(source == name && !reason.isEmpty)
            }
        }
        let scratch = try Fixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let truncated = scratch.appendingPathComponent("truncated.model")
        try Data(data.prefix(1000)).write(to: truncated)
        #expect(throws: TokenizerError.self) { try SentencePieceTokenizer(modelPath: truncated.path) }
        let missing = scratch.appendingPathComponent("missing.model").path
        do {
            _ = try SentencePieceTokenizer(modelPath: missing)
            Issue.record("a missing model loaded")
        } catch let error as TokenizerError {
            guard case .unreadableFile(let path, _) = error else { throw error }
            #expect(path == missing)
        }
    }
}
