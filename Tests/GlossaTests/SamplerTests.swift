import Foundation
import Testing
import Glossa
import GlossaTensor
import GlossaTestSupport

/// Statistical and exact checks of the samplers on fixed distributions.
@Suite struct SamplerTests {
    let probabilities: [Float] = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04]
    var logProbabilities: Tensor { Tensor(shape: [1, 6], scalars: probabilities.map { Foundation.log($0) }) }

    @Test func greedyPicksTheArgmax() {
        var greedy = GreedySampler()
        let c = greedy.step(logProbabilities: logProbabilities, live: [Hypothesis(tokens: [], score: -1)])
        #expect(c.map(\.token) == [0])
        assertClose([c[0].score], [-1 + Foundation.log(0.4)], rtol: 1e-6)
    }

    @Test func beamProposesTheBestAcrossHypotheses() {
        var beam = BeamSampler(beamSize: 2)
        let two = Tensor(shape: [2, 6], scalars: logProbabilities.scalars + logProbabilities.scalars)
        let c = beam.step(logProbabilities: two, live: [Hypothesis(score: 0), Hypothesis(score: -0.5)])
        #expect(c.count == 4)
        #expect(c.map(\.parent) == [0, 0, 1, 1] && c.map(\.token) == [0, 1, 0, 1])
        #expect(zip(c, c.dropFirst()).allSatisfy { $0.score >= $1.score })
    }

    @Test func temperatureZeroIsGreedyExactly() {
        var sampler = StochasticSampler(temperature: 0, seed: 1)
        for _ in 0..<20 { #expect(sampler.step(logProbabilities: logProbabilities, live: [Hypothesis()])[0].token == 0) }
        var cold = StochasticSampler(temperature: 1e-6, seed: 1)
        for _ in 0..<20 { #expect(cold.step(logProbabilities: logProbabilities, live: [Hypothesis()])[0].token == 0) }
    }

    @Test func samplingFrequenciesMatchTheSoftmax() {
        // 20 000 draws: each frequency within 0.015 of its probability (about 5 standard errors at p = 0.4).
        var sampler = StochasticSampler(temperature: 1, seed: 7)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<20_000 { counts[sampler.step(logProbabilities: logProbabilities, live: [Hypothesis()])[0].token] += 1 }
        for (count, p) in zip(counts, probabilities) { #expect(abs(Float(count) / 20_000 - p) < 0.015) }
    }

    @Test func topKAndTopPRestrictTheSupport() {
        var rng = SeededGenerator(seed: 3)
        var seenK = Set<Int>(), seenP = Set<Int>()
        for _ in 0..<5_000 {
            seenK.insert(StochasticSampler.draw(from: probabilities, topK: 2, topP: 1, using: &rng))
            // The smallest set reaching 0.7 is {0, 1, 2} (0.4 + 0.25 = 0.65 < 0.7).
            seenP.insert(StochasticSampler.draw(from: probabilities, topK: 0, topP: 0.7, using: &rng))
        }
        #expect(seenK == [0, 1])
        #expect(seenP == [0, 1, 2])
    }

    @Test func aSeedRepeatsARun() {
        var a = StochasticSampler(temperature: 1, topP: 0.9, seed: 42), b = StochasticSampler(temperature: 1, topP: 0.9, seed: 42)
        let x = (0..<50).map { _ in a.step(logProbabilities: logProbabilities, live: [Hypothesis()])[0].token }
        let y = (0..<50).map { _ in b.step(logProbabilities: logProbabilities, live: [Hypothesis()])[0].token }
        #expect(x == y)
    }
}
