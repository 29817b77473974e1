import Foundation
import GlossaNN
import GlossaTensor

/// A tokenised preference pair.
public struct TokenizedPair: Sendable, Equatable {
    /// Prompt ids.
    public var prompt: [Int]
    /// Preferred response ids (no EOS).
    public var chosen: [Int]
    /// Dispreferred response ids (no EOS).
    public var rejected: [Int]

    /// A pair.
    public init(prompt: [Int], chosen: [Int], rejected: [Int]) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
    }

    /// Tokenises preference pairs.
    public static func tokenize(_ pairs: [PreferencePair], with tokenizer: any Tokenizer) throws -> [TokenizedPair] {
        let p = try tokenizer.encodeBatch(pairs.map(\.prompt)), c = try tokenizer.encodeBatch(pairs.map(\.chosen))
        let r = try tokenizer.encodeBatch(pairs.map(\.rejected))
        return p.indices.map { TokenizedPair(prompt: p[$0], chosen: c[$0], rejected: r[$0]) }
    }

    /// Start, prompt and the longer response with EOS.
    var length: Int { 2 + prompt.count + Swift.max(chosen.count, rejected.count) }
}

/// Direct preference optimisation (`"objective": "dpo"`, Rafailov et al., 2023) against a frozen
/// reference copy of the starting model. Chosen and rejected responses of a batch go through the policy
/// as one batch; the reference's log-probabilities of each training pair are computed once and kept.
public final class DirectPreferenceObjective: DecoderObjective {
    /// Training pairs.
    public let train: [TokenizedPair]
    /// Held-out pairs for preference accuracy.
    public let dev: [TokenizedPair]
    /// The frozen reference policy π_ref.
    public let reference: any DecoderOnlyModel
    /// β: how far the policy may move from the reference.
    public let beta: Float
    let maxTokens: Int
    let maxLength: Int
    var referenceCache: [Int: (chosen: Float, rejected: Float)] = [:]

    /// An objective over tokenised pairs; a batch holds at most `maxTokens` padded tokens over both
    /// responses, and pairs longer than `maxLength` are left out of training.
    public init(train: [TokenizedPair], dev: [TokenizedPair], reference: any DecoderOnlyModel, beta: Float, maxTokens: Int, maxLength: Int) throws {
        guard beta > 0 && beta.isFinite else { throw GlossaError.invalidConfiguration("dpo beta must be a positive finite number") }
        self.train = train
        self.dev = dev
        self.reference = reference
        self.beta = beta
        self.maxTokens = maxTokens
        self.maxLength = maxLength
        reference.setTrainable(false)
    }

    /// "dpo".
    public var name: String { "dpo" }
    /// Pairs.
    public var unit: String { "pairs" }
    /// Held-out DPO loss.
    public var primaryMetric: PrimaryMetric? { dev.isEmpty ? nil : PrimaryMetric(name: "loss", higherIsBetter: false) }

    public var batching: ExampleBatching {
        // Each pair is two rows.
        .byTokens(lengths: ExampleBatching.capped(train.map(\.length), maxLength: maxLength), maxTokens: Swift.max(maxTokens / 2, 1))
    }

    /// The policy's `[2B]` sequence log-probabilities: the B chosen responses, then the B rejected ones.
    static func logProbabilities(_ pairs: [TokenizedPair], model: any DecoderOnlyModel, context: ForwardContext) throws -> Tensor {
        let batch = try ResponseBatch(prompts: pairs.map(\.prompt) + pairs.map(\.prompt),
                                      responses: pairs.map(\.chosen) + pairs.map(\.rejected), ids: model.specialIds)
        return try SequenceScoring.sequenceLogProbabilities(model.decoder, batch: batch, context: context)
    }

    func preferenceLoss(_ pairs: [TokenizedPair], policy: Tensor, referenceChosen: [Float], referenceRejected: [Float]) -> PreferenceLoss {
        let b = pairs.count
        return AlignmentLosses.preference(policyChosen: policy.slice(axis: 0, 0..<b), policyRejected: policy.slice(axis: 0, b..<(2 * b)),
                                          referenceChosen: Tensor(referenceChosen), referenceRejected: Tensor(referenceRejected), beta: beta)
    }

