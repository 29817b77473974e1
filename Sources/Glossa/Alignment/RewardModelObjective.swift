import Foundation
import GlossaNN
import GlossaTensor

/// A ranking tokenised for a reward model: one framed row per response and the comparisons the ranking implies.
public struct TokenizedRanking: Sendable, Equatable {
    /// One row per response, as `RewardModel.frame` lays it out.
    public var rows: [[Int]]
    /// Every pair the ranking implies (indices into `rows`).
    public var comparisons: [RankingRecord.Comparison]

    /// The rankings of `records` that imply at least one comparison (skipped and single-response ones give none).
    public static func tokenize(_ records: [RankingRecord], with model: RewardModel) throws -> [TokenizedRanking] {
        try records.filter { $0.skipped != true && !$0.comparisons.isEmpty }.map { record in
            TokenizedRanking(rows: try model.rows(prompts: [String](repeating: record.prompt, count: record.responses.count),
                                                  responses: record.responses),
                             comparisons: record.comparisons)
        }
    }

    /// Padded tokens of the ranking's rows in one batch.
    var cost: Int { rows.count * (rows.map(\.count).max() ?? 0) }
}

/// The reward-model objective (`"objective": "reward"`): the Bradley–Terry loss over every pair a ranking implies.
/// For responses a and b with rewards r_a, r_b, P(a ≻ b) = σ(r_a − r_b); a pair where a was ranked above b has target 1,
/// a tie target ½, and the loss is the cross-entropy −[y log σ(Δ) + (1 − y) log σ(−Δ)], Δ = r_a − r_b, averaged over
/// pairs. A tie so pulls the two rewards together rather than being dropped. All responses of a ranking are scored
/// in one batch (each row once, however many pairs it is in), as InstructGPT does.
///
/// Why pairs rather than Plackett–Luce over the whole list: a person's list may have ties and the file may hold
/// lists of any length; pairwise Bradley–Terry takes both with one rule (ties as target ½), gives every pair of a
/// ranking equal weight rather than trusting the top of a list more than its tail, and its held-out measure, pairwise
/// accuracy, is the same quantity it fits. For a strict ranking of K responses the pairs are the K(K−1)/2 comparisons
/// Plackett–Luce would also be fitted to.
public final class RewardModelObjective: TrainingObjective, ReportingObjective {
    /// Training rankings.
    public let train: [TokenizedRanking]
    /// Held-out rankings for pairwise accuracy.
    public let dev: [TokenizedRanking]
    let maxTokens: Int
    let batchSize: Int

    /// An objective over tokenised rankings; batches hold at most `batchSize` rankings and `maxTokens` padded tokens.
    public init(train: [TokenizedRanking], dev: [TokenizedRanking], batchSize: Int = 16, maxTokens: Int) throws {
        guard !train.isEmpty else {
            throw GlossaError.invalidInput("reward-model training needs at least one ranking of two or more responses (skipped ones do not count)")
        }
        guard batchSize >= 1 else { throw GlossaError.invalidInput("batch_size must be at least 1") }
        self.train = train
        self.dev = dev
        self.batchSize = batchSize
        self.maxTokens = maxTokens
    }

    /// "reward".
    public var name: String { "reward" }
    /// Compared pairs.
    public var unit: String { "pairs" }
    /// Held-out pairwise accuracy.
    public var primaryMetric: PrimaryMetric? { dev.isEmpty ? nil : PrimaryMetric(name: "accuracy", higherIsBetter: true) }

    public var batching: ExampleBatching { .byTokens(lengths: train.map(\.cost), maxTokens: maxTokens, maxExamples: batchSize) }

    public func network(of model: RewardModel) -> any SavableModel { model.network }

    /// The Bradley–Terry loss of a set of rankings, with the per-pair reward differences.
    public static func loss(_ rankings: [TokenizedRanking], model: RewardModel, context: ForwardContext) throws -> (loss: Tensor, differences: [Float], ties: [Bool]) {
        var rows: [[Int]] = [], first: [Int] = [], second: [Int] = [], ties: [Bool] = []
        for ranking in rankings {
            let offset = rows.count
            rows += ranking.rows
            for c in ranking.comparisons {
                first.append(offset + c.first)
                second.append(offset + c.second)
                ties.append(c.tie)
            }
        }
        let rewards = try model.rewards(rows: rows, context: context)  // [N]
        let delta = rewards.indexSelect(axis: 0, first) - rewards.indexSelect(axis: 0, second)  // [P]
        return (bradleyTerry(delta, ties: ties), delta.scalars, ties)
    }

