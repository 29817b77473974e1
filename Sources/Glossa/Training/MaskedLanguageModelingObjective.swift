import Foundation
import GlossaNN
import GlossaTensor
import Synchronization

/// BERT's token corruption: each maskable token is chosen with `probability`; a chosen token is replaced by the mask
/// id with `maskShare`, by a random token with `randomShare`, and kept otherwise; the model predicts every chosen one.
public struct MaskingRule: Sendable, Equatable, Codable {
    /// The share of tokens chosen for prediction (BERT: 0.15).
    public var probability: Double
    /// Of the chosen, the share replaced by the mask id (BERT: 0.8).
    public var maskShare: Double
    /// Of the chosen, the share replaced by a random token (BERT: 0.1); the rest are kept as they are.
    public var randomShare: Double

    /// BERT's 15%, of which 80% masked, 10% random, 10% kept.
    public static let bert = MaskingRule(probability: 0.15, maskShare: 0.8, randomShare: 0.1)

    /// A rule; `check` says whether the numbers make sense.
    public init(probability: Double, maskShare: Double, randomShare: Double) {
        self.probability = probability
        self.maskShare = maskShare
        self.randomShare = randomShare
    }

    /// Throws unless `probability` is in (0, 1] and the two shares are in [0, 1] with a sum of at most 1.
    public func check() throws {
        guard probability > 0 && probability <= 1 else { throw GlossaError.invalidInput("mask_probability must be in (0, 1], not \(probability)") }
        for (name, share) in [("mask_share", maskShare), ("random_share", randomShare)] where !(share >= 0 && share <= 1) {
            throw GlossaError.invalidInput("\(name) must be in [0, 1], not \(share)")
        }
        guard maskShare + randomShare <= 1 + 1e-9 else {
            throw GlossaError.invalidInput("mask_share + random_share must be at most 1, not \(maskShare + randomShare)")
        }
    }

    /// The corrupted input, and the positions (indices into `ids`) to predict with their original ids. Tokens for
    /// which `maskable` is false (boundary tokens) are never chosen; a sequence with a maskable token but none chosen
    /// gets one chosen at random, so every text teaches something and no batch is empty.
    public func apply<G: RandomNumberGenerator>(to ids: [Int], maskId: Int, randomIds: [Int], maskable: (Int) -> Bool,
                                                using generator: inout G) -> (input: [Int], positions: [Int], targets: [Int]) {
        let candidates = ids.indices.filter { maskable(ids[$0]) }
        var chosen = candidates.filter { _ in Double.random(in: 0..<1, using: &generator) < probability }
        if chosen.isEmpty, let any = candidates.randomElement(using: &generator) { chosen = [any] }
        var input = ids
        for position in chosen {
            let draw = Double.random(in: 0..<1, using: &generator)
            if draw < maskShare {
                input[position] = maskId
            } else if draw < maskShare + randomShare, let random = randomIds.randomElement(using: &generator) {
                input[position] = random
            }
        }
        return (input, chosen, chosen.map { ids[$0] })
    }
}

/// Masked-language-model pretraining of an encoder (`"objective": "masked-lm"`): texts corrupted by a `MaskingRule`,
/// cross-entropy of the original token at each chosen position. Masks are drawn anew for every update from (seed,
/// update, text), so each pass over the data masks differently; validation masks the dev texts once, by a fixed seed,
/// so every checkpoint (and every run) is scored on the same masked tokens.
public final class MaskedLanguageModelingObjective: TrainingObjective, ReportingObjective {
    /// Training texts as token ids, `</s>` at the end, cut to the length limit.
    public let train: [[Int]]
    /// Dev texts, likewise.
    public let dev: [[Int]]
    /// The corruption.
    public let rule: MaskingRule
    /// The id put in place of a masked token.
    public let maskId: Int
    let randomIds: [Int]
    let specials: Set<Int>
    let padId: Int
    let maxTokens: Int
    let seed: UInt64
    let labelSmoothing: Float
    let validationMasks: [(input: [Int], positions: [Int], targets: [Int])]
    /// The last finished update: the masks of the next one are drawn from it (read by the loss's threads).
    let update = Atomic<Int>(0)

    /// An objective over tokenised texts (`train`, `dev`: the tokenizer's pieces, without boundary tokens), cut to
    /// `maxLength` tokens with `</s>`. `maskId` defaults to the tokenizer's mask piece (`[MASK]` or `<mask>`) and else to
    /// its pad id: a pad never occurs inside a text and the attention mask hides only the padded tail, so that row of
    /// the embeddings is free to learn "masked".
    public init(train: [[Int]], dev: [[Int]], tokenizer: any Tokenizer, rule: MaskingRule = .bert, maskId: Int? = nil, maxLength: Int,
                maxTokens: Int, seed: UInt64, labelSmoothing: Float = 0) throws {
        try rule.check()
        guard maxLength >= 2 else { throw GlossaError.invalidInput("masked-lm needs max_length of at least 2, not \(maxLength)") }
        guard labelSmoothing >= 0 && labelSmoothing < 1 else { throw GlossaError.invalidInput("label_smoothing must be in [0, 1), not \(labelSmoothing)") }
        let special = tokenizer.specialTokens
        guard let pad = special.pad else { throw GlossaError.invalidInput("masked-lm needs a tokenizer with a pad id") }
        let vocabulary = tokenizer.vocabularySize
        let mask = maskId ?? Self.maskPiece(of: tokenizer) ?? pad
        guard (0..<vocabulary).contains(mask) else { throw GlossaError.invalidInput("the mask id \(mask) is outside the vocabulary of \(vocabulary)") }
        let specials = Set([special.pad, special.eos, special.bos, mask].compactMap { $0 })
        self.specials = specials
        self.randomIds = (0..<vocabulary).filter { !specials.contains($0) && $0 != special.unk }
        self.maskId = mask
        self.padId = pad
        self.rule = rule
        func frame(_ ids: [Int]) -> [Int] { Array(ids.prefix(maxLength - 1)) + (special.eos.map { [$0] } ?? []) }
        self.train = train.filter { !$0.isEmpty }.map(frame)
        self.dev = dev.filter { !$0.isEmpty }.map(frame)
        guard !self.train.isEmpty else { throw GlossaError.invalidInput("masked-lm training needs at least one non-empty text") }
        self.maxTokens = maxTokens
        self.seed = seed
        self.labelSmoothing = labelSmoothing
        var generator = SeededGenerator(seed: 0x6D61_736B)
        let randomIds = self.randomIds
        validationMasks = self.dev.map { rule.apply(to: $0, maskId: mask, randomIds: randomIds, maskable: { !specials.contains($0) }, using: &generator) }
    }

