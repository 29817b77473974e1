import Foundation
import GlossaTensor

/// A partial output of the search: the tokens chosen so far and their summed log-probability.
public struct Hypothesis: Sendable, Equatable {
    /// Generated tokens (without the start token).
    public var tokens: [Int]
    /// Σ log p of those tokens.
    public var score: Float

    /// A hypothesis.
    public init(tokens: [Int] = [], score: Float = 0) {
        self.tokens = tokens
        self.score = score
    }
}

/// One way to continue a hypothesis, proposed by a sampler.
public struct Continuation: Sendable, Equatable {
    /// Index of the hypothesis continued, into the `live` array given to `Sampler.step`.
    public var parent: Int
    /// The next token.
    public var token: Int
    /// The hypothesis score after adding the token (Σ log p).
    public var score: Float

    /// A continuation.
    public init(parent: Int, token: Int, score: Float) {
        self.parent = parent
        self.token = token
        self.score = score
    }
}

/// Chooses how one sentence's live hypotheses continue, from their next-token log-probabilities.
///
/// The search loop (`Generator`) owns the bookkeeping; a sampler only proposes continuations,
/// best first. The loop walks them in order: a continuation ending in EOS among the first `width`
/// finishes a hypothesis, any other is kept while fewer than `width` are live. Greedy search returns
/// the arg-max, stochastic sampling returns one draw per hypothesis, beam search returns the best
/// 2·`width` over all hypotheses — all three fit the same loop.
public protocol Sampler {
    /// Hypotheses kept alive per sentence: 1 for greedy and sampling, the beam size for beam search.
    var width: Int { get }
    /// Proposes continuations of `live` from `logProbabilities` `[live.count, V]`: the log-softmax
    /// of the decoder's logits, with forbidden tokens then set to −∞ (not renormalised, as in transformers).
    mutating func step(logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation]
}

/// Picks the most likely token of each hypothesis.
public struct GreedySampler: Sampler {
    /// Greedy search.
    public init() {}
    public var width: Int { 1 }

    public mutating func step(logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation] {
        let v = logProbabilities.shape[1]
        return live.indices.map { row in
            let slice = logProbabilities.scalars[(row * v)..<((row + 1) * v)]
            let best = slice.indices.max { slice[$0] < slice[$1] || (slice[$0] == slice[$1] && $0 > $1) } ?? 0
            return Continuation(parent: row, token: best - row * v, score: live[row].score + slice[best])
        }
    }
}

/// Beam search: keeps the `beamSize` best hypotheses by summed log-probability.
public struct BeamSampler: Sampler {
    /// The number of hypotheses kept per sentence.
    public let beamSize: Int

    /// Beam search of width `beamSize` (at least 1).
    public init(beamSize: Int) { self.beamSize = Swift.max(1, beamSize) }
    public var width: Int { beamSize }

    public mutating func step(logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation] {
        let v = logProbabilities.shape[1]
        let logProbabilities = logProbabilities.scalars
        let wanted = 2 * beamSize
        // A small sorted list beats sorting rows × V candidates.
        var best: [Continuation] = []
        best.reserveCapacity(wanted + 1)
        for row in live.indices {
            let base = live[row].score
            for token in 0..<v {
                let score = base + logProbabilities[row * v + token]
                if best.count == wanted, let worst = best.last, score <= worst.score { continue }
                let c = Continuation(parent: row, token: token, score: score)
                let at = best.firstIndex { $0.score < score } ?? best.count
                best.insert(c, at: at)
                if best.count > wanted { best.removeLast() }
            }
        }
        return best
    }
}

/// Draws each next token from the softmax of the processed logits: temperature, then top-k, then
/// top-p (nucleus). A temperature of 0 is greedy search exactly.
public struct StochasticSampler: Sampler {
    /// Softmax temperature; 0 means greedy.
    public var temperature: Float
    /// Keep only the k most likely tokens (0 = all).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p (1 = all).
    public var topP: Float
    /// The source of draws, so that a seed repeats a run.
    public var generator: SeededGenerator

    /// A sampler with the given controls and seed.
    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.generator = SeededGenerator(seed: seed)
    }
    public var width: Int { 1 }

    public mutating func step(logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation] {
        if temperature <= 0 {
            var greedy = GreedySampler()
            return greedy.step(logProbabilities: logProbabilities, live: live)
        }
        let v = logProbabilities.shape[1]
        // softmax(log p / T) = softmax(logits / T): the normaliser cancels.
        let tempered = logProbabilities.softmax(temperature: temperature).scalars
        let logProbabilities = logProbabilities.scalars
        return live.indices.map { row in
            let probabilities = Array(tempered[(row * v)..<((row + 1) * v)])
            let token = Self.draw(from: probabilities, topK: topK, topP: topP, using: &generator)
            return Continuation(parent: row, token: token, score: live[row].score + logProbabilities[row * v + token])
        }
    }

    /// One draw from `probabilities` restricted to the top-k and then the top-p nucleus.
    public static func draw(from probabilities: [Float], topK: Int, topP: Float, using generator: inout SeededGenerator) -> Int {
        var order = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
        if topK > 0 && topK < order.count { order.removeSubrange(topK...) }
        if topP < 1 {
            let total = order.reduce(Float(0)) { $0 + probabilities[$1] }
            var mass: Float = 0
            var keep = 0
            for index in order {
                keep += 1
                mass += probabilities[index]
                if mass >= topP * total { break }
            }
            order.removeSubrange(keep...)
        }
        let total = order.reduce(Float(0)) { $0 + probabilities[$1] }
        var u = generator.nextUnitFloat() * total
        for index in order {
            u -= probabilities[index]
            if u < 0 { return index }
        }
        return order.last ?? 0
    }
}
