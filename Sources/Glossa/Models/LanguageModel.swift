import Foundation
import GlossaNN
import GlossaTensor

/// A language model: a tokenizer, a decoder-only network, and a sampler that continues prompts.
public final class LanguageModel {
    /// The network.
    public let model: any DecoderOnlyModel
    /// Text ↔ ids.
    public let tokenizer: any Tokenizer

    /// A language model from its parts.
    public init(model: any DecoderOnlyModel, tokenizer: any Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Continues each prompt with up to `maxNewTokens` tokens chosen by `sampler`. Prompts are run
    /// one at a time, so that no prompt's padding enters another's cache.
    public func generate<S: Sampler>(_ prompts: [String], sampler: S, maxNewTokens: Int = 64) throws -> [GeneratedText] {
        let ids = model.specialIds
        let options = GenerationOptions(maxNewTokens: maxNewTokens, eosId: ids.eos, startId: ids.decoderStart, forbidden: [ids.pad])
        return try prompts.map { prompt in
            var search = sampler
            let result = try Generator.generate(decoder: model.decoder, memory: nil, batchSize: 1,
                                                prompts: [try tokenizer.encode(prompt)], sampler: &search, options: options)
            let best = result.first?.first ?? GeneratedSequence(tokens: [], score: 0)
            return GeneratedText(text: try tokenizer.decode(best.tokens), score: best.score)
        }
    }
}
