import Foundation
import GlossaNN
import GlossaTensor

/// One generated response: its tokens (EOS dropped) and whether the model closed it with EOS.
public struct GeneratedResponse: Sendable, Equatable {
    /// The response tokens, without EOS.
    public var tokens: [Int]
    /// False when the length limit cut the response off before the model chose EOS.
    public var closed: Bool
}

/// Continues prompts with a decoder-only model, batching prompts of equal token length together:
/// rows of one length need no padding, so no prompt's padding enters another's cache and a group of G
/// copies of one prompt (GRPO) is one batch through the cached generator.
public enum ResponseGeneration {
    /// One response per entry of `prompts` (token ids, without the start token), in order.
    /// `sampler` is copied per batch, so a seeded sampler gives the same outputs for the same call.
    public static func generate<S: Sampler>(
        _ model: any DecoderOnlyModel, prompts: [[Int]], sampler: S, maxNewTokens: Int, batchSize: Int = 64
    ) throws -> [GeneratedResponse] {
        let ids = model.specialIds
        let options = GenerationOptions(maxNewTokens: maxNewTokens, eosId: ids.eos, startId: ids.decoderStart,
                                        forbidden: ids.pad == ids.eos ? [] : [ids.pad])
        var out = [GeneratedResponse?](repeating: nil, count: prompts.count)
        let byLength = Dictionary(grouping: prompts.indices) { prompts[$0].count }
        var search = sampler
        for length in byLength.keys.sorted() {
            let rows = byLength[length] ?? []
            // The generator stops one short of its limit to force EOS; anything that long was cut off.
            let limit = model.decoder.maxLength.map { Swift.min(maxNewTokens, $0 - length - 1) } ?? maxNewTokens
            for start in stride(from: 0, to: rows.count, by: Swift.max(batchSize, 1)) {
                let chunk = Array(rows[start..<Swift.min(start + batchSize, rows.count)])
                let results = try Generator.generate(decoder: model.decoder, memory: nil, batchSize: chunk.count,
                                                     prompts: chunk.map { prompts[$0] }, sampler: &search, options: options)
                for (row, result) in zip(chunk, results) {
                    let tokens = result.first?.tokens ?? []
                    out[row] = GeneratedResponse(tokens: tokens, closed: tokens.count < limit - 1)
                }
            }
        }
        return out.map { $0 ?? GeneratedResponse(tokens: [], closed: true) }
    }

    /// Greedy responses decoded to text.
    public static func greedyTexts(
        _ model: any DecoderOnlyModel, tokenizer: any Tokenizer, prompts: [String], maxNewTokens: Int, batchSize: Int = 64
    ) throws -> [String] {
        let encoded = try tokenizer.encodeBatch(prompts)
        let responses = try generate(model, prompts: encoded, sampler: GreedySampler(), maxNewTokens: maxNewTokens, batchSize: batchSize)
        return try responses.map { try tokenizer.decode($0.tokens) }
    }
}
