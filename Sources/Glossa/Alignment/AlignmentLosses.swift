import Foundation
import GlossaNN
import GlossaTensor

/// What the DPO loss of a batch of preference pairs gives besides the loss.
public struct PreferenceLoss {
    /// Scalar: mean −log σ(β·margin) over the pairs.
    public var loss: Tensor
    /// Per pair: (log πθ(y_w|x) − log π_ref(y_w|x)) − (log πθ(y_l|x) − log π_ref(y_l|x)), the implicit reward margin / β.
    public var margins: [Float]

    /// The fraction of pairs whose chosen response has the larger implicit reward (margin > 0).
    public var accuracy: Double {
        margins.isEmpty ? 0 : Double(margins.filter { $0 > 0 }.count) / Double(margins.count)
    }
}

/// What the GRPO loss of a batch of sampled outputs gives besides the loss.
public struct PolicyLoss {
    /// Scalar: −(clipped surrogate − β·KL), averaged over each output's tokens, then over outputs.
    public var loss: Tensor
    /// Mean k3 KL estimate to the reference over scored tokens.
    public var kl: Double
    /// The fraction of scored tokens whose ratio lay outside [1 − ε, 1 + ε].
    public var clippedFraction: Double
}

/// The fine-tuning losses of the ladder SFT → DPO → GRPO, on log-probabilities from `SequenceScoring`.
public enum AlignmentLosses {
    /// SFT: mean cross-entropy over the scored (response) tokens of `[B, T, V]` logits, and how many there were.
    public static func supervised(logits: Tensor, targets: [Int], labelSmoothing: Float = 0) -> (loss: Tensor, tokens: Int) {
        Losses.crossEntropy(logits: logits.reshaped([-1, logits.shape[2]]), targets: targets,
                            labelSmoothing: labelSmoothing, ignoreIndex: ResponseBatch.ignored)
    }

    /// DPO (Rafailov et al., 2023, eq. 7): mean over pairs of
    /// −log σ(β[(log πθ(y_w|x) − log π_ref(y_w|x)) − (log πθ(y_l|x) − log π_ref(y_l|x))]).
    /// All four inputs are `[B]` sequence log-probabilities; the reference ones carry no gradient.
    public static func preference(
        policyChosen: Tensor, policyRejected: Tensor, referenceChosen: Tensor, referenceRejected: Tensor, beta: Float
    ) -> PreferenceLoss {
        let b = policyChosen.count
        let margin = (policyChosen - referenceChosen.detached()) - (policyRejected - referenceRejected.detached())  // [B]
        // −log σ(z) = log(1 + e^(−z)) = logsumexp(0, −z): stable for margins of either sign.
        let pairs = Tensor.concat([Tensor.zeros([b, 1]), (-(margin * beta)).reshaped([b, 1])], axis: 1)  // [B, 2]
        let loss = pairs.logSumExp(axis: 1).mean()
        return PreferenceLoss(loss: loss, margins: margin.scalars)
    }

    /// GRPO (Shao et al., 2024, DeepSeekMath eq. 3): per token, min(ρA, clip(ρ, 1−ε, 1+ε)A) − β·D_KL with
    /// ρ = πθ/π_sampling and the unbiased k3 estimator D_KL = π_ref/πθ − log(π_ref/πθ) − 1; averaged over each
    /// output's scored tokens, then over outputs, and negated to make a loss.
    ///
    /// `logProbabilities` `[N, T]` is on the tape; `sampling` and `reference` `[N, T]` are constants; `mask` `[N, T]`
    /// marks scored tokens; `advantages` has one value per output.
    public static func policy(
        logProbabilities: Tensor, sampling: Tensor, reference: Tensor, mask: Tensor, advantages: [Float],
        clip epsilon: Float, klCoefficient beta: Float
    ) -> PolicyLoss {
        let (n, t) = (logProbabilities.shape[0], logProbabilities.shape[1])
        precondition(advantages.count == n, "one advantage per output")
        let a = Tensor(shape: [n, 1], scalars: advantages)  // [N, 1]
        let ratio = (logProbabilities - sampling.detached()).exp()  // [N, T]
        let unclipped = ratio * a
        let clipped = ratio.clamp(1 - epsilon, 1 + epsilon) * a
        // The pessimistic bound: take whichever is smaller (the choice carries no gradient).
        let takeUnclipped = Tensor(shape: [n, t], scalars: zip(unclipped.scalars, clipped.scalars).map { $0 <= $1 ? 1 : 0 })
        let surrogate = unclipped.selecting(where: takeUnclipped, else: clipped)  // [N, T]
        let logRatioToReference = reference.detached() - logProbabilities  // log(π_ref / πθ)
        let kl = logRatioToReference.exp() - logRatioToReference - 1  // [N, T], ≥ 0
        let perToken = (surrogate - kl * beta) * mask
        let lengths = mask.sum(axis: 1).scalars.map { Swift.max($0, 1) }
        let perOutput = perToken.sum(axis: 1) * Tensor(shape: [n], scalars: lengths.map { 1 / $0 })  // [N]
        let loss = -perOutput.mean()

        let m = mask.scalars
        let scored = Swift.max(m.reduce(0, +), 1)
        let klMean = zip(kl.scalars, m).reduce(0.0) { $0 + Double($1.0 * $1.1) } / Double(scored)
        let outside = zip(ratio.scalars, m).filter { $0.1 != 0 && ($0.0 < 1 - epsilon || $0.0 > 1 + epsilon) }.count
        return PolicyLoss(loss: loss, kl: klMean, clippedFraction: Double(outside) / Double(scored))
    }

    /// What group-relative advantages divide the centred rewards by.
    public enum RewardScale: String, Codable, Sendable, CaseIterable {
        /// Each group's own standard deviation (GRPO as published): every group with any spread gets unit-size advantages,
        /// however small its rewards' differences are.
        case group
        /// One pooled within-group standard deviation for the whole batch: a group whose rewards barely differ (a learned
        /// reward's noise among equally wrong answers) gets small advantages, a group with a real contrast large ones.
        case batch
        /// No division (Dr. GRPO): advantages in the reward's own units.
        case none
    }

    /// Group-relative advantages: (r − mean of its group) / (std + `epsilon`), groups of `groupSize` consecutive
    /// rewards, the std as `scale` says. A group whose rewards are all equal gets advantages of 0.
    public static func groupAdvantages(_ rewards: [Double], groupSize: Int, epsilon: Double = 1e-4, scale: RewardScale = .group) -> [Float] {
        precondition(groupSize > 0 && rewards.count % groupSize == 0, "rewards must come in whole groups")
        var centred: [Double] = [], stds: [Double] = []
        centred.reserveCapacity(rewards.count)
        for start in stride(from: 0, to: rewards.count, by: groupSize) {
            let group = rewards[start..<(start + groupSize)]
            let mean = group.reduce(0, +) / Double(groupSize)
            centred += group.map { $0 - mean }
            // Population std: with G = 2 the two advantages are exactly ±1 (times 1/(1 + ε/std)).
            stds.append((group.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(groupSize)).squareRoot())
        }
        let pooled = rewards.isEmpty ? 0 : (centred.reduce(0) { $0 + $1 * $1 } / Double(rewards.count)).squareRoot()
        return centred.indices.map { i in
            switch scale {
            case .group: return Float(centred[i] / (stds[i / groupSize] + epsilon))
            case .batch: return Float(centred[i] / (pooled + epsilon))
            case .none: return Float(centred[i])
            }
        }
    }
}
