import Foundation
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor

/// `glossa bench generate`: the time to produce the token at each output position, with the
/// key/value cache (one position's work per token, so flat) and without it (the whole prefix is
/// run again for every token, so it grows with the position).
enum GenerateBench {
    /// The language model to time: `directory` if given, else the shipped one, else a fresh model
    /// of the shipped size (timings do not depend on the weights).
    static func model(_ directory: String?, plugins: PluginRegistry) throws -> (any DecoderOnlyModel, String) {
        // A model that was asked for must load; only the default may fall back to a random one.
        if let directory {
            let url = try ModelLocator.resolve(directory, name: "en-de-lm")
            return (try LanguageModel.load(url, registry: plugins).model, url.lastPathComponent)
        }
        if let url = try? ModelLocator.resolve(nil, name: "en-de-lm") {
            let language = try LanguageModel.load(url, registry: plugins)
            return (language.model, url.lastPathComponent)
        }
        let plugin = try plugins.plugin(named: "causal-lm")
        guard case .decoderOnly(let make) = plugin.factory else { throw CommandError(description: "the causal-lm plugin is missing") }
        let json = #"{"vocab_size": 8000, "hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 4, "num_attention_heads": 4, "max_position_embeddings": 256, "tie_word_embeddings": true, "bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 7999}"#
        return (try make(PluginConfiguration(json: Data(json.utf8))), "random d256 4 layers V8000")
    }

    /// Milliseconds per token at output positions 1…`positions`, best of `repeats` runs, reported at
    /// powers of two (each the mean over the positions since the previous one).
    static func run(plugins: PluginRegistry, directory: String?, positions requested: Int, repeats: Int = 5) throws -> [BenchRow] {
        let (model, name) = try model(directory, plugins: plugins)
        let decoder = model.decoder
        let positions = Swift.min(requested, (decoder.maxLength ?? requested + 1) - 1)
        var rng = SeededGenerator(seed: 5)
        let tokens = [model.specialIds.decoderStart] + (0..<positions).map { _ in Int.random(in: 1..<(decoder.vocabularySize - 1), using: &rng) }
        var cached = [Double](repeating: .infinity, count: positions + 1)
        var uncached = cached
        let context = ForwardContext()
        try withoutGrad {
            // An untimed pass first, so that allocations and thread pools are warm at position 1.
            let warm = decoder.makeState()
            for p in 1...positions {
                _ = try decoder.decode(TokenBatch([[tokens[p - 1]]], padId: model.specialIds.pad), memory: nil, state: warm, context: context)
            }
            for _ in 0..<repeats {
                let state = decoder.makeState()
                for p in 1...positions {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try decoder.decode(TokenBatch([[tokens[p - 1]]], padId: model.specialIds.pad), memory: nil, state: state, context: context)
                    cached[p] = Swift.min(cached[p], Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                }
                for p in 1...positions {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let logits = try decoder.decode(TokenBatch([Array(tokens[0..<p])], padId: model.specialIds.pad), memory: nil, state: nil, context: context)
                    _ = logits.slice(axis: 1, (p - 1)..<p)  // the last position's logits, as a generation step reads them
                    uncached[p] = Swift.min(uncached[p], Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                }
            }
        }
        var rows: [BenchRow] = []
        var low = 1, high = 1
        while low <= positions {
            let range = low...Swift.min(high, positions)
            let mean = { (values: [Double]) in range.reduce(0) { $0 + values[$1] } / Double(range.count) }
            rows.append(BenchRow(workload: "generate", shape: "\(name), positions \(range.lowerBound)-\(range.upperBound)",
                                 unit: "ms/token", glossa: mean(cached), reference: mean(uncached), referenceName: "no cache"))
            low = high + 1
            high *= 2
        }
        return rows
    }
}
