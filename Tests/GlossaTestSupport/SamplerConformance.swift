import Testing
import Glossa
import GlossaTensor

/// Checks what every `Sampler` promises, on seeded random log-probabilities over `vocabularySize` tokens:
/// at least one proposal per step; each names a live hypothesis and a token in range and scores
/// `parent.score + log p(token)`; no more than 2·`width` proposals; and two samplers from `make` (same
/// settings, same seed) propose the same continuations step after step.
public func checkSamplerConformance(
    vocabularySize: Int = 12, steps: Int = 6, sourceLocation: SourceLocation = #_sourceLocation, _ make: () -> any Sampler
) {
    var first = make(), second = make()
    #expect(first.width >= 1, "width is at least 1", sourceLocation: sourceLocation)
    var live = [Hypothesis](repeating: Hypothesis(), count: first.width)
    for step in 0..<steps {
        let logProbabilities = randomTensor([live.count, vocabularySize], seed: UInt64(100 + step)).logSoftmax()
        let proposals = first.step(logProbabilities: logProbabilities, live: live)
        let again = second.step(logProbabilities: logProbabilities, live: live)
        #expect(proposals == again, "step \(step): two samplers with one seed disagree", sourceLocation: sourceLocation)
        #expect(!proposals.isEmpty, "step \(step): no proposal", sourceLocation: sourceLocation)
        #expect(proposals.count <= 2 * Swift.max(first.width, live.count), "step \(step): too many proposals", sourceLocation: sourceLocation)
        for c in proposals {
            guard live.indices.contains(c.parent), (0..<vocabularySize).contains(c.token) else {
                Issue.record("step \(step): proposal \(c) names no live hypothesis or an id out of range", sourceLocation: sourceLocation)
                continue
            }
            let expected = live[c.parent].score + logProbabilities.scalars[c.parent * vocabularySize + c.token]
            #expect(abs(c.score - expected) <= 1e-4 * Swift.max(1, abs(expected)),
                    "step \(step): score \(c.score) is not parent + log p = \(expected)", sourceLocation: sourceLocation)
        }
        live = proposals.prefix(first.width).map { Hypothesis(tokens: live[$0.parent].tokens + [$0.token], score: $0.score) }
    }
}
