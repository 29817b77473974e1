import Foundation
import Testing
import Glossa
import GlossaTensor
import GlossaTestSupport

/// The logit processors, exactly on small cases and statistically over many seeded draws.
///
/// Tolerance of the frequency checks: with N draws, a token of probability p is counted
/// Binomial(N, p) times, whose standard deviation is σ = √(p(1−p)/N) in frequency; each observed
/// frequency must lie within 4σ (+1e-9) of its target. 4σ fails a correct sampler with probability
/// about 6·10⁻⁵ per token, and the seeds are fixed, so the tests are deterministic anyway.
@Suite struct LogitProcessorTests {
    /// Ten tokens with distinct probabilities, most likely first.
    let probabilities: [Double] = [0.3, 0.2, 0.15, 0.1, 0.08, 0.07, 0.05, 0.03, 0.015, 0.005]
    var logits: [Float] { probabilities.map { Float(Foundation.log($0)) + 1.5 } }  // shifted: logits, not log-probs

    /// Draws `n` tokens with `processors` from `logits`.
    func frequencies(_ processors: [any LogitProcessor], draws n: Int = 20_000, seed: UInt64) -> [Double] {
        var sampler = ProcessedSampler(processors: processors, choice: .sample, seed: seed)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<n { counts[sampler.choose(logits, history: [])] += 1 }
        return counts.map { Double($0) / Double(n) }
    }

    /// Checks each frequency against `target` (renormalised) within 4σ.
    func expectMatches(_ observed: [Double], _ target: [Double], draws n: Int = 20_000, sourceLocation: SourceLocation = #_sourceLocation) {
        let total = target.reduce(0, +)
        for (i, (f, t)) in zip(observed, target.map { $0 / total }).enumerated() {
            let sigma = (t * (1 - t) / Double(n)).squareRoot()
            #expect(abs(f - t) <= 4 * sigma + 1e-9, "token \(i): frequency \(f), probability \(t), 4σ = \(4 * sigma)", sourceLocation: sourceLocation)
        }
    }

    @Test func plainSamplingMatchesTheSoftmax() {
        expectMatches(frequencies([], seed: 1), probabilities)
    }

    @Test func temperatureSharpensAsThePower() {
        // softmax(x/T) ∝ p^(1/T): at T = 0.5 the probabilities are squared.
        expectMatches(frequencies([Temperature(0.5)], seed: 2), probabilities.map { $0 * $0 })
    }

    @Test func topKNeverLeavesTheTopK() {
        let observed = frequencies([TopK(3)], seed: 3)
        #expect(observed[3...].allSatisfy { $0 == 0 })
        expectMatches(observed, Array(probabilities.prefix(3)) + [Double](repeating: 0, count: 7))
    }

    @Test func topPSupportIsTheSmallestSetReachingP() {
        // 0.3 + 0.2 = 0.5 < 0.6 ≤ 0.3 + 0.2 + 0.15: exactly the top three, each drawn.
        let observed = frequencies([TopP(0.6)], seed: 4)
        #expect(observed.indices.filter { observed[$0] > 0 } == [0, 1, 2])
        expectMatches(observed, Array(probabilities.prefix(3)) + [Double](repeating: 0, count: 7))
    }

    @Test func minPKeepsTokensAboveTheFractionOfTheBest() {
        // 0.25 · 0.3 = 0.075: tokens 0…4 (0.08 ≥ 0.075), not token 5 (0.07).
        let observed = frequencies([MinP(0.25)], seed: 6)
        #expect(observed.indices.filter { observed[$0] > 0 } == [0, 1, 2, 3, 4])
        expectMatches(observed, Array(probabilities.prefix(5)) + [Double](repeating: 0, count: 5))
    }

    @Test func filtersComposeInOrder() {
        // Top-k 5 then top-p 0.8 of the renormalised top five (0.3, 0.2, 0.15, 0.1, 0.08)/0.83:
        // 0.361 + 0.241 + 0.181 = 0.783 < 0.8, so four tokens.
        let observed = frequencies([TopK(5), TopP(0.8)], seed: 7)
        #expect(observed.indices.filter { observed[$0] > 0 } == [0, 1, 2, 3])
    }

    @Test func temperatureTowardZeroIsGreedyWithoutNaN() {
        var rng = SeededGenerator(seed: 8)
        for t in [Float(1e-2), 1e-4, 1e-8, 1e-30, .leastNonzeroMagnitude, 0] {
            var sampler = ProcessedSampler(processors: [Temperature(t)], choice: .sample, seed: 9)
            for _ in 0..<50 {
                let row = (0..<100).map { _ in Float.random(in: -5...5, using: &rng) }
                var processed = row
                Temperature(t).process(&processed, history: [])
                #expect(!processed.contains { $0.isNaN }, "NaN at T = \(t)")
                let best = row.indices.max { row[$0] < row[$1] } ?? 0
                // Random logits 0.0001 apart need T well below 1e-6 to leave no mass elsewhere.
                if t < 1e-6 { #expect(sampler.choose(row, history: []) == best, "T = \(t)") }
            }
        }
    }

    @Test func repetitionPenaltyFollowsTransformers() {
        var x: [Float] = [2, -1, 0.5, 3]
        RepetitionPenalty(2).process(&x, history: [0, 1, 1])
        #expect(x == [1, -2, 0.5, 3])
    }

    @Test func noRepeatNGramBansCompletions() {
        var x = [Float](repeating: 0, count: 8)
        NoRepeatNGram(size: 3).process(&x, history: [1, 2, 3, 4, 1, 2])
        #expect(x.indices.filter { x[$0] == -.infinity } == [3])
        var y = [Float](repeating: 0, count: 8)
        NoRepeatNGram(size: 2).process(&y, history: [5, 6, 5, 7, 5])
        #expect(y.indices.filter { y[$0] == -.infinity } == [6, 7])
    }

    @Test func processorsSeeThePromptAndTheRawLogits() {
        // The repetition penalty must act on logits (positive ones shrink), and see the prompt.
        let logits = Tensor(shape: [1, 3], scalars: [1.0, 0.9, -3])
        let logProbabilities = logits.logSoftmax()
        var sampler = ProcessedSampler(processors: [RepetitionPenalty(3)], choice: .greedy)
        let live = [Hypothesis(tokens: [], score: 0, prefix: [0])]
        let c = sampler.step(logits: logits, logProbabilities: logProbabilities, live: live)
        #expect(c.map(\.token) == [1])  // 1/3 < 0.9
        assertClose([c[0].score], [logProbabilities.scalars[1]], rtol: 1e-6)
    }

    @Test func aSeedRepeatsAndAnotherDiffers() {
        let a = frequencies([TopK(8)], draws: 500, seed: 11), b = frequencies([TopK(8)], draws: 500, seed: 11)
        let c = frequencies([TopK(8)], draws: 500, seed: 12)
        #expect(a == b)
        #expect(a != c)
    }
}
