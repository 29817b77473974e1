import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaCausalLM
import GlossaNN
import GlossaTensor
import GlossaTestSupport

/// What `scripts/fixtures/make_llama_fixture.py` recorded from transformers.
struct LlamaExpected: Decodable {
    var sequences: [[Int]]
    var logits: [[[Float]]]
    var prompts: [[Int]]
    var greedy: [[Int]]
}

/// The causal decoder against a random `transformers.LlamaForCausalLM` saved by `save_pretrained`.
@Suite struct LlamaParityTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/llama-tiny").standardizedFileURL

    func load() throws -> (any DecoderOnlyModel, LlamaExpected) {
        let dir = ModelDirectory(Self.directory)
        guard case .decoderOnly(let make) = try dir.plugin(in: builtinPlugins).factory else {
            throw GlossaError.invalidConfiguration("model_type llama does not load as a language model")
        }
        let model = try make(try dir.pluginConfiguration())
        try model.loadCheckpoint(try dir.weights())
        let expected = try JSONDecoder().decode(LlamaExpected.self, from: Data(contentsOf: Self.directory.appendingPathComponent("expected.json")))
        return (model, expected)
    }

    @Test func fullSequenceLogitsMatchTransformers() throws {
        let (model, expected) = try load()
        for (sequence, logits) in zip(expected.sequences, expected.logits) {
            let ours = try model.decoder.decode(TokenBatch([sequence], padId: 39), memory: nil, state: nil, context: ForwardContext())
            assertClose(ours.scalars, logits.flatMap { $0 }, rtol: 1e-4, atol: 1e-4)
        }
    }

    @Test func greedyContinuationsMatchTransformers() throws {
        let (model, expected) = try load()
        for (prompt, greedy) in zip(expected.prompts, expected.greedy) {
            // The fixture's prompts begin with BOS (id 0); the generator feeds BOS itself.
            var sampler = GreedySampler()
            let options = GenerationOptions(maxNewTokens: greedy.count + 1, eosId: -1, startId: prompt[0])
            let result = try Generator.generate(decoder: model.decoder, memory: nil, batchSize: 1, prompts: [Array(prompt.dropFirst())],
                                                sampler: &sampler, options: options)
            #expect(result[0][0].tokens == greedy)
        }
    }
}
