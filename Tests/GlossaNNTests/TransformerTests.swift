import Testing
import GlossaNN
import GlossaTensor
import GlossaTestSupport

/// A tiny causal transformer (token + learned position embeddings, pre-norm layers, a linear head).
final class TinyCausalTransformer: Module {
    let tokens: Embedding, positions: Embedding
    let layers: [TransformerEncoderLayer]
    let norm: LayerNorm
    let head: Linear

    init(vocabulary: Int, width: Int, layers count: Int, maxLength: Int, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        tokens = Embedding(count: vocabulary, dimension: width, std: 0.1, generator: &rng)
        positions = Embedding(count: maxLength, dimension: width, std: 0.1, generator: &rng)
        layers = (0..<count).map { _ in
            TransformerEncoderLayer(dimension: width, heads: 4, feedForward: width * 4, activation: .gelu, placement: .pre, generator: &rng)
        }
        norm = LayerNorm(width)
        head = Linear(width, vocabulary, generator: &rng)
    }

    var children: [(name: String, module: any Module)] {
        [("embed_tokens", tokens), ("embed_positions", positions), ("norm", norm), ("lm_head", head)]
            + layers.enumerated().map { ("layers.\($0.offset)", $0.element) }
    }

    func callAsFunction(_ ids: [[Int]]) -> Tensor {
        let (b, t) = (ids.count, ids[0].count)
        var h = tokens(ids.flatMap { $0 }, shape: [b, t]) + positions(Array(0..<t), shape: [t])
        let mask = AttentionMask.causal(queries: t, keys: t)
        for layer in layers { h = layer(h, mask: mask) }
        return head(norm(h))  // [B, T, V]
    }
}

@Suite struct TransformerTests {
    @Test func parameterNamesFollowTheCheckpointLayout() {
        let model = TinyCausalTransformer(vocabulary: 10, width: 8, layers: 2, maxLength: 6, seed: 1)
        let names = model.namedParameters().map(\.name)
        #expect(names.contains("layers.1.self_attn.q_proj.weight"))
        #expect(names.contains("layers.0.final_layer_norm.bias"))
        #expect(names.contains("lm_head.weight"))
        #expect(Set(names).count == names.count)
    }

    @Test func loadRejectsWrongShapesAndMissingNames() throws {
        let model = TinyCausalTransformer(vocabulary: 10, width: 8, layers: 1, maxLength: 6, seed: 1)
        var state = model.stateDictionary()
        state["lm_head.weight"] = Tensor.zeros([3, 3])
        #expect(throws: ModuleError.shapeMismatch(name: "lm_head.weight", expected: [10, 8], found: [3, 3])) { try model.load(state) }
        state["lm_head.weight"] = nil
        #expect(throws: ModuleError.missingParameters(["lm_head.weight"])) { try model.load(state) }
        let other = TinyCausalTransformer(vocabulary: 10, width: 8, layers: 1, maxLength: 6, seed: 2)
        try model.load(other.stateDictionary())
        #expect(model.head.weight.scalars == other.head.weight.scalars)
    }

    @Test func wholeBlockGradientCheck() {
        var rng = SeededGenerator(seed: 3)
        for placement in [NormPlacement.post, .pre] {
            let layer = TransformerEncoderLayer(dimension: 8, heads: 2, feedForward: 16, activation: .gelu, placement: placement, generator: &rng)
            let decoderLayer = TransformerDecoderLayer(dimension: 8, heads: 2, feedForward: 16, activation: .silu, placement: placement, generator: &rng)
            let x = randomTensor([2, 3, 8], seed: 4), memory = randomTensor([2, 4, 8], seed: 5)
            let mask = AttentionMask.padding([[true, true, false], [true, true, true]])
            checkGradients([x] + layer.parameters.prefix(6)) { inputs in layer(inputs[0], mask: mask) }
            checkGradients([x, memory] + decoderLayer.crossAttention.parameters) { inputs in
                decoderLayer(inputs[0], memory: inputs[1], selfMask: AttentionMask.causal(queries: 3, keys: 3),
                             memoryMask: AttentionMask.padding([[true, true, true, false], [true, true, true, true]]))
            }
        }
    }

