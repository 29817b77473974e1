import Foundation
import Glossa
import GlossaSentencePiece
import Testing

@Suite struct SentencePieceTrainerTests {
    func options(_ type: SentencePieceTrainer.ModelType, vocabulary: Int) -> SentencePieceTrainer.Options {
        var options = SentencePieceTrainer.Options()
        options.modelType = type
        options.vocabularySize = vocabulary
        options.characterCoverage = 1.0
        options.userDefinedSymbols = ["<2de>", "<2en>"]
        options.threads = 1
        return options
    }

    @Test(arguments: [SentencePieceTrainer.ModelType.unigram, .bpe])
    func trainsAUsableModel(type: SentencePieceTrainer.ModelType) throws {
        let sample = try Fixtures.url("sample", "txt").path
        let bytes = try SentencePieceTrainer.trainModel(inputs: [sample], options: options(type, vocabulary: 400))
        let tokenizer = try SentencePieceTokenizer(modelData: bytes)
        #expect(tokenizer.vocabularySize == 400)
        #expect(tokenizer.specialTokens == SpecialTokens(pad: 3, unk: 0, bos: 1, eos: 2))
        #expect(tokenizer.id(for: "<2de>") == 4 && tokenizer.id(for: "<2en>") == 5)
        let line = "Die Datei wurde gespeichert."
        let ids = try tokenizer.encode("<2de> " + line)
        #expect(ids.contains(4))
        #expect(try tokenizer.decode(ids) == "<2de> " + line)
        // Unigram samples the lattice, BPE drops merges; both must repeat under one seed and keep the text.
        let sampling = SubwordSampling(nbest: -1, alpha: 0.3)
        let sampled = try tokenizer.encode(line, sampling: sampling, seed: 11)
        #expect(try tokenizer.encode(line, sampling: sampling, seed: 11) == sampled)
        #expect(try tokenizer.decode(sampled) == line)
    }

    @Test func writesModelAndVocabularyFilesForSeveralInputs() throws {
        let scratch = try Fixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let lines = try Fixtures.lines("sample", "txt")
        let english = scratch.appendingPathComponent("part.en")
        let german = scratch.appendingPathComponent("part.de")
        try lines.prefix(102).joined(separator: "\n").write(to: english, atomically: true, encoding: .utf8)
        try lines.suffix(102).joined(separator: "\n").write(to: german, atomically: true, encoding: .utf8)
        let prefix = scratch.appendingPathComponent("joint").path
        let path = try SentencePieceTrainer.train(
            inputs: [english.path, german.path], modelPrefix: prefix, options: options(.unigram, vocabulary: 300))
        #expect(path == prefix + ".model")
        #expect(FileManager.default.fileExists(atPath: prefix + ".vocab"))
        let tokenizer = try SentencePieceTokenizer(modelPath: path)
        // Both languages shaped the joint vocabulary: their characters are all known.
        #expect(try !tokenizer.encode("Schließen Sie das Fenster.").contains(0))
    }

    @Test func invalidInputIsNamedByFileAndLine() throws {
        let scratch = try Fixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bad = scratch.appendingPathComponent("bad.txt")
        // Line 3 is "broken " and then a lone 0xFF byte at offset 7.
        try Data(Array("fine\nalso fine\nbroken ".utf8) + [0xFF, 0x0A]).write(to: bad)
        #expect(throws: TokenizerError.inFile(path: bad.path, error: .invalidUTF8(line: 3, byteOffset: 7))) {
            try SentencePieceTrainer.trainModel(inputs: [bad.path], options: options(.unigram, vocabulary: 100))
        }
    }

    @Test func badOptionsAreRefusedBeforeTraining() throws {
        let sample = try Fixtures.url("sample", "txt").path
        var cases = [SentencePieceTrainer.Options]()
        var options = options(.unigram, vocabulary: 0)
        cases.append(options)
        options.vocabularySize = 400
        options.characterCoverage = 0.5
        cases.append(options)
        options.characterCoverage = 1
        options.userDefinedSymbols = ["a,b"]
        cases.append(options)
        options.userDefinedSymbols = []
        options.specialTokens = SpecialTokens(pad: 0, unk: 0)
        cases.append(options)
        options.specialTokens = SpecialTokens(unk: nil)
        cases.append(options)
        options.specialTokens = SpecialTokens(unk: 0)
        options.inputSentenceSize = 10
        cases.append(options)
        for bad in cases {
            #expect(throws: TokenizerError.self) { try SentencePieceTrainer.trainModel(inputs: [sample], options: bad) }
        }
        #expect(throws: TokenizerError.self) { try SentencePieceTrainer.trainModel(inputs: [], options: SentencePieceTrainer.Options()) }
        #expect(throws: TokenizerError.self) {
            try SentencePieceTrainer.trainModel(inputs: ["/no/such/file.txt"], options: SentencePieceTrainer.Options())
        }
    }
}
