import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor
import GlossaTestSupport
@testable import GlossaRNN

/// A tiny configuration: vocabulary of 20 (0 = EOS, 19 = pad), 8-wide embeddings, 12-wide states.
func tinyConfiguration(_ cell: CellKind = .gru, attention: AttentionScore = .bahdanau, layers: Int = 2,
                       bidirectional: Bool = true, dropout: Float = 0) -> RNNConfiguration {
    var c = RNNConfiguration(vocabSize: 20, cell: cell, embeddingDim: 8, hiddenSize: 12, encoderLayers: layers, decoderLayers: layers,
                             bidirectional: bidirectional, attention: attention, dropout: dropout, padTokenId: 19, eosTokenId: 0)
    c.attentionDim = 10
    return c
}

/// Whole-sequence (training) decoding against step-by-step decoding, the translator path, and saving.
@Suite struct RNNModelTests {
    let sources: [[Int]] = [[3, 4, 5, 6, 0], [7, 8, 0], [9, 10, 11, 0]]
    let targets: [[Int]] = [[19, 5, 4, 3, 6], [19, 8, 7], [19, 12, 13, 14]]

    static let variants: [(CellKind, AttentionScore)] = [(.gru, .bahdanau), (.lstm, .general), (.elman, .dot), (.gru, .none), (.lstm, .bahdanau)]

    @Test(arguments: variants)
    func stepByStepMatchesWholeSequence(cell: CellKind, attention: AttentionScore) throws {
        let model = try RNNModel(tinyConfiguration(cell, attention: attention, bidirectional: attention != .dot), seed: 4)
        let source = TokenBatch(sources, padId: 19), target = TokenBatch(targets, padId: 19)
        try withoutGrad {
            let memory = EncoderMemory(states: try model.encoder.encode(source, context: ForwardContext()), source: source)
            let whole = try model.decoder.decode(target, memory: memory, state: nil, context: ForwardContext())  // [B, T, V]
            let state = model.decoder.makeState()
            for t in 0..<target.length {
                let column = TokenBatch((0..<target.batchSize).map { [target.ids[$0 * target.length + t]] }, padId: 19)
                let step = try model.decoder.decode(column, memory: memory, state: state, context: ForwardContext())
                for b in 0..<target.batchSize where t < target.lengths[b] {
                    assertClose(step.slice(axis: 0, b..<(b + 1)).scalars,
                                whole.slice(axis: 0, b..<(b + 1)).slice(axis: 1, t..<(t + 1)).scalars,
                                rtol: 1e-4, atol: 1e-5, "row \(b) step \(t)")
                }
            }
            #expect(state.length == target.length)
        }
    }

    @Test func encoderConformance() throws {
        for cell in CellKind.allCases {
            let model = try RNNModel(tinyConfiguration(cell), seed: 5)
            try checkEncoderConformance(model.encoder, ids: sources + [[3]], padId: 19)
        }
    }

    @Test func copyTaskLossFalls() throws {
        let model = try RNNModel(tinyConfiguration(.gru, layers: 1, dropout: 0.1), seed: 6)
        var rng = SeededGenerator(seed: 9)
        let parameters = model.namedParameters()
        var optimizer = Adam()
        let context = ForwardContext(training: true, seed: 2)
        func loss(_ data: [[Int]]) throws -> Tensor {
            let source = TokenBatch(data.map { $0 + [0] }, padId: 19)
            let input = TokenBatch(data.map { [19] + $0 }, padId: 19)
            let labels = TokenBatch(data.map { $0 + [0] }, padId: -100)
            let memory = EncoderMemory(states: try model.encoder.encode(source, context: context), source: source)
            let logits = try model.decoder.decode(input, memory: memory, state: nil, context: context)
            return Losses.crossEntropy(logits: logits.reshaped([-1, 20]), targets: labels.ids, ignoreIndex: -100).0
        }
        func batch() -> [[Int]] {
            (0..<16).map { _ in (0..<Int.random(in: 2...5, using: &rng)).map { _ in Int.random(in: 1...18, using: &rng) } }
        }
        let held = batch()
        let before = try withoutGrad { try loss(held) }.item
        for _ in 0..<200 {
            model.zeroGrad()
            try loss(batch()).backward()
            optimizer.step(parameters, learningRate: 1e-2)
        }
        let after = try withoutGrad { try loss(held) }.item
        #expect(after < before * 0.5, "copy-task loss went from \(before) to \(after)")
    }