    /// Mean over pairs of −[y log σ(Δ) + (1 − y) log σ(−Δ)], y = 1, or ½ where tied; −log σ(z) as logsumexp(0, −z) stays finite.
    public static func bradleyTerry(_ delta: Tensor, ties: [Bool]) -> Tensor {
        let p = delta.count
        let zeros = Tensor.zeros([p, 1])
        let lose = Tensor.concat([zeros, (-delta).reshaped([p, 1])], axis: 1).logSumExp(axis: 1)  // −log σ(Δ)
        let win = Tensor.concat([zeros, delta.reshaped([p, 1])], axis: 1).logSumExp(axis: 1)  // −log σ(−Δ)
        let y = Tensor(shape: [p], scalars: ties.map { $0 ? 0.5 : 1 })
        return (lose * y + win * (1 - y)).mean()
    }

    /// The fraction of strict pairs whose better response has the higher reward (ties are not counted).
    public static func accuracy(differences: [Float], ties: [Bool]) -> (correct: Int, pairs: Int) {
        let strict = zip(differences, ties).filter { !$0.1 }
        return (strict.filter { $0.0 > 0 }.count, strict.count)
    }

    public func loss(batch: [Int], model: RewardModel, context: ForwardContext) throws -> ObjectiveLoss {
        let rankings = batch.map { train[$0] }
        let (loss, differences, ties) = try Self.loss(rankings, model: model, context: context)
        let (correct, strict) = Self.accuracy(differences: differences, ties: ties)
        return ObjectiveLoss(loss: loss, count: differences.count, tokens: rankings.reduce(0) { $0 + $1.rows.reduce(0) { $0 + $1.count } },
                             metrics: ["accuracy": strict == 0 ? 0 : Double(correct) / Double(strict)])
    }

    /// Held-out Bradley–Terry loss, pairwise accuracy on strict pairs, and the pair counts.
    public func validate(model: RewardModel) throws -> [String: Double] {
        try Self.evaluate(dev, model: model)
    }

    /// Loss (`loss`), pairwise accuracy (`accuracy`), and counts (`pairs`, `ties`) of `rankings`.
    public static func evaluate(_ rankings: [TokenizedRanking], model: RewardModel) throws -> [String: Double] {
        guard !rankings.isEmpty else { return [:] }
        var total = 0.0, pairs = 0, correct = 0, strict = 0
        for start in stride(from: 0, to: rankings.count, by: 32) {
            let chunk = Array(rankings[start..<Swift.min(start + 32, rankings.count)])
            let (loss, differences, ties) = try withoutGrad { try Self.loss(chunk, model: model, context: ForwardContext()) }
            total += Double(loss.item) * Double(differences.count)
            pairs += differences.count
            let a = Self.accuracy(differences: differences, ties: ties)
            correct += a.correct
            strict += a.pairs
        }
        return ["loss": total / Double(Swift.max(pairs, 1)), "accuracy": strict == 0 ? 0 : Double(correct) / Double(strict),
                "pairs": Double(pairs), "ties": Double(pairs - strict)]
    }

    /// `reward-accuracy.svg`: held-out and training pairwise accuracy, and the held-out loss, by update.
    public func reportFiles(history: [TrainingRecord]) throws -> [String: Data] {
        let lines = [series("held-out pairwise accuracy", "accuracy", in: history), series("held-out Bradley–Terry loss", "loss", in: history),
                     series("training pairwise accuracy", "accuracy", train: true, in: history)].compactMap { $0 }
        guard !lines.isEmpty else { return [:] }
        let plot = LinePlot(title: "Reward model (Bradley–Terry)", xLabel: "update", yLabel: "accuracy / loss", series: lines)
        return ["reward-accuracy.svg": Data(plot.svg().utf8)]
    }
}
