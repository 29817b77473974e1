import Foundation
import GlossaNN
import GlossaTensor

/// A tokenised prompt and response.
public struct TokenizedExample: Sendable, Equatable {
    /// Prompt ids.
    public var prompt: [Int]
    /// Response ids (no EOS).
    public var response: [Int]

    /// An example.
    public init(prompt: [Int], response: [Int]) {
        self.prompt = prompt
        self.response = response
    }

    /// Tokenises prompt/response pairs.
    public static func tokenize(_ examples: [PromptResponse], with tokenizer: any Tokenizer) throws -> [TokenizedExample] {
        let prompts = try tokenizer.encodeBatch(examples.map(\.prompt)), responses = try tokenizer.encodeBatch(examples.map(\.response))
        return zip(prompts, responses).map { TokenizedExample(prompt: $0, response: $1) }
    }
}

/// Supervised fine-tuning (`"objective": "sft"`): cross-entropy on the response tokens and the closing
/// EOS only; the prompt is read but never scored. Dev: loss per response token, and, when generation
/// examples are given, the mean reward (chrF, accuracy) of greedy responses.
public final class SupervisedFineTuningObjective: DecoderObjective {
    /// Training examples.
    public let train: [TokenizedExample]
    /// Dev examples for the response loss.
    public let dev: [TokenizedExample]
    let ids: SequenceSpecialIds
    let maxTokens: Int
    let maxLength: Int
    let labelSmoothing: Float
    let generation: GenerationCheck?

    /// An objective over tokenised examples; examples longer than `maxLength` (start, prompt, response
    /// and EOS) are left out of training, and batches hold at most `maxTokens` padded tokens.
    public init(train: [TokenizedExample], dev: [TokenizedExample], ids: SequenceSpecialIds, maxTokens: Int, maxLength: Int,
                labelSmoothing: Float = 0, generation: GenerationCheck? = nil) {
        self.train = train
        self.dev = dev
        self.ids = ids
        self.maxTokens = maxTokens
        self.maxLength = maxLength
        self.labelSmoothing = labelSmoothing
        self.generation = generation
    }

    /// "sft".
    public var name: String { "sft" }

    /// The generation check's reward when there is one, else the dev response loss.
    public var primaryMetric: PrimaryMetric? {
        if generation != nil { return PrimaryMetric(name: "reward", higherIsBetter: true) }
        return dev.isEmpty ? nil : PrimaryMetric(name: "loss", higherIsBetter: false)
    }

    static func length(_ e: TokenizedExample) -> Int { 1 + e.prompt.count + e.response.count }

    public var batching: ExampleBatching {
        .byTokens(lengths: ExampleBatching.capped(train.map(Self.length), maxLength: maxLength), maxTokens: maxTokens)
    }

    public func loss(batch: [Int], model: any DecoderOnlyModel, context: ForwardContext) throws -> ObjectiveLoss {
        let (loss, tokens) = try Self.responseLoss(batch.map { train[$0] }, model: model, labelSmoothing: labelSmoothing, context: context)
        return ObjectiveLoss(loss: loss, count: tokens)
    }

    /// Mean cross-entropy over the response tokens (and EOS) of `examples`, and how many there were.
    public static func responseLoss(
        _ examples: [TokenizedExample], model: any DecoderOnlyModel, labelSmoothing: Float = 0, context: ForwardContext
    ) throws -> (loss: Tensor, tokens: Int) {
        let batch = try ResponseBatch(prompts: examples.map(\.prompt), responses: examples.map(\.response), ids: model.specialIds)
        return AlignmentLosses.supervised(logits: try batch.logits(model.decoder, context: context), targets: batch.targets,
                                          labelSmoothing: labelSmoothing)
    }

    /// Dev loss per response token (no smoothing), its perplexity, and the generation check's scores.
    public func validate(model: any DecoderOnlyModel) throws -> [String: Double] {
        var out: [String: Double] = [:]
        if !dev.isEmpty {
            let limit = model.decoder.maxLength ?? Int.max
            let kept = dev.filter { Self.length($0) <= limit }
            let plan = ExampleBatcher.epoch(.byTokens(lengths: ExampleBatching.capped(kept.map(Self.length), maxLength: limit), maxTokens: maxTokens), seed: 0, epoch: 0)
            var total = 0.0, tokens = 0
            for batch in plan {
                let (loss, n) = try Self.responseLoss(batch.map { kept[$0] }, model: model, context: ForwardContext())
                total += Double(loss.item) * Double(n)
                tokens += n
            }
            out["loss"] = total / Double(Swift.max(tokens, 1))
            out["perplexity"] = Foundation.exp(out["loss"] ?? 0)
        }
        if let generation { out.merge(try generation.run(model), uniquingKeysWith: { $1 }) }
        return out
    }
}

/// Greedy responses to a fixed list of prompts, scored by a reward: the dev metric of SFT and GRPO.
public struct GenerationCheck: Sendable {
    /// The prompts and what the reward checks against.
    public var examples: [PromptReference]
    /// The reward.
    public var reward: any Reward
    /// The tokenizer of the model.
    public var tokenizer: any Tokenizer
    /// The longest response generated.
    public var maxNewTokens: Int

    /// A check of `examples` by `reward`.
    public init(examples: [PromptReference], reward: any Reward, tokenizer: any Tokenizer, maxNewTokens: Int) {
        self.examples = examples
        self.reward = reward
        self.tokenizer = tokenizer
        self.maxNewTokens = maxNewTokens
    }

    /// Mean reward and components (`reward`, `accuracy`, `format`, `chrf`) of greedy responses; for a chrF
    /// reward also the corpus chrF (`corpus_chrf`).
    public func run(_ model: any DecoderOnlyModel) throws -> [String: Double] {
        let outputs = try withoutGrad {
            try ResponseGeneration.greedyTexts(model, tokenizer: tokenizer, prompts: examples.map(\.prompt), maxNewTokens: maxNewTokens)
        }
        var summary = try reward.summary(prompts: examples.map(\.prompt), outputs: outputs, references: examples.map(\.reference))
        if reward is ChrFReward {
            summary["corpus_chrf"] = try ChrF().corpusScore(hypotheses: outputs, references: examples.map(\.reference)).score
        }
        return summary
    }
}
