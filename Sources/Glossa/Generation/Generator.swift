import Foundation
import GlossaNN
import GlossaTensor

/// Settings of a decoding run, shared by every sampler.
public struct GenerationOptions: Sendable, Equatable {
    /// The most tokens generated per sentence (EOS included).
    public var maxNewTokens: Int
    /// The token that ends a hypothesis.
    public var eosId: Int
    /// The token fed first to the decoder.
    public var startId: Int
    /// Tokens never generated (padding, for Marian models).
    public var forbidden: [Int]
    /// Final scores are Σ log p / length^α (Marian's and transformers' `length_penalty`).
    public var lengthPenalty: Float
    /// How many finished hypotheses to return per sentence (at most the sampler's width).
    public var nBest: Int
    /// When a sentence's search ends (transformers' `early_stopping`).
    public var earlyStopping: EarlyStopping
    /// Whether the last allowed step is EOS, adding nothing to the score (transformers'
    /// `forced_eos_token_id`); otherwise outputs that reach the limit end without it.
    public var forceEOSAtLimit: Bool

    /// Options with the common defaults.
    public init(maxNewTokens: Int = 128, eosId: Int, startId: Int, forbidden: [Int] = [], lengthPenalty: Float = 1, nBest: Int = 1,
                earlyStopping: EarlyStopping = .heuristic, forceEOSAtLimit: Bool = true) {
        self.maxNewTokens = maxNewTokens
        self.eosId = eosId
        self.startId = startId
        self.forbidden = forbidden
        self.lengthPenalty = lengthPenalty
        self.nBest = nBest
        self.earlyStopping = earlyStopping
        self.forceEOSAtLimit = forceEOSAtLimit
    }
}

/// A finished output: its tokens (EOS dropped) and its length-normalised score.
public struct GeneratedSequence: Sendable, Equatable {
    /// The generated tokens without EOS.
    public var tokens: [Int]
    /// Σ log p / length^α.
    public var score: Float
}

/// Decoding of sentences that start together: one `DecodingBatch` with every sentence joined at once, drawing from
/// one sampler in row order. Stops each sentence as transformers' beam search does (per sentence, so a sentence's
/// output does not depend on its batch).
public enum Generator {
    /// Decodes `batchSize` sentences. `memory` (for translators) has one row per sentence;
    /// `prompts` (for language models) are fed after the start token. With a width-1 sampler,
    /// `onToken(sentence, token)` is called for each token as soon as it is chosen (EOS excluded),
    /// so callers can stream; wider searches only know their outputs at the end and never call it.
    /// With a `profile`, the decoder's layers and the search add their time to it.
    public static func generate<S: Sampler>(
        decoder: any Decoder, memory: EncoderMemory?, batchSize: Int, prompts: [[Int]]? = nil,
        sampler: inout S, options: GenerationOptions, profile: StepProfile? = nil,
        onToken: ((_ sentence: Int, _ token: Int) throws -> Void)? = nil
    ) throws -> [[GeneratedSequence]] {
        let slot = SamplerSlot(sampler)
        defer { if let advanced = slot.sampler as? S { sampler = advanced } }
        let batch = DecodingBatch(decoder: decoder, profile: profile)
        let requests = (0..<batchSize).map { sentence in
            DecodingRequest(prompt: prompts?[sentence] ?? [], sampler: slot, options: options,
                            onToken: onToken.map { callback in { token in try callback(sentence, token) } })
        }
        let ids = try batch.join(requests, memory: memory)
        while !batch.isEmpty { try batch.step() }
        var outputs = [[GeneratedSequence]](repeating: [], count: batchSize)
        let index = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($0.element, $0.offset) })
        for (id, sequences) in batch.takeFinished() { if let sentence = index[id] { outputs[sentence] = sequences } }
        return outputs
    }

    /// Sets the entries of `tokens` to −∞ on every row.
    static func forbid(_ tokens: [Int], in logits: Tensor) -> Tensor {
        forbid([[Int]](repeating: tokens, count: logits.shape[0]), in: logits)
    }

    /// Sets the entries of `tokens[r]` to −∞ on row r.
    static func forbid(_ tokens: [[Int]], in logits: Tensor) -> Tensor {
        guard tokens.contains(where: { !$0.isEmpty }) else { return logits }
        let v = logits.shape[1]
        var values = logits.scalars
        for (r, banned) in tokens.enumerated() { for t in banned where t >= 0 && t < v { values[r * v + t] = -.infinity } }
        return Tensor(shape: logits.shape, scalars: values)
    }
}

/// A sentence's finished hypotheses, the best `width` kept, and whether the live ones may still
/// improve them: transformers' `_update_finished_beams` and `_check_early_stop_heuristic` for one sentence.
struct FinishedHypotheses {
    /// Best first.
    private(set) var best: [GeneratedSequence] = []
    /// Cleared for good once the best live hypothesis, normalised by `length`, cannot beat the worst finished one.
    private var improvable = true

    /// Adds `ending` where allowed, then judges the live hypotheses; returns whether the search goes on.
    mutating func update(adding ending: [GeneratedSequence], bestLive: Float?, width: Int, earlyStopping: EarlyStopping,
                         lengthPenalty: Float, length: Int) -> Bool {
        let full = best.count >= width
        if improvable && !(earlyStopping == .whenFull && full) && !ending.isEmpty {
            // Stable: among equal scores, earlier finishers stay ahead.
            best = Array((best + ending).enumerated().sorted { $0.element.score > $1.element.score || ($0.element.score == $1.element.score && $0.offset < $1.offset) }
                .map(\.element).prefix(width))
        }
        if best.count >= width, let worst = best.last?.score {
            let possible = (bestLive ?? -.infinity) / Foundation.pow(Float(Swift.max(length, 1)), lengthPenalty)
            if !(possible > worst) { improvable = false }
        }
        return improvable && !(earlyStopping == .whenFull && best.count >= width)
    }
}
