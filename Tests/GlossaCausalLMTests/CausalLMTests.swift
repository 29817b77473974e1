import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaCausalLM
import GlossaNN
import GlossaTensor
import GlossaTestSupport

/// A tiny configuration: 2 layers, 32 wide, vocabulary 20 (0 = EOS/BOS, 19 = pad).
func tinyConfiguration(_ positions: PositionEmbeddingType = .rotary, tied: Bool = true) -> CausalLMConfiguration {
    CausalLMConfiguration(vocabSize: 20, hiddenSize: 32, intermediateSize: 48, layers: 2, heads: 4, maxPositions: 32,
                          positions: positions, tied: tied, bos: 0, eos: 0, pad: 19)
}

/// Structure, the cache, padding, and save/load of the causal decoder plugin.
@Suite struct CausalLMTests {
    @Test func parameterNamesFollowTheLlamaLayout() throws {
        let tied = try CausalLMModel(tinyConfiguration(), seed: 1)
        let names = Set(tied.namedParameters().map(\.name))
        for name in ["model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight", "model.layers.0.self_attn.o_proj.weight",
                     "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.down_proj.weight", "model.layers.1.input_layernorm.weight",
                     "model.layers.1.post_attention_layernorm.weight", "model.norm.weight"] {
            #expect(names.contains(name), "missing \(name)")
        }
        #expect(!names.contains("lm_head.weight"))
        #expect(!names.contains { $0.hasSuffix(".bias") })
        let untied = try CausalLMModel(tinyConfiguration(.learned, tied: false), seed: 1)
        let more = Set(untied.namedParameters().map(\.name))
        #expect(more.contains("lm_head.weight") && more.contains("model.embed_positions.weight"))
    }

    @Test(arguments: [PositionEmbeddingType.rotary, .learned])
    func cachedLogitsEqualFullSequenceLogits(_ positions: PositionEmbeddingType) throws {
        let model = try CausalLMModel(tinyConfiguration(positions), seed: 2)
        let sequences = [[0, 3, 7, 1, 12, 5, 9], [0, 4, 4, 8, 2, 11, 6]]
        let full = try model.decoder.decode(TokenBatch(sequences, padId: 19), memory: nil, state: nil, context: ForwardContext())
        // A prompt of 3 tokens in one call, then one token per call.
        let state = model.decoder.makeState()
        var parts = [try model.decoder.decode(TokenBatch(sequences.map { Array($0.prefix(3)) }, padId: 19), memory: nil, state: state, context: ForwardContext())]
        for t in 3..<7 {
            parts.append(try model.decoder.decode(TokenBatch(sequences.map { [$0[t]] }, padId: 19), memory: nil, state: state, context: ForwardContext()))
        }
        #expect(state.length == 7)
        assertClose(Tensor.concat(parts, axis: 1), full, rtol: 1e-4, atol: 1e-5)
    }

    @Test(arguments: [PositionEmbeddingType.rotary, .learned])
    func paddedPromptsContinueAsIfAlone(_ positions: PositionEmbeddingType) throws {
        // Prompts of different lengths fed together (right-padded), then continued one token per row:
        // each row's logits must equal those of the row decoded alone.
        let model = try CausalLMModel(tinyConfiguration(positions), seed: 3)
        let prompts = [[0, 5, 6, 7, 8], [0, 9]], continuations = [[2, 3], [4, 1]]
        let state = model.decoder.makeState()
        let first = try model.decoder.decode(TokenBatch(prompts, padId: 19), memory: nil, state: state, context: ForwardContext())
        var steps: [Tensor] = []
        for t in 0..<2 {
            steps.append(try model.decoder.decode(TokenBatch(continuations.map { [$0[t]] }, padId: 19), memory: nil, state: state, context: ForwardContext()))
        }
        for row in 0..<2 {
            let alone = try model.decoder.decode(TokenBatch([prompts[row] + continuations[row]], padId: 19), memory: nil, state: nil, context: ForwardContext())
            let n = prompts[row].count
            assertClose(first.slice(axis: 0, row..<(row + 1)).slice(axis: 1, (n - 1)..<n), alone.slice(axis: 1, (n - 1)..<n), rtol: 1e-4, atol: 1e-5)
            for t in 0..<2 {
                assertClose(steps[t].slice(axis: 0, row..<(row + 1)), alone.slice(axis: 1, (n + t)..<(n + t + 1)), rtol: 1e-4, atol: 1e-5)
            }
        }
    }

    @Test func beamReorderingKeepsTheCacheConsistent() throws {
        let model = try CausalLMModel(tinyConfiguration(), seed: 4)
        let state = model.decoder.makeState()
        _ = try model.decoder.decode(TokenBatch([[0, 1, 2], [0, 3]], padId: 19), memory: nil, state: state, context: ForwardContext())
        state.select(rows: [1, 1, 0])
        let next = try model.decoder.decode(TokenBatch([[5], [6], [7]], padId: 19), memory: nil, state: state, context: ForwardContext())
        let alone = try model.decoder.decode(TokenBatch([[0, 3, 6]], padId: 19), memory: nil, state: nil, context: ForwardContext())
        assertClose(next.slice(axis: 0, 1..<2), alone.slice(axis: 1, 2..<3), rtol: 1e-4, atol: 1e-5)
    }

    @Test func tooLongSequencesAreRefusedWithAnError() throws {
        let model = try CausalLMModel(tinyConfiguration(), seed: 5)
        #expect(throws: GlossaError.self) {
            try model.decoder.decode(TokenBatch([Array(repeating: 3, count: 40)], padId: 19), memory: nil, state: nil, context: ForwardContext())
        }
        var bad = tinyConfiguration()
        bad.numAttentionHeads = 5
        #expect(throws: GlossaError.self) { try CausalLMModel(bad) }
    }

    @Test func savesAndLoadsThroughTheRegistry() throws {
        let model = try CausalLMModel(tinyConfiguration(), seed: 6)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-lm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try ModelDirectory.save(model, to: directory)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("config.json"))) as? [String: Any]
        #expect(config?["model_type"] as? String == "llama" && config?["glossa_plugin"] as? String == "causal-lm")
        #expect(config?["tie_word_embeddings"] as? Bool == true)
        let dir = ModelDirectory(directory)
        guard case .decoderOnly(let make) = try dir.plugin(in: builtinPlugins).factory else {
            Issue.record("causal-lm is not registered as a language model")
            return
        }
        let loaded = try make(try dir.pluginConfiguration())
        try loaded.loadCheckpoint(try dir.weights())
        let batch = TokenBatch([[0, 2, 4, 6]], padId: 19)
        assertClose(try loaded.decoder.decode(batch, memory: nil, state: nil, context: ForwardContext()),
                    try model.decoder.decode(batch, memory: nil, state: nil, context: ForwardContext()), rtol: 0, atol: 0)
        #expect(try builtinPlugins.plugin(named: "llama").name == "causal-lm")
    }

    @Test func blockGradientsMatchFiniteDifferences() throws {
        let model = try CausalLMModel(tinyConfiguration(), seed: 7)
        let weights = model.namedParameters().filter { $0.name.hasPrefix("model.layers.0.self_attn.q_proj") || $0.name == "model.norm.weight" }
        checkGradients(weights.map(\.tensor)) { _ in
            // Small weights keep the function smooth at the finite-difference step.
            (try? model.decoder.decode(TokenBatch([[0, 1, 2, 3]], padId: 19), memory: nil, state: nil, context: ForwardContext())) ?? Tensor(0)
        }
    }
}
