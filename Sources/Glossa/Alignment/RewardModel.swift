import Foundation
import GlossaNN
import GlossaTensor

/// The network of a reward model: a sequence model that reads prompt + response to one vector (an encoder's states
/// pooled, or a decoder's final state at the response's last token, its EOS) and a linear head to one scalar,
/// `score.weight` `[1, C]`. The head has no bias: the Bradley–Terry loss sees only differences of rewards, so a bias
/// would get no gradient. The backbone's tensors keep their own names, so the backbone's checkpoint loads as it is.
public final class RewardNetwork: SavableModel {
    /// What reads the text.
    public enum Backbone {
        /// An encoder, pooled; `modes` are recorded in `config.json` (`nil`: the encoder's own classification pooler).
        case encoder(any EncoderModel, pooler: any Pooler, modes: [PoolingMode]?)
        /// A decoder-only model read at the last position.
        case decoder(any DecoderOnlyModel)
    }

    /// The backbone.
    public let backbone: Backbone
    /// Pooled or last-token vector → the reward.
    public let head: Linear

    /// A network from a backbone and a head of shape `[1, C]`.
    public init(backbone: Backbone, head: Linear) throws {
        guard head.weight.shape.first == 1 else { throw GlossaError.invalidInput("a reward head has one output, not \(head.weight.shape.first ?? 0)") }
        self.backbone = backbone
        self.head = head
        if case .decoder(let model) = backbone, !(model.decoder is any HiddenStateDecoder) {
            throw GlossaError.invalidConfiguration("the \(model.pluginName) plugin's decoder gives no hidden states, so a reward head cannot read it")
        }
    }

    /// A fresh head (seeded) on `backbone`.
    public convenience init(backbone: Backbone, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let width: Int
        switch backbone {
        case .encoder(let model, let pooler, _): width = SequenceClassificationModel.pooledWidth(model, pooler)
        case .decoder(let model): width = (model.decoder as? any HiddenStateDecoder)?.hiddenSize ?? 1
        }
        try self.init(backbone: backbone, head: Linear(width, 1, bias: false, generator: &generator))
    }

    /// The backbone as a savable model.
    public var base: any SavableModel {
        switch backbone {
        case .encoder(let model, _, _): return model
        case .decoder(let model): return model
        }
    }

    public var children: [(name: String, module: any Module)] { base.children + [("score", head)] }
    /// The backbone's plugin: `RewardModel.load` rebuilds the backbone with it and adds the head.
    public var pluginName: String { base.pluginName }

    /// The backbone's `config.json` with `glossa_reward`: what the head reads (`pooled` and the pooling modes, or `last_token`).
    public func configurationJSON() throws -> Data {
        guard var object = try JSONSerialization.jsonObject(with: try base.configurationJSON()) as? [String: Any] else {
            throw GlossaError.invalidConfiguration("the \(pluginName) plugin's config.json is not a JSON object")
        }
        switch backbone {
        case .encoder(_, _, let modes):
            object["glossa_reward"] = ["reads": "pooled"].merging(modes.map { ["pooling": $0.map(\.rawValue).joined(separator: ",")] } ?? [:]) { $1 }
        case .decoder:
            object["glossa_reward"] = ["reads": "last_token"]
        }
        object["num_labels"] = 1
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// The head from `score.*`, the backbone from the rest.
    public func loadCheckpoint(_ tensors: [String: Tensor]) throws {
        var rest: [String: Tensor] = [:], score: [String: Tensor] = [:]
        for (name, tensor) in tensors {
            if name.hasPrefix("score.") { score[String(name.dropFirst("score.".count))] = tensor } else { rest[name] = tensor }
        }
        guard score["weight"]?.shape == head.weight.shape else {
            throw GlossaError.invalidConfiguration("the checkpoint has no score.weight of shape \(head.weight.shape): it is not a reward model")
        }
        try head.load(score, strict: true)
        try base.loadCheckpoint(rest)
    }

    public func checkpointTensors() -> [String: Tensor] {
        var tensors = base.checkpointTensors()
        for (name, tensor) in head.stateDictionary() { tensors["score." + name] = tensor }
        return tensors
    }

    public func didUpdateParameters() { base.didUpdateParameters() }
    public func extraFiles() throws -> [String: Data] { [:] }
    public func prepareInference(_ computeType: ComputeType) throws { try base.prepareInference(computeType) }

    /// `[B]` rewards of framed, right-padded token rows (`lengths[i]` real tokens in row i).
    public func rewards(_ rows: [[Int]], padId: Int, context: ForwardContext) throws -> Tensor {
        let batch = TokenBatch(rows, padId: padId)
        let vectors: Tensor
        switch backbone {
        case .encoder(let model, let pooler, _):
            vectors = pooler.pool(try model.encoder.encode(batch, context: context), batch: batch)  // [B, C]
        case .decoder(let model):
            guard let decoder = model.decoder as? any HiddenStateDecoder else { throw GlossaError.invalidInput("no hidden states") }
            let states = try decoder.hiddenStates(batch, context: context)  // [B, T, C]
            let (b, t, c) = (states.shape[0], states.shape[1], states.shape[2])
            vectors = states.reshaped([b * t, c]).indexSelect(axis: 0, rows.indices.map { $0 * t + Swift.max(rows[$0].count, 1) - 1 })
        }
        return head(vectors).reshaped([rows.count])
    }
}

/// A trained reward model: its network and tokenizer. It reads a prompt and a response and gives one number, higher for
/// what the people who ranked (`glossa align rank`) preferred.
public final class RewardModel {
    /// The network.
    public let network: RewardNetwork
    /// Text ↔ ids.
    public let tokenizer: any Tokenizer
    /// The longest row read (start or boundary tokens included); longer texts lose the end of their response.
    public let maxLength: Int

