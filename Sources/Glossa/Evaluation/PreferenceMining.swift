import Foundation
import GlossaNN
import GlossaTensor

/// DPO preference pairs mined from a model's own samples: per prompt, the sample with the highest sentence chrF
/// against the reference is chosen and the lowest-scoring eligible one rejected.
public struct PreferenceMining: Sendable {
    /// When set, only samples whose length in characters is within this fraction of the chosen one's may be
    /// rejected, so that pairs differ in what they say rather than in length (chrF favours recall, so unmatched
    /// pairs teach DPO that longer is better).
    public var lengthTolerance: Double?
    /// Alternates which side may be longer, prompt by prompt (the rejected sample at least as long as the chosen one
    /// for even positions, at most as long for odd ones), so that length predicts no preference.
    public var balanceLengths: Bool

    /// Mining rules; the defaults pair the best sample with the worst whatever their lengths.
    public init(lengthTolerance: Double? = nil, balanceLengths: Bool = false) {
        self.lengthTolerance = lengthTolerance
        self.balanceLengths = balanceLengths
    }

    /// The pair for one prompt's samples, or `nil` when no eligible sample scores below the best or all are one text;
    /// `position` is the prompt's index, which `balanceLengths` alternates on.
    public func pair(prompt: String, samples: [String], reference: String, position: Int) -> PreferencePair? {
        let chrF = ChrF()
        let scored = samples.map { ($0, chrF.sentenceScore(hypothesis: $0, reference: reference).score) }
        // max/min keep the first of equal scores, so a fixed seed gives a fixed pair.
        guard let best = scored.max(by: { $0.1 < $1.1 }) else { return nil }
        let eligible = scored.filter { sample in
            let difference = sample.0.count - best.0.count
            let near = lengthTolerance.map { Double(abs(difference)) <= $0 * Double(best.0.count) } ?? true
            return near && (!balanceLengths || (position % 2 == 0 ? difference >= 0 : difference <= 0))
        }
        guard let worst = eligible.min(by: { $0.1 < $1.1 }), best.1 > worst.1, best.0 != worst.0 else { return nil }
        return PreferencePair(prompt: prompt, chosen: best.0, rejected: worst.0)
    }

    /// Pairs from `samples[i]` (the samples of `prompts[i]`), in prompt order; prompts without a pair give none.
    public func pairs(prompts: [String], samples: [[String]], references: [String]) throws -> [PreferencePair] {
        guard prompts.count == samples.count, prompts.count == references.count else {
            throw GlossaError.invalidInput("\(prompts.count) prompts, \(samples.count) sample lists and \(references.count) references; they must be aligned")
        }
        return prompts.indices.compactMap { pair(prompt: prompts[$0], samples: samples[$0], reference: references[$0], position: $0) }
    }

    /// Draws `samplesPerPrompt` responses to every prompt from `lm` (all as one seeded batch, so a seed repeats the
    /// pairs) and mines them.
    public func mine(_ lm: LanguageModel, prompts: [String], references: [String], samplesPerPrompt: Int,
                     temperature: Float = 1, seed: UInt64 = 1, maxNewTokens: Int = 64) throws -> [PreferencePair] {
        guard samplesPerPrompt >= 2 else { throw GlossaError.invalidInput("a preference pair needs at least 2 samples per prompt, not \(samplesPerPrompt)") }
        guard prompts.count == references.count else {
            throw GlossaError.invalidInput("\(prompts.count) prompts but \(references.count) references; they must be aligned")
        }
        let encoded = try lm.tokenizer.encodeBatch(prompts)
        // The samples of a prompt are rows of one batch.
        let rows = encoded.flatMap { Array(repeating: $0, count: samplesPerPrompt) }
        let generated = try withoutGrad {
            try ResponseGeneration.generate(lm.model, prompts: rows, sampler: StochasticSampler(temperature: temperature, seed: seed),
                                            maxNewTokens: maxNewTokens)
        }
        let texts = try generated.map { try lm.tokenizer.decode($0.tokens) }
        let samples = prompts.indices.map { Array(texts[(samplesPerPrompt * $0)..<(samplesPerPrompt * ($0 + 1))]) }
        return try pairs(prompts: prompts, samples: samples, references: references)
    }
}
