import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor
import GlossaTestSupport
@testable import GlossaRNN

/// Lower-case letters as ids 2…27; 0 is EOS, 1 unknown, 29 padding.
struct LetterTokenizer: Tokenizer {
    var vocabularySize: Int { 30 }
    var specialTokens: SpecialTokens { SpecialTokens(pad: 29, unk: 1, bos: nil, eos: 0) }
    func encode(_ text: String) throws -> [Int] { text.unicodeScalars.map { id(for: String($0)) ?? 1 } }
    func pieces(_ text: String) throws -> [String] { text.unicodeScalars.map { String($0) } }
    func decode(_ ids: [Int]) throws -> String { ids.filter { (2...27).contains($0) }.map { piece(for: $0) }.joined() }
    func piece(for id: Int) -> String {
        (2...27).contains(id) ? String(UnicodeScalar(UInt8(96 + id - 1))) : "<\(id)>"
    }
    func id(for piece: String) -> Int? {
        guard let v = piece.unicodeScalars.first?.value, piece.unicodeScalars.count == 1, (97...122).contains(v) else { return nil }
        return Int(v) - 95
    }
}

/// The RNN as a pooled sentence encoder and as a causal language model.
@Suite struct RNNEncoderAndLanguageModelTests {
    func languageModelConfiguration(_ cell: CellKind) -> RNNConfiguration {
        var c = RNNConfiguration(vocabSize: 30, cell: cell, embeddingDim: 16, hiddenSize: 24, decoderLayers: 2, attention: .none,
                                 dropout: 0, padTokenId: 29, eosTokenId: 0)
        c.decoderStartTokenId = 0
        return c
    }

    @Test func pooledEncoderThroughTheEmbedder() throws {
        let json = Data(#"{"vocab_size": 30, "pad_token_id": 29, "cell": "lstm", "embedding_dim": 8, "hidden_size": 6, "encoder_layers": 2}"#.utf8)
        guard case .encoder(let make) = try builtinPlugins.plugin(named: "rnn-encoder").factory else {
            Issue.record("rnn-encoder is not an encoder plugin")
            return
        }
        let model = try make(PluginConfiguration(json: json))
        try checkEncoderConformance(model.encoder, ids: [[2, 3, 4, 0], [5, 0], [6, 7, 8, 9, 10, 0]], padId: 29)
        for mode in [PoolingMode.mean, .max, .lastToken] {
            let embedder = Embedder(model: model, tokenizer: LetterTokenizer(), pooler: mode.pooler, normalize: true)
            let texts = ["open the file", "ok", "close the dialog now"]
            let vectors = try embedder.embed(texts, batchSize: 3)
            #expect(vectors.count == 3 && vectors.allSatisfy { $0.count == 12 }, "both directions of 6")
            for v in vectors { #expect(abs(v.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4) }
            assertClose(try embedder.embed([texts[1]])[0], vectors[1], rtol: 1e-5, atol: 1e-6, "\(mode) alone vs in a batch")
        }
    }

    @Test(arguments: [CellKind.gru, .lstm])
    func languageModelStepsMatchWholeSequenceWithRaggedPrompts(cell: CellKind) throws {
        let model = try RNNLanguageModel(languageModelConfiguration(cell), seed: 2)
        let sequences = [[0, 3, 4, 5, 6, 7], [0, 8, 9, 10, 11, 12]]
        try withoutGrad {
            let whole = try model.decoder.decode(TokenBatch(sequences, padId: 29), memory: nil, state: nil, context: ForwardContext())
            // Prompts of 2 and 4 tokens in one call (the first padded), then one token per call.
            let state = model.decoder.makeState()
            let prompts = [Array(sequences[0].prefix(2)), Array(sequences[1].prefix(4))]
            let first = try model.decoder.decode(TokenBatch(prompts, padId: 29), memory: nil, state: state, context: ForwardContext())
            assertClose(first.slice(axis: 0, 0..<1).slice(axis: 1, 1..<2).scalars,
                        whole.slice(axis: 0, 0..<1).slice(axis: 1, 1..<2).scalars, rtol: 1e-4, atol: 1e-5)
            let next = TokenBatch([[sequences[0][2]], [sequences[1][4]]], padId: 29)
            let step = try model.decoder.decode(next, memory: nil, state: state, context: ForwardContext())
            assertClose(step.slice(axis: 0, 0..<1).scalars, whole.slice(axis: 0, 0..<1).slice(axis: 1, 2..<3).scalars, rtol: 1e-4, atol: 1e-5)
            assertClose(step.slice(axis: 0, 1..<2).scalars, whole.slice(axis: 0, 1..<2).slice(axis: 1, 4..<5).scalars, rtol: 1e-4, atol: 1e-5)
        }
    }

    @Test func languageModelLearnsAndGenerates() throws {
        let model = try RNNLanguageModel(languageModelConfiguration(.gru), seed: 3)
        let tokenizer = LetterTokenizer()
        let text = try tokenizer.encode("abcdabcdabcdabcd")
        let parameters = model.namedParameters()
        var optimizer = Adam()
        let context = ForwardContext(training: true)
        func loss() throws -> Tensor {
            // Every rotation of the text, so that each letter is seen at every position.
            let rows = (0..<4).map { Array(text[$0...]) }
            let input = TokenBatch(rows.map { [0] + $0 }, padId: 29), labels = TokenBatch(rows.map { $0 + [0] }, padId: -100)
            let logits = try model.decoder.decode(input, memory: nil, state: nil, context: context)
            return Losses.crossEntropy(logits: logits.reshaped([-1, 30]), targets: labels.ids, ignoreIndex: -100).0
        }
        let before = try withoutGrad { try loss() }.item
        for _ in 0..<60 {
            model.zeroGrad()
            try loss().backward()
            optimizer.step(parameters, learningRate: 1e-2)
        }
        let after = try withoutGrad { try loss() }.item
        #expect(after < before * 0.3, "next-token loss went from \(before) to \(after)")
        let generated = try LanguageModel(model: model, tokenizer: tokenizer).generate(["abcda"], sampler: GreedySampler(), maxNewTokens: 6)
        #expect(generated.count == 1)
        #expect(generated[0].text.hasPrefix("bcd"), "continued \"abcda\" with \"\(generated[0].text)\"")
        let sampled = try LanguageModel(model: model, tokenizer: tokenizer)
            .generate(["ab", "c"], sampler: StochasticSampler(temperature: 0.8, seed: 4), maxNewTokens: 5)
        #expect(sampled.count == 2)
    }
}