    /// The id of `[MASK]` or `<mask>` when the tokenizer has that piece.
    static func maskPiece(of tokenizer: any Tokenizer) -> Int? {
        for piece in ["[MASK]", "<mask>"] {
            if let ids = try? tokenizer.encode(piece), ids.count == 1, let id = ids.first, id != tokenizer.specialTokens.unk,
               (try? tokenizer.decode([id])) == piece {
                return id
            }
        }
        return nil
    }

    /// "masked-lm".
    public var name: String { "masked-lm" }
    /// Masked tokens: the units the loss is a mean over.
    public var unit: String { "masked tokens" }
    /// Lower dev masked-token loss is better.
    public var primaryMetric: PrimaryMetric? { dev.isEmpty ? nil : PrimaryMetric(name: "loss", higherIsBetter: false) }
    public var batching: ExampleBatching { .byTokens(lengths: train.map(\.count), maxTokens: maxTokens) }
    /// Yes: a sum over masked tokens, and each text's mask depends only on (seed, update, text).
    public var splitsAcrossThreads: Bool { true }
    public func network(of model: MaskedLanguageModel) -> any SavableModel { model }

    public func didUpdate(step: Int, model: MaskedLanguageModel) throws { update.store(step, ordering: .relaxed) }

    /// The masks of `texts` (indices into `train`) for the coming update.
    public func masks(for texts: [Int]) -> [(input: [Int], positions: [Int], targets: [Int])] {
        let step = UInt64(update.load(ordering: .relaxed))
        return texts.map { i in
            var generator = SeededGenerator(seed: seed ^ (step &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(i) &* 0xC2B2_AE3D_27D4_EB4F))
            return rule.apply(to: train[i], maskId: maskId, randomIds: randomIds, maskable: { !self.specials.contains($0) }, using: &generator)
        }
    }

    public func loss(batch: [Int], model: MaskedLanguageModel, context: ForwardContext) throws -> ObjectiveLoss {
        let (loss, count, hits, tokens) = try Self.maskedLoss(masks(for: batch), model: model, padId: padId, labelSmoothing: labelSmoothing,
                                                              context: context)
        return ObjectiveLoss(loss: loss, count: count, tokens: tokens, metrics: ["accuracy": Double(hits) / Double(Swift.max(count, 1))])
    }

    /// Dev masked-token loss (unsmoothed), its perplexity, and the share of masked tokens predicted exactly.
    public func validate(model: MaskedLanguageModel) throws -> [String: Double] {
        guard !dev.isEmpty else { return [:] }
        let plan = ExampleBatcher.epoch(.byTokens(lengths: dev.map(\.count), maxTokens: maxTokens), seed: 0, epoch: 0)
        let context = ForwardContext()
        var total = 0.0, count = 0, hits = 0
        for batch in plan {
            let (loss, n, h, _) = try Self.maskedLoss(batch.map { validationMasks[$0] }, model: model, padId: padId, labelSmoothing: 0, context: context)
            total += Double(loss.item) * Double(n)
            count += n
            hits += h
        }
        let mean = total / Double(Swift.max(count, 1))
        return ["loss": mean, "perplexity": Foundation.exp(mean), "accuracy": Double(hits) / Double(Swift.max(count, 1))]
    }

    /// The mean cross-entropy over the masked positions of a batch, their number, how many the argmax gets right, and
    /// the batch's tokens.
    static func maskedLoss(_ masks: [(input: [Int], positions: [Int], targets: [Int])], model: MaskedLanguageModel, padId: Int,
                           labelSmoothing: Float, context: ForwardContext) throws -> (Tensor, Int, Int, Int) {
        let batch = TokenBatch(masks.map(\.input), padId: padId)
        let positions = masks.enumerated().flatMap { row, mask in mask.positions.map { row * batch.length + $0 } }
        let targets = masks.flatMap(\.targets)
        let logits = try model.logits(batch, positions: positions, context: context)  // [N, V]
        let loss = logits.crossEntropyRows(targets: targets, labelSmoothing: labelSmoothing).mean()
        let predicted = withoutGrad { logits.argmax(axis: 1) }.scalars
        let hits = zip(predicted, targets).filter { Int($0.0) == $0.1 }.count
        return (loss, targets.count, hits, masks.reduce(0) { $0 + $1.input.count })
    }

    /// `curves.svg`: dev masked-token loss and accuracy by step.
    public func reportFiles(history: [TrainingRecord]) throws -> [String: Data] {
        let lines = [series("dev loss", "loss", in: history), series("dev accuracy", "accuracy", in: history)].compactMap { $0 }
        guard !lines.isEmpty else { return [:] }
        return ["curves.svg": Data(LinePlot(title: "masked-lm", xLabel: "step", yLabel: "dev masked-token loss / accuracy", series: lines).svg().utf8)]
    }
}