    /// A reward model from its parts; `maxLength` is capped at the backbone's position limit.
    public init(network: RewardNetwork, tokenizer: any Tokenizer, maxLength: Int = 512) {
        self.network = network
        self.tokenizer = tokenizer
        let limit: Int?
        switch network.backbone {
        case .encoder(let model, _, _): limit = model.encoder.maxLength
        case .decoder(let model): limit = model.decoder.maxLength
        }
        self.maxLength = Swift.max(3, Swift.min(maxLength, limit ?? maxLength))
    }

    /// The padding id of the rows.
    public var padId: Int {
        if case .decoder(let model) = network.backbone { return model.specialIds.pad }
        return tokenizer.specialTokens.pad ?? 0
    }

    /// The row the network reads for a tokenised prompt and response: for a decoder start + prompt + response + EOS (the
    /// head reads the EOS position, which has seen everything); for an encoder its boundary tokens around prompt + response.
    public func frame(prompt: [Int], response: [Int]) -> [Int] {
        let head: [Int], tail: [Int]
        switch network.backbone {
        case .decoder(let model):
            (head, tail) = ([model.specialIds.decoderStart], [model.specialIds.eos])
        case .encoder:
            let specials = tokenizer.specialTokens
            (head, tail) = (specials.bos.map { [$0] } ?? [], specials.eos.map { [$0] } ?? [])
        }
        return head + (prompt + response).prefix(Swift.max(0, maxLength - head.count - tail.count)) + tail
    }

    /// The rows of texts.
    public func rows(prompts: [String], responses: [String]) throws -> [[Int]] {
        guard prompts.count == responses.count else { throw GlossaError.invalidInput("\(prompts.count) prompts but \(responses.count) responses") }
        let p = try tokenizer.encodeBatch(prompts), r = try tokenizer.encodeBatch(responses)
        return p.indices.map { frame(prompt: p[$0], response: r[$0]) }
    }

    /// `[B]` rewards of framed rows, recorded for backward when gradients are on.
    public func rewards(rows: [[Int]], context: ForwardContext) throws -> Tensor {
        try network.rewards(rows, padId: padId, context: context)
    }

    /// The reward of each response to its prompt, in order, batched by length without gradients.
    public func score(prompts: [String], responses: [String], batchSize: Int = 64) throws -> [Double] {
        try score(rows: try rows(prompts: prompts, responses: responses), batchSize: batchSize)
    }

    /// The reward of each framed row.
    public func score(rows: [[Int]], batchSize: Int = 64) throws -> [Double] {
        var out = [Double](repeating: 0, count: rows.count)
        let context = ForwardContext()
        for batch in Embedder.plan(lengths: rows.map(\.count), batchSize: batchSize) {
            let values = try withoutGrad { try rewards(rows: batch.map { rows[$0] }, context: context) }.scalars
            for (i, row) in batch.enumerated() { out[row] = Double(values[i]) }
        }
        return out
    }
}

extension RewardModel {
    /// Writes the reward model as a directory of its own: `config.json` (the backbone's, with `glossa_reward` and
    /// `num_labels: 1`), `model.safetensors` (the backbone's tensors under their own names and `score.weight`) and the tokenizer.
    public func save(to directory: URL, dtype: SafetensorsDType = .f32) throws {
        let tokenizerData = try tokenizerFiles(tokenizer, named: "tokenizer.model", readable: ["tokenizer.model", "vocab.txt"], layout: "reward model")
        try ModelDirectory.save(network, to: directory, dtype: dtype)
        try ModelDirectory.write(tokenizerData, to: directory, removing: ["vocab.txt", "tokenizer.model", "generation_config.json"])
    }

