import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaWordPiece

@Suite struct WordPieceTests {
    @Test func idsAndTokensMatchTransformers() throws {
        let tokenizer = try WordPieceTokenizer(directory: BertFixture.directory)
        #expect(tokenizer.maxLength == 32)
        for c in try BertFixture.expected().cases {
            let ids = try tokenizer.encodeForModel(c.text)
            #expect(ids == c.ids, "\(c.text)")
            #expect(ids.map { tokenizer.piece(for: $0) } == c.tokens, "\(c.text)")
        }
    }

    @Test func embedderFramesLikeTheTokenizer() throws {
        let embedder = try Embedder.load(BertFixture.directory, registry: builtinPlugins)
        for c in try BertFixture.expected().cases {
            #expect(try embedder.tokenize(c.text) == c.ids, "\(c.text)")
        }
    }

    func tiny(lowercase: Bool = true, stripAccents: Bool? = nil) throws -> WordPieceTokenizer {
        try WordPieceTokenizer(
            pieces: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "runn", "##ing", ",", "!", "é", "e", "Héllo", "hello"],
            basic: BasicTokenizer(lowercase: lowercase, stripAccents: stripAccents), maxLength: 6)
    }

    @Test func greedyLongestMatchFirst() throws {
        let t = try tiny()
        #expect(try t.pieces("unaffable running!") == ["un", "##aff", "##able", "runn", "##ing", "!"])
        #expect(try t.pieces("unaffablex") == ["[UNK]"])  // an unmatched remainder makes the whole word unknown
        #expect(try t.decode(try t.encode("unaffable, running")) == "unaffable , running")
    }

    @Test func longWordsAreUnknownAndTruncationKeepsSeparator() throws {
        let t = try tiny()
        #expect(try t.encode(String(repeating: "e", count: 101)) == [1])
        #expect(try t.encodeForModel("un un un un un un un") == [2, 5, 5, 5, 5, 3])
        #expect(try t.encodeForModel("") == [2, 3])
    }

    @Test func casingAndAccents() throws {
        #expect(try tiny().pieces("HÉLLO") == ["hello"])
        #expect(try tiny(lowercase: false).pieces("Héllo") == ["Héllo"])
        #expect(try tiny(lowercase: true, stripAccents: false).pieces("É") == ["é"])
    }

    @Test func literalSpecialTokensKeepTheirIds() throws {
        #expect(try tiny().encode("hello [SEP] hello[MASK]") == [15, 3, 15, 4])
    }

    @Test func basicTokenizationRules() {
        let basic = BasicTokenizer()
        func words(_ s: String) -> [String] { basic.words(s).map { String(String.UnicodeScalarView($0)) } }
        #expect(words("a\u{0}b\u{200B}c\td") == ["abc", "d"])  // NUL and a format character dropped, tab splits
        #expect(words("中文x") == ["中", "文", "x"])
        #expect(words("wait—what?!") == ["wait", "—", "what", "?", "!"])
        #expect(words("Crème\u{00A0}Brûlée") == ["creme", "brulee"])
        #expect(words("$5 ^_^ `x`") == ["$", "5", "^", "_", "^", "`", "x", "`"])
    }

    @Test func missingVocabularyIsAClearError() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-wordpiece-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: GlossaError.self) { try WordPieceTokenizer(directory: empty) }
        try Data("[PAD]\nhello\n".utf8).write(to: empty.appendingPathComponent("vocab.txt"))
        do {
            _ = try WordPieceTokenizer(directory: empty)
            Issue.record("a vocabulary without [UNK] loaded")
        } catch let error as GlossaError {
            #expect(error.description.contains("[UNK]"))
        }
    }
}

/// `WordPieceTokenizer` as a `PersistableTokenizer`: `vocab.txt` and `tokenizer_config.json` read back as the same tokenizer.
@Suite struct WordPiecePersistingTests {
    static func roundTrip(_ tokenizer: WordPieceTokenizer) throws -> WordPieceTokenizer {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-wordpiece-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try tokenizer.files(named: "tokenizer.model")
        #expect(Set(files.keys) == ["vocab.txt", "tokenizer_config.json"])
        for (name, data) in files { try data.write(to: folder.appendingPathComponent(name)) }
        return try WordPieceTokenizer(directory: folder)
    }

    @Test func fixtureReadsBackTheSame() throws {
        let original = try WordPieceTokenizer(directory: BertFixture.directory)
        let loaded = try Self.roundTrip(original)
        #expect(loaded.maxLength == original.maxLength && loaded.specialTokens == original.specialTokens)
        #expect(loaded.vocabularySize == original.vocabularySize)
        for c in try BertFixture.expected().cases {
            #expect(try loaded.encodeForModel(c.text) == c.ids, "\(c.text)")
        }
    }

    /// Cased, accent-keeping settings and other special spellings survive, not just the defaults.
    @Test func settingsReadBackTheSame() throws {
        let original = try WordPieceTokenizer(
            pieces: ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>", "Héllo", "hello", "##s", "!"],
            basic: BasicTokenizer(lowercase: false, stripAccents: false, splitCJK: false), maxLength: 7,
            unknown: "<unk>", classifier: "<cls>", separator: "<sep>", padding: "<pad>", mask: "<mask>")
        let loaded = try Self.roundTrip(original)
        #expect(loaded.basic.lowercase == false && loaded.basic.stripAccents == false && loaded.basic.splitCJK == false)
        #expect(loaded.maxLength == 7 && loaded.unknownPiece == "<unk>" && loaded.maskPiece == "<mask>")
        for text in ["Héllo hellos!", "hello <mask> Hello"] {
            #expect(try loaded.encodeForModel(text) == original.encodeForModel(text), "\(text)")
        }
    }

    @Test func aPieceWithANewlineCannotBeStored() throws {
        let tokenizer = try WordPieceTokenizer(pieces: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a\nb"])
        #expect { try tokenizer.files(named: "vocab.txt") } throws: { "\($0)".contains("vocab.txt") }
    }
}
