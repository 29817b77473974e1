import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// Whole-model workloads of `glossa bench`: a Marian training step at the reference size.
enum ModelBench {
    /// The reference configuration of `../shared/ANCHORS.md` (d_model 256, 3+3 layers, FFN 1024, 8k vocabulary), built
    /// by the `marian` plugin of `plugins`.
    static func referenceModel(plugins: PluginRegistry) throws -> any EncoderDecoderModel {
        let plugin = try plugins.plugin(named: "marian")
        guard case .encoderDecoder(let make) = plugin.factory else {
            throw GlossaError.wrongPluginKind("marian", expected: "translator", found: plugin.factory.kind)
        }
        let configuration = """
            {"vocab_size": 8000, "d_model": 256, "encoder_layers": 3, "decoder_layers": 3, "encoder_attention_heads": 4,
             "decoder_attention_heads": 4, "encoder_ffn_dim": 1024, "decoder_ffn_dim": 1024, "activation_function": "swish",
             "max_position_embeddings": 512, "pad_token_id": 7999, "eos_token_id": 0, "decoder_start_token_id": 7999,
             "scale_embedding": true, "static_position_embeddings": true, "dropout": 0.1}
            """
        return try make(PluginConfiguration(json: Data(configuration.utf8)))
    }
    /// Target tokens per second of full training steps (forward, backward, clipping, Adam) on batches
    /// of about 3000 padded target tokens at several sentence lengths, against the rate its matrix
    /// products alone would allow at the measured gemm speed.
    static func train(plugins: PluginRegistry, seconds: Double) throws -> [BenchRow] {
        let model = try referenceModel(plugins: plugins)
        let ids = model.specialIds
        var rng = SeededGenerator(seed: 2)
        let lengths = [10, 16, 24, 32, 48]
        let batches: [(TokenBatch, TokenBatch, TokenBatch, Int)] = lengths.map { length in
            let count = 3000 / (length + 1)
            let pairs = (0..<count).map { _ in
                let l = Int.random(in: (length * 3 / 4)...length, using: &rng)
                return ((0..<l).map { _ in Int.random(in: 2..<7999, using: &rng) }, (0..<l).map { _ in Int.random(in: 2..<7999, using: &rng) })
            }
            let source = TokenBatch(pairs.map { $0.0 + [ids.eos] }, padId: ids.pad)
            let input = TokenBatch(pairs.map { [ids.decoderStart] + $0.1 }, padId: ids.pad)
            let labels = TokenBatch(pairs.map { $0.1 + [ids.eos] }, padId: -100)
            return (source, input, labels, pairs.reduce(0) { $0 + $1.1.count + 1 })
        }
        var adam = Adam(beta1: 0.9, beta2: 0.98, epsilon: 1e-9)
        let parameters = model.namedParameters()
        let context = ForwardContext(training: true, seed: 3)
        func step(_ b: (TokenBatch, TokenBatch, TokenBatch, Int)) throws {
            model.zeroGrad()
            let states = try model.encoder.encode(b.0, context: context)
            let logits = try model.decoder.decode(b.1, memory: EncoderMemory(states: states, source: b.0), state: nil, context: context)
            let (loss, _) = Losses.crossEntropy(logits: logits.reshaped([-1, 8000]), targets: b.2.ids, labelSmoothing: 0.1, ignoreIndex: -100)
            loss.backward()
            clipGradientNorm(model.parameters, maxNorm: 1)
            adam.step(parameters, learningRate: 1e-4)
            model.didUpdateParameters()
        }
        try step(batches[0])  // warm up
        let tokens = batches.reduce(0) { $0 + $1.3 }
        var best = Double.infinity
        let start = Date()
        repeat {
            let t0 = Date()
            for b in batches { try step(b) }
            best = min(best, Date().timeIntervalSince(t0))
        } while Date().timeIntervalSince(start) < seconds
        // Matrix-product FLOPs of the same work: 6 per weight per token (forward + two backward products).
        let encoderWeights = 3.0 * (4 * 256 * 256 + 2 * 256 * 1024), decoderWeights = 3.0 * (8 * 256 * 256 + 2 * 256 * 1024)
        let paddedTarget = Double(batches.reduce(0) { $0 + $1.1.ids.count }), paddedSource = Double(batches.reduce(0) { $0 + $1.0.ids.count })
        let flops = 6 * (encoderWeights * paddedSource + (decoderWeights + 256 * 8000) * paddedTarget)
        let gemmRate = KernelBench.gemm(seconds: 0.3)[1].reference * 1e9
        return [BenchRow(workload: "train", shape: "Marian d256 3+3 FFN1024 V8000, ~3000 tgt tok/batch", unit: "target tokens/s",
                         glossa: Double(tokens) / best, reference: Double(tokens) / (flops / gemmRate),
                         referenceName: "matmul-only bound")]
    }
}