    @Test func translatorDecodesWithEverySampler() throws {
        let model = try RNNModel(tinyConfiguration(.lstm, attention: .general), seed: 7)
        let decoder = model.decoder
        let options = GenerationOptions(maxNewTokens: 6, eosId: 0, startId: 19, forbidden: [19], nBest: 2)
        let source = TokenBatch(sources, padId: 19)
        let memory = EncoderMemory(states: try withoutGrad { try model.encoder.encode(source, context: ForwardContext()) }, source: source)
        var greedy = GreedySampler(), beam = BeamSampler(beamSize: 3), sampling = StochasticSampler(temperature: 1, seed: 1)
        let g = try Generator.generate(decoder: decoder, memory: memory, batchSize: 3, sampler: &greedy, options: options)
        let b = try Generator.generate(decoder: decoder, memory: memory, batchSize: 3, sampler: &beam, options: options)
        let s = try Generator.generate(decoder: decoder, memory: memory, batchSize: 3, sampler: &sampling, options: options)
        for result in [g, b, s] {
            #expect(result.count == 3 && result.allSatisfy { !$0.isEmpty && $0[0].tokens.count < 6 && !$0[0].tokens.contains(19) })
        }
        #expect(b.allSatisfy { $0.count == 2 })
        // Greedy decoding of one sentence alone gives what it gave in the batch.
        let alone = TokenBatch([sources[1]], padId: 19)
        let aloneMemory = EncoderMemory(states: try withoutGrad { try model.encoder.encode(alone, context: ForwardContext()) }, source: alone)
        var greedyAgain = GreedySampler()
        let single = try Generator.generate(decoder: decoder, memory: aloneMemory, batchSize: 1, sampler: &greedyAgain, options: options)
        #expect(single[0][0].tokens == g[1][0].tokens)
    }

    @Test func savesAndLoadsThroughTheRegistry() throws {
        let model = try RNNModel(tinyConfiguration(.gru, attention: .bahdanau), seed: 8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-rnn-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        try ModelDirectory.save(model, to: dir)
        let directory = ModelDirectory(dir)
        #expect(try directory.pluginName() == "rnn")
        guard case .encoderDecoder(let make) = try directory.plugin(in: builtinPlugins).factory else {
            Issue.record("rnn is not a translator plugin")
            return
        }
        let loaded = try make(try directory.pluginConfiguration())
        try loaded.loadCheckpoint(try directory.weights())
        let source = TokenBatch(sources, padId: 19), target = TokenBatch(targets, padId: 19)
        func logits(_ m: any EncoderDecoderModel) throws -> Tensor {
            try withoutGrad {
                let memory = EncoderMemory(states: try m.encoder.encode(source, context: ForwardContext()), source: source)
                return try m.decoder.decode(target, memory: memory, state: nil, context: ForwardContext())
            }
        }
        assertClose(try logits(loaded), try logits(model), rtol: 0, atol: 0)
        #expect(Set(model.stateDictionary().keys).contains("encoder.layers.1.backward.weight_hh"))
    }

    @Test func rejectsBadConfigurations() {
        let bad = Data(#"{"vocab_size": 10, "pad_token_id": 9, "attention": "dot", "hidden_size": 8}"#.utf8)
        #expect(throws: GlossaError.self) { _ = try PluginConfiguration(json: bad).decode(RNNConfiguration.self) }
        let unknown = Data(#"{"vocab_size": 10, "pad_token_id": 9, "cell": "transformer"}"#.utf8)
        #expect(throws: GlossaError.self) { _ = try PluginConfiguration(json: unknown).decode(RNNConfiguration.self) }
    }
}
