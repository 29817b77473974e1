import Foundation
import Glossa
import GlossaNN
import GlossaTensor
import GlossaTestSupport
import Testing

/// The ladder's losses against finite differences and against their definitions written out by hand.
@Suite struct AlignmentLossTests {
    let ids = SequenceSpecialIds(eos: 0, pad: 5, decoderStart: 0)

    /// Two prompt/response pairs of different lengths over a vocabulary of 6.
    func batch() throws -> ResponseBatch {
        try ResponseBatch(prompts: [[1, 2], [3]], responses: [[4], [2, 1, 3]], ids: ids)
    }

    @Test func layoutMasksThePromptAndPadding() throws {
        let b = try batch()
        #expect(b.input.sequence(0) == [0, 1, 2, 4] && b.input.sequence(1) == [0, 3, 2, 1, 3])
        let x = ResponseBatch.ignored
        #expect(b.targets == [x, x, 4, 0, x, x, 2, 1, 3, 0])
        #expect(b.scoredLengths == [2, 4] && b.scoredCount == 6)
        let open = try ResponseBatch(prompts: [[1]], responses: [[2, 3]], ids: ids, closed: [false])
        #expect(open.input.sequence(0) == [0, 1, 2] && open.targets == [x, 2, 3])
    }

    @Test func sequenceLogProbabilityIsTheSumOfScoredTokens() throws {
        let b = try batch()
        let logits = randomTensor([2, 5, 6], seed: 3)
        let lp = logits.logSoftmax().scalars
        var expected: [Float] = [0, 0]
        for row in 0..<2 {
            for t in 0..<5 where b.targets[row * 5 + t] != ResponseBatch.ignored {
                expected[row] += lp[(row * 5 + t) * 6 + b.targets[row * 5 + t]]
            }
        }
        assertClose(SequenceScoring.sequenceLogProbabilities(logits: logits, targets: b.targets).scalars, expected, rtol: 1e-5, atol: 1e-5)
        checkGradients([logits]) { SequenceScoring.sequenceLogProbabilities(logits: $0[0], targets: b.targets) }
    }

    @Test func supervisedLossCountsOnlyResponseTokens() throws {
        let b = try batch()
        let logits = randomTensor([2, 5, 6], seed: 4)
        let (loss, tokens) = AlignmentLosses.supervised(logits: logits, targets: b.targets)
        #expect(tokens == 6)
        let total = SequenceScoring.sequenceLogProbabilities(logits: logits, targets: b.targets).scalars.reduce(0, +)
        assertClose([loss.item], [-total / 6], rtol: 1e-5)
        checkGradients([logits]) { AlignmentLosses.supervised(logits: $0[0], targets: b.targets).loss }
    }

    @Test func preferenceLossMatchesItsDefinition() {
        let chosen = Tensor([-3.0, -1.5, -8.0]), rejected = Tensor([-4.0, -1.0, -2.0])
        let refChosen = Tensor([-3.5, -1.2, -7.0]), refRejected = Tensor([-3.0, -1.4, -2.5])
        let beta: Float = 0.5
        let result = AlignmentLosses.preference(policyChosen: chosen, policyRejected: rejected,
                                                referenceChosen: refChosen, referenceRejected: refRejected, beta: beta)
        let margins: [Float] = (0..<3).map { (chosen.scalars[$0] - refChosen.scalars[$0]) - (rejected.scalars[$0] - refRejected.scalars[$0]) }
        let expected = margins.map { -Foundation.log(1 / (1 + Foundation.exp(-beta * $0))) }.reduce(0, +) / 3
        assertClose(result.margins, margins, rtol: 1e-6)
        assertClose([result.loss.item], [expected], rtol: 1e-5)
        #expect(result.accuracy == 1.0 / 3.0)
        // Large margins of either sign stay finite.
        let extreme = AlignmentLosses.preference(policyChosen: Tensor([-500]), policyRejected: Tensor([0]),
                                                 referenceChosen: Tensor([0]), referenceRejected: Tensor([0]), beta: 1)
        assertClose([extreme.loss.item], [500], rtol: 1e-6)
    }

    @Test func preferenceGradientThroughLogits() throws {
        // Chosen and rejected rows share one batch, as the DPO objective runs them.
        let b = try ResponseBatch(prompts: [[1, 2], [3], [1, 2], [3]], responses: [[4], [2, 1], [3, 3], [4]], ids: ids)
        let t = b.input.length
        let logits = randomTensor([4, t, 6], seed: 5)
        let reference = SequenceScoring.sequenceLogProbabilities(logits: randomTensor([4, t, 6], seed: 6), targets: b.targets)
        checkGradients([logits]) { x in
            let lp = SequenceScoring.sequenceLogProbabilities(logits: x[0], targets: b.targets)
            return AlignmentLosses.preference(
                policyChosen: lp.slice(axis: 0, 0..<2), policyRejected: lp.slice(axis: 0, 2..<4),
                referenceChosen: reference.slice(axis: 0, 0..<2), referenceRejected: reference.slice(axis: 0, 2..<4), beta: 0.7).loss
        }
    }

