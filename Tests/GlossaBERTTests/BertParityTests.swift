import Foundation
import Testing
import Glossa
import GlossaBERT
import GlossaBuiltins
import GlossaNN
import GlossaTensor
import GlossaTestSupport

func cosine(_ a: [Float], _ b: [Float]) -> Float {
    let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
    let na = a.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), nb = b.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
    return dot / max(na * nb, 1e-12)
}

@Suite struct BertParityTests {
    @Test func hiddenStatesMatchTransformers() throws {
        let embedder = try Embedder.load(BertFixture.directory, registry: builtinPlugins)
        for c in try BertFixture.expected().cases {
            guard let expected = c.last_hidden_state else { continue }
            let states = try withoutGrad { try embedder.model.encoder.encode(TokenBatch([c.ids], padId: 0), context: ForwardContext()) }
            #expect(states.shape == [1, c.ids.count, 32])
            assertClose(states.scalars, expected.flatMap { $0 }, rtol: 1e-4, atol: 1e-4)
        }
    }

    @Test func meanPooledAndEmbeddingsMatchSentenceTransformers() throws {
        let expected = try BertFixture.expected().cases
        let raw = try Embedder.load(BertFixture.directory, registry: builtinPlugins, normalize: false)
        let pooled = try raw.embed(expected.map(\.text), batchSize: 32)
        for (vector, c) in zip(pooled, expected) { assertClose(vector, c.mean_pooled, rtol: 1e-4, atol: 1e-4) }

        let embedder = try Embedder.load(BertFixture.directory, registry: builtinPlugins)
        #expect(embedder.normalize)
        #expect(embedder.dimension == 32)
        for batchSize in [1, 4, 32] {
            let vectors = try embedder.embed(expected.map(\.text), batchSize: batchSize)
            for (vector, c) in zip(vectors, expected) {
                #expect(cosine(vector, c.embedding) >= 0.9999, "\(c.text) at batch \(batchSize)")
            }
        }
    }

    @Test func paddingDoesNotChangeRealPositions() throws {
        let model = try BertModel(BertConfiguration(vocabSize: 50, hiddenSize: 16, layers: 2, heads: 4, intermediateSize: 32, maxPositions: 16), seed: 3)
        let short = [2, 7, 9, 3], long = [2, 11, 12, 13, 14, 15, 16, 3]
        let alone = try withoutGrad { try model.encode(TokenBatch([short], padId: 0), context: ForwardContext()) }
        let batched = try withoutGrad { try model.encode(TokenBatch([short, long], padId: 0), context: ForwardContext()) }
        let firstRow = batched.slice(axis: 0, 0..<1).slice(axis: 1, 0..<short.count)
        assertClose(firstRow.scalars, alone.scalars, rtol: 1e-5, atol: 1e-5)
    }

    @Test func savesAndReloadsWithAndWithoutBertPrefix() throws {
        let configuration = BertConfiguration(vocabSize: 40, hiddenSize: 8, layers: 1, heads: 2, intermediateSize: 16, maxPositions: 8)
        let source = try BertModel(configuration, seed: 1)
        var prefixed: [String: Tensor] = [:]
        for (name, tensor) in source.checkpointTensors() { prefixed["bert." + name] = tensor }
        prefixed["cls.predictions.bias"] = Tensor.zeros([40])
        prefixed["bert.embeddings.position_ids"] = Tensor.zeros([1, 8])
        let target = try BertModel(configuration, seed: 2)
        try target.loadCheckpoint(prefixed)
        let batch = TokenBatch([[2, 5, 6, 3]], padId: 0)
        let a = try withoutGrad { try source.encode(batch, context: ForwardContext()) }
        let b = try withoutGrad { try target.encode(batch, context: ForwardContext()) }
        assertClose(a.scalars, b.scalars, rtol: 0, atol: 0)

        var withoutPooler = source.checkpointTensors()
        withoutPooler["pooler.dense.weight"] = nil
        withoutPooler["pooler.dense.bias"] = nil
        let bare = try BertModel(configuration, seed: 4)
        try bare.loadCheckpoint(withoutPooler)
        #expect(bare.pooler == nil)
        #expect(!bare.checkpointTensors().keys.contains("pooler.dense.weight"))
        #expect(Set(source.checkpointTensors().keys).contains("encoder.layer.0.attention.self.query.weight"))
    }

    @Test func configurationRoundTripsThroughJSON() throws {
        let configuration = BertConfiguration(vocabSize: 40, hiddenSize: 8, layers: 1, heads: 2, intermediateSize: 16, maxPositions: 8)
        let model = try BertModel(configuration)
        let again = try PluginConfiguration(json: try model.configurationJSON()).decode(BertConfiguration.self)
        #expect(again == configuration)
    }

    @Test(arguments: [
        (#"{"hidden_size": 32}"#, "vocab_size"),
        (#"{"vocab_size": 10, "hidden_size": 30, "num_attention_heads": 4}"#, "divisible"),
        (#"{"vocab_size": 10, "hidden_act": "swishy"}"#, "swishy"),
        (#"{"vocab_size": 10, "num_hidden_layers": 0}"#, "num_hidden_layers"),
        (#"{"vocab_size": 10, "position_embedding_type": "relative_key"}"#, "relative_key"),
        (#"{"vocab_size": 10, "pad_token_id": 10}"#, "pad_token_id"),
        (#"{"vocab_size": "many"}"#, "vocab_size"),
    ])
    func corruptConfigurationsAreClearErrors(json: String, mentions: String) throws {
        do {
            _ = try PluginConfiguration(json: Data(json.utf8)).decode(BertConfiguration.self)
            Issue.record("\(json) was accepted")
        } catch let error as GlossaError {
            guard case .invalidConfiguration(let message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains(mentions), "\(message)")
        }
    }

    @Test func wrongShapedWeightsAreAClearError() throws {
        let model = try BertModel(BertConfiguration(vocabSize: 40, hiddenSize: 8, layers: 1, heads: 2, intermediateSize: 16, maxPositions: 8))
        var state = model.checkpointTensors()
        state["embeddings.word_embeddings.weight"] = Tensor.zeros([41, 8])
        #expect(throws: ModuleError.self) { try model.loadCheckpoint(state) }
    }

    @Test func tooLongInputIsAnError() throws {
        let model = try BertModel(BertConfiguration(vocabSize: 40, hiddenSize: 8, layers: 1, heads: 2, intermediateSize: 16, maxPositions: 4))
        #expect(throws: GlossaError.self) { try model.encode(TokenBatch([[1, 2, 3, 4, 5]], padId: 0), context: ForwardContext()) }
    }
}

@Suite struct BertConformanceTests {
    @Test func bertIsAConformingEncoder() throws {
        let model = try BertModel(BertConfiguration(vocabSize: 30, hiddenSize: 12, layers: 2, heads: 3, intermediateSize: 24, maxPositions: 10), seed: 9)
        try checkEncoderConformance(model, ids: [[2, 5, 3], [2, 6, 7, 8, 9, 10, 3], [2, 3]], padId: 0)
        let fixture = try Embedder.load(BertFixture.directory, registry: builtinPlugins)
        try checkEncoderConformance(fixture.model.encoder, ids: try BertFixture.expected().cases.prefix(5).map(\.ids), padId: 0, tolerance: 1e-4)
    }

    @Test(arguments: PoolingMode.allCases)
    func everyPoolerConforms(mode: PoolingMode) {
        checkPoolerConformance(mode.pooler)
        checkPoolerConformance(NormalizedPooler(mode.pooler))
    }
}