    public func loss(batch: [Int], model: any DecoderOnlyModel, context: ForwardContext) throws -> ObjectiveLoss {
        let pairs = batch.map { train[$0] }
        let missing = batch.filter { referenceCache[$0] == nil }
        if !missing.isEmpty {
            let lp = try withoutGrad { try Self.logProbabilities(missing.map { train[$0] }, model: reference, context: ForwardContext()) }.scalars
            for (k, index) in missing.enumerated() { referenceCache[index] = (lp[k], lp[missing.count + k]) }
        }
        let cached = batch.map { referenceCache[$0] ?? (0, 0) }
        let policy = try Self.logProbabilities(pairs, model: model, context: context)
        let result = preferenceLoss(pairs, policy: policy, referenceChosen: cached.map(\.chosen), referenceRejected: cached.map(\.rejected))
        let margins = result.margins.map(Double.init)
        // Response tokens of both sides (and their EOS) are what the pair trains on.
        let tokens = pairs.reduce(0) { $0 + $1.chosen.count + $1.rejected.count + 2 }
        return ObjectiveLoss(loss: result.loss, count: pairs.count, tokens: tokens, metrics: [
            "accuracy": result.accuracy,
            "reward_margin": Double(beta) * margins.reduce(0, +) / Double(Swift.max(margins.count, 1)),
        ])
    }

    /// Held-out DPO loss, preference accuracy (the fraction of pairs whose chosen response gains more
    /// log-probability over the reference than the rejected one; 0 while the policy is the reference), the mean
    /// implicit reward margin β·margin, and `policy_accuracy`, the fraction where log πθ(y_w|x) > log πθ(y_l|x).
    public func validate(model: any DecoderOnlyModel) throws -> [String: Double] {
        guard !dev.isEmpty else { return [:] }
        var loss = 0.0, correct = 0, margin = 0.0, policyCorrect = 0
        for start in stride(from: 0, to: dev.count, by: 16) {
            let pairs = Array(dev[start..<Swift.min(start + 16, dev.count)])
            let policy = try Self.logProbabilities(pairs, model: model, context: ForwardContext())
            let ref = try Self.logProbabilities(pairs, model: reference, context: ForwardContext()).scalars
            let result = preferenceLoss(pairs, policy: policy, referenceChosen: Array(ref[0..<pairs.count]),
                                        referenceRejected: Array(ref[pairs.count...]))
            loss += Double(result.loss.item) * Double(pairs.count)
            correct += result.margins.filter { $0 > 0 }.count
            margin += result.margins.reduce(0.0) { $0 + Double($1) }
            let lp = policy.scalars
            policyCorrect += pairs.indices.filter { lp[$0] > lp[pairs.count + $0] }.count
        }
        let n = Double(dev.count)
        return ["loss": loss / n, "accuracy": Double(correct) / n, "reward_margin": Double(beta) * margin / n,
                "policy_accuracy": Double(policyCorrect) / n]
    }
}

extension DirectPreferenceObjective: ReportingObjective {
    /// `preference-curve.svg`: held-out DPO loss and preference accuracies, and the training accuracy, by update.
    public func reportFiles(history: [TrainingRecord]) throws -> [String: Data] {
        let lines = [series("held-out DPO loss", "loss", in: history), series("held-out accuracy (implicit reward)", "accuracy", in: history),
                     series("held-out policy accuracy", "policy_accuracy", in: history),
                     series("training accuracy (implicit reward)", "accuracy", train: true, in: history)].compactMap { $0 }
        guard !lines.isEmpty else { return [:] }
        let plot = LinePlot(title: "DPO (β = \(beta))", xLabel: "update", yLabel: "loss / accuracy", series: lines)
        return ["preference-curve.svg": Data(plot.svg().utf8)]
    }
}

/// Throws unless `reference` scores the policy's token ids: a reference must share the policy's tokenizer and
/// vocabulary (DPO and GRPO compare their log-probabilities token by token).
public func checkSharedVocabulary(policy: any DecoderOnlyModel, reference: any DecoderOnlyModel, referencePath: String) throws {
    let mine = policy.decoder.vocabularySize, theirs = reference.decoder.vocabularySize
    guard mine == theirs else {
        throw GlossaError.invalidConfiguration("the reference model \(referencePath) has a vocabulary of \(theirs) tokens but the policy's has \(mine); "
                                               + "a reference must share the policy's tokenizer and vocabulary")
    }
}
