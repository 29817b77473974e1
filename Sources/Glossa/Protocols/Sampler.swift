import Foundation
import GlossaTensor

/// A partial output of the search: the tokens chosen so far and their summed log-probability.
public struct Hypothesis: Sendable, Equatable {
    /// Generated tokens (without the start token).
    public var tokens: [Int]
    /// Σ log p of those tokens.
    public var score: Float
    /// The tokens before the generated ones (a language model's prompt), which repetition
    /// controls look back on too.
    public var prefix: [Int]

    /// A hypothesis.
    public init(tokens: [Int] = [], score: Float = 0, prefix: [Int] = []) {
        self.tokens = tokens
        self.score = score
        self.prefix = prefix
    }

    /// Every token before the next one: the prefix, then the generated tokens.
    public var history: [Int] { prefix + tokens }
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
    /// What the search loop calls: the same with the raw logits `[live.count, V]` beside (forbidden
    /// tokens at −∞), for processors that are not shift-invariant (the repetition penalty acts on
    /// logits, as in transformers). By default it ignores them.
    mutating func step(logits: Tensor, logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation]
    /// Whether `step` reads the raw logits; a sampler that does not spares the search a copy of them
    /// per step. True unless a sampler says otherwise.
    var readsLogits: Bool { get }
    /// When `step`'s proposals are only the best continuations by log-probability, how: the search then finds them
    /// itself from each row's logits and log-sum-exp (`gk_best_continuations`), with the same bits, and never writes
    /// out the log-softmax over the vocabulary nor calls `step`. Nil (the default) for anything else.
    var topContinuations: TopContinuations? { get }
}

/// Proposals that are the best continuations by log-probability, which the search can find without a full log-softmax.
public enum TopContinuations: Sendable, Equatable {
    /// Each hypothesis' most likely token, the lowest id among equal log-probabilities (greedy search).
    case argmaxPerRow
    /// The `count` best continuations over all of a sentence's hypotheses by score (Σ log p), an earlier
    /// (hypothesis, token) ahead of a later one of equal score (beam search).
    case best(count: Int)
}

extension Sampler {
    /// Assumes the raw logits are read.
    public var readsLogits: Bool { true }
    /// Proposals the search cannot find itself.
    public var topContinuations: TopContinuations? { nil }

    /// Ignores the raw logits.
    public mutating func step(logits: Tensor, logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation] {
        step(logProbabilities: logProbabilities, live: live)
    }
}

/// Picks the most likely token of each hypothesis.
public struct GreedySampler: Sampler {
    /// Greedy search.
    public init() {}
    public var width: Int { 1 }
    /// Only log-probabilities are read.
    public var readsLogits: Bool { false }
    /// Each row's arg-max.
    public var topContinuations: TopContinuations? { .argmaxPerRow }

    public mutating func step(logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation] {
        let v = logProbabilities.shape[1]
        return live.indices.map { row in
            let slice = logProbabilities.scalars[(row * v)..<((row + 1) * v)]
            let best = slice.indices.max { slice[$0] < slice[$1] || (slice[$0] == slice[$1] && $0 > $1) } ?? 0
            return Continuation(parent: row, token: best - row * v, score: live[row].score + slice[best])
        }
    }
}

/// Beam search: keeps the `beamSize` best hypotheses by summed log-probability. Processors act on
/// each row's log-probabilities before they are added to the hypothesis' score, as in transformers'
/// beam search, so a repetition penalty changes the scores themselves.
public struct BeamSampler: Sampler {
    /// The number of hypotheses kept per sentence.
    public let beamSize: Int
    /// Applied in order to each row's log-probabilities (none by default).
    public var processors: [any LogitProcessor]

    /// Beam search of width `beamSize` (at least 1).
    public init(beamSize: Int, processors: [any LogitProcessor] = []) {
        self.beamSize = Swift.max(1, beamSize)
        self.processors = processors
    }
    public var width: Int { beamSize }
    /// Only log-probabilities are read (the processors act on them).
    public var readsLogits: Bool { false }
    /// The best 2·`beamSize` continuations, unless processors change the scores.
    public var topContinuations: TopContinuations? { processors.isEmpty ? .best(count: 2 * beamSize) : nil }

    public mutating func step(logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation] {
        let v = logProbabilities.shape[1]
        let all = logProbabilities.scalars
        let wanted = 2 * beamSize
        // A small sorted list beats sorting rows × V candidates.
        var best: [Continuation] = []
        best.reserveCapacity(wanted + 1)
        for row in live.indices {
            var scores = Array(all[(row * v)..<((row + 1) * v)])
            for processor in processors { processor.process(&scores, history: live[row].history) }
            let base = live[row].score
            for token in 0..<v {
                let score = base + scores[token]
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

/// Draws each next token from the softmax of the processed logits: repetition penalty and
/// no-repeat-n-gram, then temperature, top-k, top-p (nucleus) and min-p, as transformers orders them.
/// A temperature of 0 is greedy search exactly. A `ProcessedSampler` with these processors.
public struct StochasticSampler: Sampler {
    /// Softmax temperature; 0 means greedy.
    public var temperature: Float
    /// Keep only the k most likely tokens (0 = all).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p (1 = all).
    public var topP: Float
    /// Keep the tokens at least this fraction as likely as the most likely one (0 = all).
    public var minP: Float
    /// Divide positive logits of tokens already seen by this, multiply negative ones (1 = off).
    public var repetitionPenalty: Float
    /// Never repeat an n-gram of this length (0 = off).
    public var noRepeatNGramSize: Int
    /// The source of draws, so that a seed repeats a run.
    public var generator: SeededGenerator

    /// A sampler with the given controls and seed.
    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1, minP: Float = 0, repetitionPenalty: Float = 1,
                noRepeatNGramSize: Int = 0, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.noRepeatNGramSize = noRepeatNGramSize
        self.generator = SeededGenerator(seed: seed)
    }
    public var width: Int { 1 }

    /// The processors these settings make, in transformers' order; the inactive ones are left out.
    public var processors: [any LogitProcessor] {
        var chain: [any LogitProcessor] = []
        if repetitionPenalty != 1 { chain.append(RepetitionPenalty(repetitionPenalty)) }
        if noRepeatNGramSize > 0 { chain.append(NoRepeatNGram(size: noRepeatNGramSize)) }
        if temperature != 1 { chain.append(Temperature(temperature)) }
        if topK > 0 { chain.append(TopK(topK)) }
        if topP < 1 { chain.append(TopP(topP)) }
        if minP > 0 { chain.append(MinP(minP)) }
        return chain
    }

    public mutating func step(logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation] {
        step(logits: logProbabilities, logProbabilities: logProbabilities, live: live)
    }

    public mutating func step(logits: Tensor, logProbabilities: Tensor, live: [Hypothesis]) -> [Continuation] {
        var sampler = ProcessedSampler(processors: processors, choice: .sample, generator: generator)
        defer { generator = sampler.generator }
        return sampler.step(logits: logits, logProbabilities: logProbabilities, live: live)
    }

    /// One draw from `probabilities` restricted to the top-k and then the top-p nucleus.
    public static func draw(from probabilities: [Float], topK: Int, topP: Float, using generator: inout SeededGenerator) -> Int {
        var logits = probabilities.map { Foundation.log($0) }
        TopK(topK).process(&logits, history: [])
        TopP(topP).process(&logits, history: [])
        return ProcessedSampler.draw(logits, using: &generator)
    }
}
