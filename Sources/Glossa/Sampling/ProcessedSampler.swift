import Foundation
import GlossaTensor

/// How a processed row of logits becomes one token.
public enum TokenChoice: String, Sendable, Equatable, CaseIterable {
    /// The arg-max (the lowest id among ties).
    case greedy
    /// One seeded draw from the softmax.
    case sample
}

/// A width-1 sampler made of logit processors applied in order, then a choice: the composable
/// form of every sampling control (`StochasticSampler` is one preset of it).
///
/// Each hypothesis' processors see its history (prompt + generated tokens). Scores stay the model's
/// own log-probabilities of the chosen tokens, unprocessed, so they compare across settings.
public struct ProcessedSampler: Sampler {
    /// Applied in order to each row.
    public var processors: [any LogitProcessor]
    /// Greedy or a draw.
    public var choice: TokenChoice
    /// The source of draws.
    public var generator: SeededGenerator

    /// A sampler from processors and a choice, seeded.
    public init(processors: [any LogitProcessor], choice: TokenChoice = .sample, seed: UInt64 = 0) {
        self.init(processors: processors, choice: choice, generator: SeededGenerator(seed: seed))
    }

    /// A sampler that continues an existing stream of draws.
    public init(processors: [any LogitProcessor], choice: TokenChoice, generator: SeededGenerator) {
        self.processors = processors
        self.choice = choice
        self.generator = generator
    }

    public var width: Int { 1 }

    /// Treats the log-probabilities as the logits (the same for every shift-invariant processor).
    public mutating func step(logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation] {
        step(logits: logProbabilities, logProbabilities: logProbabilities, live: live)
    }

    public mutating func step(logits: Tensor, logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation] {
        let v = logits.shape[1]
        let all = logits.scalars, logProbabilities = logProbabilities.scalars
        return live.indices.map { row in
            let original = Array(all[(row * v)..<((row + 1) * v)])
            let token = choose(original, history: live[row].history)
            return Continuation(parent: row, token: token, score: live[row].score + logProbabilities[row * v + token])
        }
    }

    /// The token for one row of raw logits.
    public mutating func choose(_ logits: [Float], history: [Int]) -> Int {
        var processed = logits
        for processor in processors { processor.process(&processed, history: history) }
        // Processors that ban everything (a no-repeat ban on a forced token) fall back to the raw logits.
        if !processed.contains(where: { $0 > -.infinity }) { processed = logits }
        switch choice {
        case .greedy: return argmax(processed) ?? 0
        case .sample: return Self.draw(processed, using: &generator)
        }
    }

    /// One draw from softmax(`logits`): a single uniform number walked along the probabilities.
    public static func draw(_ logits: [Float], using generator: inout SeededGenerator) -> Int {
        let probabilities = softmax(logits)
        var u = Double(generator.nextUnitFloat())
        var last = argmax(logits) ?? 0
        for (i, p) in probabilities.enumerated() where p > 0 {
            u -= p
            last = i
            if u < 0 { return i }
        }
        return last  // rounding left a sliver of mass: the last possible token
    }
}