    /// Loads a reward model directory written by `save`.
    public static func load(_ directory: URL, registry: PluginRegistry) throws -> RewardModel {
        let modelDirectory = ModelDirectory(directory)
        let configuration = try modelDirectory.configuration()
        guard let object = try? JSONSerialization.jsonObject(with: configuration) as? [String: Any],
              let header = object["glossa_reward"] as? [String: Any], let reads = header["reads"] as? String else {
            throw GlossaError.invalidConfiguration("\(directory.path)/config.json has no glossa_reward: this directory is not a reward model "
                                                   + "(train one with \"objective\": \"reward\")")
        }
        let plugin = try modelDirectory.plugin(in: registry)
        let backbone: RewardNetwork.Backbone
        switch (plugin.factory, reads) {
        case (.decoderOnly(let make), "last_token"):
            backbone = .decoder(try make(try modelDirectory.pluginConfiguration()))
        case (.encoder(let make), "pooled"):
            let model = try make(try modelDirectory.pluginConfiguration())
            var modes: [PoolingMode]?
            if let names = header["pooling"] as? String {
                modes = try names.split(separator: ",").map { name in
                    guard let mode = PoolingMode(name: String(name)) else {
                        throw GlossaError.invalidConfiguration("config.json: unknown pooling mode \"\(name)\" in glossa_reward")
                    }
                    return mode
                }
            }
            let (pooler, recorded) = SequenceClassificationModel.pooler(for: model, modes: modes)
            backbone = .encoder(model, pooler: pooler, modes: recorded)
        default:
            throw GlossaError.invalidConfiguration("config.json: glossa_reward reads \"\(reads)\", which the \(plugin.factory.kind) plugin \(plugin.name) cannot give")
        }
        let network = try RewardNetwork(backbone: backbone, seed: 0)
        try network.loadCheckpoint(try modelDirectory.weights())
        let tokenizer = try Embedder.loadTokenizer(directory, registry: registry)
        switch backbone {
        case .decoder(let model): try checkTokenizer(tokenizer, fits: model.decoder.vocabularySize, role: "reward model")
        case .encoder(let model, _, _): try checkTokenizer(tokenizer, fits: model.encoder.vocabularySize, role: "reward model")
        }
        return RewardModel(network: network, tokenizer: tokenizer)
    }
}

/// A learned reward for GRPO: the reward model's score of each output for its prompt, or with several reward models
/// (an ensemble), the mean of their standardised scores. A `monitor` reward (the true metric, when there is one) is
/// computed beside it and reported as components (`true_reward` and its parts), never optimised.
///
/// Unchecked `Sendable`: the models' tensors, and the scales fixed on the first batch, are only read and written by the
/// one training loop that owns the objective.
public final class LearnedReward: Reward, @unchecked Sendable {
    /// The reward models, at least one.
    public let models: [RewardModel]
    /// The reward reported beside the learned one, if any.
    public let monitor: (any Reward)?
    /// Each model's mean and standard deviation over the first batch it scored (an ensemble only).
    private var scales: [(mean: Double, deviation: Double)]?

    /// A learned reward from one `model`, with an optional `monitor`.
    public convenience init(model: RewardModel, monitor: (any Reward)? = nil) {
        self.init(nonEmpty: [model], monitor: monitor)
    }

    /// A learned reward from `models` (the mean of their standardised scores when there are several), with an optional `monitor`.
    public convenience init(models: [RewardModel], monitor: (any Reward)? = nil) throws {
        guard !models.isEmpty else { throw GlossaError.invalidConfiguration("a learned reward needs at least one reward model") }
        self.init(nonEmpty: models, monitor: monitor)
    }

    private init(nonEmpty models: [RewardModel], monitor: (any Reward)?) {
        self.models = models
        self.monitor = monitor
        for model in models { model.network.setTrainable(false) }
    }

    /// "learned".
    public var name: String { "learned" }

    public func scores(prompts: [String], outputs: [String], references: [String]) throws -> [RewardScore] {
        let each = try models.map { try $0.score(prompts: prompts, responses: outputs) }
        let values = combined(each)
        let watched = try monitor?.scores(prompts: prompts, outputs: outputs, references: references)
        return values.indices.map { i in
            var components = ["learned_reward": values[i]]
            if let w = watched?[i] {
                components["true_reward"] = w.value
                components.merge(w.components) { a, _ in a }
            }
            return RewardScore(value: values[i], components: components)
        }
    }

    /// One model's scores as they are; several models' as the mean of each one's standardised score. Reward models
    /// trained apart have their own offsets and scales (Bradley–Terry fixes only differences), so without it the model
    /// with the widest spread would decide alone. The mean and deviation are each model's over the first batch, the
    /// reference policy's samples, and then kept: standardising every batch by itself would make the logged reward's
    /// mean 0 at every update and hide the over-optimisation curve.
    private func combined(_ each: [[Double]]) -> [Double] {
        guard each.count > 1, let count = each.first?.count, count > 0 else { return each.first ?? [] }
        if scales == nil {
            scales = each.map { values in
                let mean = values.reduce(0, +) / Double(values.count)
                let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
                // A model that gave the whole first batch one score has no scale to learn; its differences count as they are.
                return (mean, variance > 1e-12 ? variance.squareRoot() : 1)
            }
        }
        let scales = self.scales ?? []
        return (0..<count).map { i in
            each.indices.reduce(0) { $0 + (each[$1][i] - scales[$1].mean) / scales[$1].deviation } / Double(each.count)
        }
    }
}
