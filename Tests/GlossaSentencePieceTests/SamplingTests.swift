import GlossaSentencePiece
import Testing

@Suite struct SamplingTests {
    let text = "Click the arrow next to the icon to open the toolbar."

    @Test func sameSeedSameSegmentation() throws {
        let tokenizer = try Fixtures.tokenizer()
        let sampling = SubwordSampling(nbest: -1, alpha: 0.1)
        let first = try tokenizer.encode(text, sampling: sampling, seed: 42)
        for _ in 0..<5 { #expect(try tokenizer.encode(text, sampling: sampling, seed: 42) == first) }
        #expect(try tokenizer.pieces(text, sampling: sampling, seed: 42).map { tokenizer.id(for: $0) ?? 0 } == first)
    }

    @Test func seedsVaryTheSegmentationButNotTheText() throws {
        let tokenizer = try Fixtures.tokenizer()
        let best = try tokenizer.encode(text)
        var seen = Set<[Int]>()
        for seed in UInt64(0)..<20 {
            let ids = try tokenizer.encode(text, sampling: SubwordSampling(nbest: 16, alpha: 0.1), seed: seed)
            #expect(try tokenizer.decode(ids) == text)
            seen.insert(ids)
        }
        #expect(seen.count > 1)
        #expect(seen.contains { $0 != best })
    }

    @Test func batchSamplingIsDeterministic() throws {
        let tokenizer = try Fixtures.tokenizer()
        let sample = try Fixtures.lines("sample", "txt")
        let sampling = SubwordSampling(nbest: -1, alpha: 0.2)
        let first = try tokenizer.encodeBatch(sample, sampling: sampling, seed: 7)
        #expect(try tokenizer.encodeBatch(sample, sampling: sampling, seed: 7) == first)
        #expect(try tokenizer.encodeBatch(sample, sampling: sampling, seed: 8) != first)
    }

    @Test func badSettingsThrow() throws {
        let tokenizer = try Fixtures.tokenizer()
        #expect(throws: TokenizerError.self) { try tokenizer.encode(text, sampling: SubwordSampling(nbest: 4, alpha: -1), seed: 0) }
        #expect(throws: TokenizerError.self) { try tokenizer.encode(text, sampling: SubwordSampling(nbest: 4, alpha: .nan), seed: 0) }
    }
}
