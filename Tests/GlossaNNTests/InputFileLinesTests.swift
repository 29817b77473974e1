import Foundation
import Testing
import GlossaNN

/// `InputFile.lines` and `decodeLine`, the one set of line rules every reader of text files and standard input uses.
@Suite struct InputFileLinesTests {
    /// The lines of a scratch file holding `bytes`.
    func lines(of bytes: [UInt8], replacingInvalid: Bool = false) throws -> [String] {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("text.txt")
        try Data(bytes).write(to: url)
        return try InputFile.lines(url.path, replacingInvalid: replacingInvalid)
    }

    @Test func crlfReadsLikeLF() throws {
        #expect(try lines(of: Array("one\r\ntwo\r\n".utf8)) == ["one", "two"])
        #expect(try lines(of: Array("one\r\ntwo".utf8)) == ["one", "two"])
        // Only the `\r` of a line ending goes; one inside a line, or a second one, is text.
        #expect(try lines(of: Array("a\rb\r\r\n".utf8)) == ["a\rb\r"])
    }

    @Test func finalNewlineIsOptional() throws {
        #expect(try lines(of: Array("a\nb".utf8)) == ["a", "b"])
        #expect(try lines(of: Array("a\nb\n".utf8)) == ["a", "b"])
        #expect(try lines(of: Array("\n".utf8)) == [""])
    }

    @Test func emptyLinesAreKept() throws {
        #expect(try lines(of: Array("a\n\n\nb\n\n".utf8)) == ["a", "", "", "b", ""])
        #expect(try lines(of: Array("\r\n\r\n".utf8)) == ["", ""])
    }

    @Test func emptyFileHasNoLines() throws {
        #expect(try lines(of: []) == [])
    }

    @Test func invalidUTF8NamesTheFileAndTheLine() throws {
        let bytes: [UInt8] = Array("good\n\n".utf8) + [0x61, 0xFF, 0x62, 0x0A] + Array("after\n".utf8)
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bad.txt").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: InputFileError.self) { try InputFile.lines(path, purpose: "the corpus") }
        #expect(error.path == path)
        #expect(error.invalidLine == 3)
        #expect(error.description == "Cannot read the corpus '\(path)': line 3 is not valid UTF-8 text.")
        #expect(try lines(of: bytes, replacingInvalid: true) == ["good", "", "a\u{FFFD}b", "after"])
    }

    @Test func decodeLineIsTheSharedRule() {
        func decode(_ bytes: [UInt8], replacing: Bool = false) -> String? {
            bytes.withUnsafeBufferPointer { InputFile.decodeLine($0, replacingInvalid: replacing) }
        }
        #expect(decode(Array("Grüße\r".utf8)) == "Grüße")
        #expect(decode([]) == "")
        #expect(decode([0x0D]) == "")
        #expect(decode([0xED, 0xA0, 0x80]) == nil, "an encoded surrogate is not UTF-8")
        #expect(decode([0xC0, 0xAF, 0x0D], replacing: true) == "\u{FFFD}\u{FFFD}", "U+FFFD per maximal invalid sequence, then the \\r goes")
    }

    @Test func missingFileIsAnInputFileError() {
        #expect(throws: InputFileError.self) { try InputFile.lines("/nonexistent/glossa/lines.txt") }
    }
}