    @Test func groupAdvantagesAreNormalisedWithinGroups() {
        let a = AlignmentLosses.groupAdvantages([1, 0, 0, 1, 2, 2, 2, 2], groupSize: 4)
        assertClose(Array(a[0..<4]), [1, -1, -1, 1], rtol: 1e-3)
        #expect(a[4..<8].allSatisfy { $0 == 0 })
        // Batch scale: one pooled within-group std, so the small contrast stays small; none: the centred rewards.
        let rewards: [Double] = [1, 0, 0, 1, 0.1, 0, 0, 0.1]
        let pooled = ((4 * 0.25 + 4 * 0.0025) / 8).squareRoot()
        assertClose(AlignmentLosses.groupAdvantages(rewards, groupSize: 4, scale: .batch),
                    rewards.indices.map { Float((rewards[$0] - ($0 < 4 ? 0.5 : 0.05)) / (pooled + 1e-4)) }, rtol: 1e-4)
        assertClose(AlignmentLosses.groupAdvantages(rewards, groupSize: 4, scale: .none), [0.5, -0.5, -0.5, 0.5, 0.05, -0.05, -0.05, 0.05], rtol: 1e-5)
        assertClose(AlignmentLosses.groupAdvantages(rewards, groupSize: 4), [1, -1, -1, 1, 1, -1, -1, 1], rtol: 1e-2)
    }

    /// Policy log-probabilities whose ratios to the sampling policy sit well inside or outside [0.8, 1.2].
    func policyInputs() throws -> (ResponseBatch, Tensor, Tensor, Tensor) {
        let b = try ResponseBatch(prompts: [[1], [1], [2, 3]], responses: [[4, 2], [3], [1, 1, 4]], ids: ids)
        let t = b.input.length
        let logits = randomTensor([3, t, 6], seed: 7)
        let current = SequenceScoring.tokenLogProbabilities(logits: logits, targets: b.targets).scalars
        let offsets: [Float] = [0.5, -0.05, 0.05, -0.5, 0.4]
        let sampling = Tensor(shape: [3, t], scalars: current.enumerated().map { $0.element - offsets[$0.offset % 5] })
        let reference = Tensor(shape: [3, t], scalars: current.enumerated().map { $0.element + 0.3 * offsets[($0.offset + 2) % 5] })
        return (b, logits, sampling, reference)
    }

    @Test func policyLossGradient() throws {
        let (b, logits, sampling, reference) = try policyInputs()
        let mask = b.scoredMask
        for advantages in [[1.2, -0.7, 0.4], [-1, 1, -0.3]] as [[Float]] {
            checkGradients([logits]) { x in
                let lp = SequenceScoring.tokenLogProbabilities(logits: x[0], targets: b.targets)
                return AlignmentLosses.policy(logProbabilities: lp, sampling: sampling, reference: reference, mask: mask,
                                              advantages: advantages, clip: 0.2, klCoefficient: 0.1).loss
            }
        }
    }

    @Test func policyLossMatchesItsDefinitionAndClips() throws {
        let (b, logits, sampling, reference) = try policyInputs()
        let mask = b.scoredMask
        let advantages: [Float] = [1, -1, 0.5]
        let (epsilon, beta): (Float, Float) = (0.2, 0.05)
        let lp = SequenceScoring.tokenLogProbabilities(logits: logits, targets: b.targets)
        lp.requiresGrad = true
        let result = AlignmentLosses.policy(logProbabilities: lp, sampling: sampling, reference: reference, mask: mask,
                                            advantages: advantages, clip: epsilon, klCoefficient: beta)
        let length = b.input.length
        var expected: Float = 0
        for row in 0..<3 {
            var total: Float = 0, count: Float = 0
            for t in 0..<length where mask.scalars[row * length + t] != 0 {
                let i = row * length + t
                let ratio = Foundation.exp(lp.scalars[i] - sampling.scalars[i])
                let a = advantages[row]
                let surrogate = Swift.min(ratio * a, Swift.min(Swift.max(ratio, 1 - epsilon), 1 + epsilon) * a)
                let d = reference.scalars[i] - lp.scalars[i]
                total += surrogate - beta * (Foundation.exp(d) - d - 1)
                count += 1
            }
            expected += total / count
        }
        assertClose([result.loss.item], [-expected / 3], rtol: 1e-5, atol: 1e-6)
        #expect(result.clippedFraction > 0 && result.kl > 0)
        // A token with a positive advantage already above 1 + ε gets no policy gradient, only the KL term's.
        result.loss.backward()
        for row in 0..<3 {
            for t in 0..<length where mask.scalars[row * length + t] != 0 {
                let i = row * length + t
                let ratio = Foundation.exp(lp.scalars[i] - sampling.scalars[i])
                let clippedAway = (advantages[row] > 0 && ratio > 1 + epsilon) || (advantages[row] < 0 && ratio < 1 - epsilon)
                guard clippedAway else { continue }
                let d = reference.scalars[i] - lp.scalars[i]
                let klOnly = beta * (1 - Foundation.exp(d)) / Float(b.scoredLengths[row]) / 3
                assertClose([lp.grad?.scalars[i] ?? .nan], [klOnly], rtol: 1e-4, atol: 1e-7)
            }
        }
    }
}