    @Test func incrementalDecodingWithCacheMatchesFullPass() {
        var rng = SeededGenerator(seed: 6)
        let layer = TransformerDecoderLayer(dimension: 16, heads: 4, feedForward: 32, activation: .relu, generator: &rng)
        let x = randomTensor([2, 5, 16], seed: 7), memory = randomTensor([2, 4, 16], seed: 8)
        let full = layer(x, memory: memory, selfMask: AttentionMask.causal(queries: 5, keys: 5), memoryMask: nil)
        let selfCache = KeyValueCache(), crossCache = KeyValueCache()
        var steps: [Tensor] = []
        for t in 0..<5 {
            steps.append(layer(x.slice(axis: 1, t..<(t + 1)), memory: memory, selfMask: nil, memoryMask: nil,
                               selfCache: selfCache, crossCache: crossCache))
        }
        #expect(selfCache.length == 5 && crossCache.length == 4)
        assertClose(Tensor.concat(steps, axis: 1), full, rtol: 1e-4, atol: 1e-5)
    }

    /// Inference takes the decode kernel over the growing cache; it must agree with the full pass, with a
    /// padded memory and a reorder of the rows half-way (as beam search does).
    @Test func inferenceDecodingWithCacheMatchesFullPass() {
        var rng = SeededGenerator(seed: 16)
        let layer = TransformerDecoderLayer(dimension: 16, heads: 4, feedForward: 32, activation: .relu, generator: &rng)
        let x = randomTensor([2, 40, 16], seed: 17), memory = randomTensor([2, 4, 16], seed: 18)
        let memoryMask = AttentionMask.padding([[true, true, true, false], [true, true, true, true]])
        let swapped = x.indexSelect(axis: 0, [1, 0])
        let full = withoutGrad {
            layer(swapped, memory: memory.indexSelect(axis: 0, [1, 0]), selfMask: AttentionMask.causal(queries: 40, keys: 40),
                  memoryMask: memoryMask.indexSelect(axis: 0, [1, 0]))
        }
        let selfCache = KeyValueCache(), crossCache = KeyValueCache()
        var steps: [Tensor] = []
        var rows = [0, 1]
        for t in 0..<40 {
            if t == 20 {
                rows = [1, 0]
                selfCache.select(rows: rows)
                crossCache.select(rows: rows)
                steps = steps.map { $0.indexSelect(axis: 0, rows) }
            }
            let input = x.indexSelect(axis: 0, rows).slice(axis: 1, t..<(t + 1))
            steps.append(withoutGrad {
                layer(input, memory: memory.indexSelect(axis: 0, rows), selfMask: nil, memoryMask: memoryMask.indexSelect(axis: 0, rows),
                      selfCache: selfCache, crossCache: crossCache)
            })
        }
        #expect(selfCache.length == 40 && crossCache.length == 4)
        #expect(selfCache.keys?.shape == [2, 4, 40, 4])
        assertClose(Tensor.concat(steps, axis: 1), full, rtol: 1e-4, atol: 1e-5)
    }

    @Test func copyTaskLossFalls() {
        let model = TinyCausalTransformer(vocabulary: 12, width: 32, layers: 2, maxLength: 12, seed: 9)
        var optimizer = Adam(beta1: 0.9, beta2: 0.98, epsilon: 1e-9)
        let schedule = LearningRateSchedule.inverseSquareRoot(peak: 3e-3, warmup: 10)
        var data = SeededGenerator(seed: 10)
        var losses: [Float] = []
        for step in 1...60 {
            // Sequences "a b c d e | a b c d e": the second half is predictable only by copying.
            let batch: [[Int]] = (0..<16).map { _ in
                let body = (0..<5).map { _ in Int.random(in: 2..<12, using: &data) }
                return body + [1] + body
            }
            let logits = model(batch.map { Array($0.dropLast()) })  // [B, 10, V]
            let targets = batch.flatMap { seq in seq.dropFirst().enumerated().map { $0.offset >= 5 ? $0.element : -1 } }
            let (loss, _) = Losses.crossEntropy(logits: logits.reshaped([-1, 12]), targets: targets, ignoreIndex: -1)
            model.zeroGrad()
            loss.backward()
            clipGradientNorm(model.parameters, maxNorm: 1)
            optimizer.step(model.namedParameters(), learningRate: schedule.rate(at: step))
            losses.append(loss.item)
        }
        let first = losses.prefix(5).reduce(0, +) / 5, last = losses.suffix(5).reduce(0, +) / 5
        #expect(first > 2.0)
        #expect(last < first * 0.6, "copy-task loss went from \(first) to \(last)")
    }
}
