import Foundation
import GlossaNN
import GlossaTensor

/// Times an encoder plugin's forward pass on a fixed seeded batch. `glossa bench plugin` runs it on a plugin
/// loaded from a library and asks a statically linked runner (the example's `conv-encoder-bench`) to run the
/// same function, so the two figures differ only in how the plugin's code was linked.
public enum EncoderBenchmark {
    /// `batchSize` sequences of lengths between `length / 2` and `length`, ids in `1..<vocabularySize`.
    public static func batch(vocabularySize: Int, batchSize: Int, length: Int, seed: UInt64 = 1) -> TokenBatch {
        var generator = SeededGenerator(seed: seed)
        let sequences = (0..<batchSize).map { _ in
            (0..<Int.random(in: Swift.max(1, length / 2)...Swift.max(1, length), using: &generator)).map { _ in
                Int.random(in: 1..<Swift.max(2, vocabularySize), using: &generator)
            }
        }
        return TokenBatch(sequences, padId: 0)
    }

    /// The fastest of repeated forward passes (no gradient) over about `seconds`, in seconds, of the encoder
    /// that plugin `name` of `registry` builds from `configuration` (which must give `vocab_size`).
    public static func bestSeconds(
        plugin name: String, registry: PluginRegistry, configuration: Data, batchSize: Int = 32, length: Int = 48, seconds: Double = 1
    ) throws -> Double {
        let plugin = try registry.plugin(named: name)
        guard case .encoder(let make) = plugin.factory else {
            throw GlossaError.wrongPluginKind(plugin.name, expected: "encoder", found: plugin.factory.kind)
        }
        struct Header: Decodable { var vocab_size: Int }
        let vocabulary = try PluginConfiguration(json: configuration).decode(Header.self).vocab_size
        let model = try make(PluginConfiguration(json: configuration))
        let input = batch(vocabularySize: vocabulary, batchSize: batchSize, length: length)
        let context = ForwardContext()
        func once() throws { _ = try withoutGrad { try model.encoder.encode(input, context: context) } }
        try once()  // warm caches and thread pools
        var best = Double.infinity
        let start = DispatchTime.now().uptimeNanoseconds
        var runs = 0
        while runs < 3 || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try once()
            best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            runs += 1
            if runs > 100_000 { break }
        }
        return best
    }
}
