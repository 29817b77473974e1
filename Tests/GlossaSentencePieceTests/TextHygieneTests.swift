import GlossaSentencePiece
import Testing

@Suite struct TextHygieneTests {
    @Test func invalidUTF8NamesTheLine() throws {
        let bytes = Array("first\nsecond\n".utf8) + [0x61, 0x62, 0xC3, 0x28, 0x0A] + Array("fourth\n".utf8)
        #expect(throws: TokenizerError.invalidUTF8(line: 3, byteOffset: 2)) { try TextHygiene().lines(in: bytes) }
        #expect(TokenizerError.invalidUTF8(line: 3, byteOffset: 2).description.contains("line 3"))
    }

    @Test func replacementModeInsertsFFFD() throws {
        let hygiene = TextHygiene(invalidUTF8: .replace)
        #expect(try hygiene.cleanLine([0x61, 0xFF, 0x62]) == "a\u{FFFD}b")
        // A run of bad bytes (here a truncated three-byte sequence) becomes a single replacement character.
        #expect(try hygiene.cleanLine([0x61, 0xE2, 0x82, 0x62]) == "a\u{FFFD}b")
        #expect(try hygiene.cleanLine([0xED, 0xA0, 0x80]) == "\u{FFFD}")  // an encoded surrogate
        #expect(try hygiene.lines(in: [0x78, 0x0A, 0xC0, 0xAF, 0x0A]) == ["x", "\u{FFFD}"])
    }

    @Test func controlCharactersAreStrippedButTabIsKept() throws {
        let hygiene = TextHygiene()
        #expect(try hygiene.cleanLine(Array("a\u{01}b\u{7F}c\u{85}d\te\r".utf8)) == "abcd\te")
        #expect(try hygiene.lines(in: Array("crlf line\r\nnext\r\n".utf8)) == ["crlf line", "next"])
        #expect(try TextHygiene(stripControlCharacters: false).cleanLine(Array("a\u{01}b".utf8)) == "a\u{01}b")
        // Format characters are not controls: a zero-width joiner stays.
        #expect(try hygiene.cleanLine(Array("a\u{200D}b".utf8)) == "a\u{200D}b")
    }

    @Test func nfkcIsAvailable() throws {
        let nfkc = TextHygiene(nfkc: true)
        #expect(try nfkc.cleanLine(Array("ﬁne Ｆｕｌｌ ① x²".utf8)) == "fine Full 1 x2")
        #expect(try nfkc.cleanLine(Array("e\u{301}".utf8)) == "\u{E9}")
        #expect(try TextHygiene().cleanLine(Array("ﬁne".utf8)) == "ﬁne")
    }

    @Test func emptyLinesAreKept() throws {
        let hygiene = TextHygiene()
        #expect(try hygiene.lines(in: Array("a\n\nb\n".utf8)) == ["a", "", "b"])
        #expect(try hygiene.lines(in: Array("no final newline".utf8)) == ["no final newline"])
        #expect(try hygiene.lines(in: [UInt8]()) == [])
        #expect(try hygiene.cleanLine([UInt8]()) == "")
    }

    @Test func cleanLinesPassThroughUnchanged() throws {
        let hygiene = TextHygiene()
        for line in try Fixtures.lines("sample", "txt") {
            #expect(try hygiene.cleanLine(Array(line.utf8)) == line)
        }
    }
}
