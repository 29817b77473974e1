import Foundation
import Glossa
import GlossaNN
import GlossaSentencePiece
import GlossaTensor

/// The `reward` block of a recipe with `"objective": "reward"`: the rankings files (`glossa align rank`) and the head's settings.
struct RewardBlock: Decodable {
    /// Rankings files to train on (one path or a list).
    var train: [String]
    /// Held-out rankings files for pairwise accuracy.
    var dev: [String]
    /// Without `dev`: the fraction of the training rankings held out instead (a seeded draw).
    var devFraction: Double?
    /// Train on the first N usable rankings only (skipped and single-response records do not count).
    var limit: Int?
    /// An encoder's pooling modes (`mean`, `cls`, …); by default its own classification pooler, else mean pooling.
    var pooling: [PoolingMode]?
    /// Rankings per batch, at most (batches also hold at most `max_tokens` padded tokens).
    var batchSize = 16

    enum CodingKeys: String, CodingKey, CaseIterable {
        case train, dev, devFraction = "dev_fraction", limit, pooling, batchSize = "batch_size"
    }

    init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func paths(_ key: CodingKeys) throws -> [String] {
            if let one = try? c.decodeIfPresent(String.self, forKey: key) { return [one] }
            return try c.decodeIfPresent([String].self, forKey: key) ?? []
        }
        train = try paths(.train)
        dev = try paths(.dev)
        guard !train.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .train, in: c, debugDescription: "train must name at least one rankings file")
        }
        devFraction = try c.decodeIfPresent(Double.self, forKey: .devFraction)
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 16
        func mode(_ name: String) throws -> PoolingMode {
            guard let mode = PoolingMode(name: name) else {
                throw DecodingError.dataCorruptedError(forKey: .pooling, in: c, debugDescription:
                    "unknown pooling \"\(name)\" (known: \(PoolingMode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return mode
        }
        if let names = try? c.decodeIfPresent(String.self, forKey: .pooling) {
            pooling = try [mode(names)]
        } else if let names = try c.decodeIfPresent([String].self, forKey: .pooling) {
            pooling = try names.map(mode)
        }
        if let devFraction, !(devFraction >= 0 && devFraction < 1) {
            throw DecodingError.dataCorruptedError(forKey: .devFraction, in: c, debugDescription: "dev_fraction must be in [0, 1), not \(devFraction)")
        }
        if devFraction != nil && !dev.isEmpty {
            throw DecodingError.dataCorruptedError(forKey: .devFraction, in: c, debugDescription: "give dev or dev_fraction, not both")
        }
        if let limit, !(1...1_000_000_000).contains(limit) {
            throw DecodingError.dataCorruptedError(forKey: .limit, in: c, debugDescription: "limit must be in 1...1000000000, not \(limit)")
        }
        guard (1...100_000).contains(batchSize) else {
            throw DecodingError.dataCorruptedError(forKey: .batchSize, in: c, debugDescription: "batch_size must be in 1...100000, not \(batchSize)")
        }
    }

    /// The usable training and held-out records (the held-out ones drawn with `seed` under `dev_fraction`).
    func records(seed: UInt64) throws -> (train: [RankingRecord], dev: [RankingRecord]) {
        func usable(_ files: [String]) throws -> [RankingRecord] {
            try files.flatMap { try RankingRecord.read($0) }.filter { $0.skipped != true && !$0.comparisons.isEmpty }
        }
        var train = try usable(self.train), dev = try usable(self.dev)
        if let devFraction, devFraction > 0 {
            var generator = SeededGenerator(seed: seed &+ 0xDE7)
            let order = train.indices.shuffled(using: &generator)
            let held = Set(order.prefix(Int((Double(train.count) * devFraction).rounded())))
            dev = train.indices.filter { held.contains($0) }.map { train[$0] }
            train = train.indices.filter { !held.contains($0) }.map { train[$0] }
        }
        if let limit { train = Array(train.prefix(limit)) }
        return (train, dev)
    }
}

extension RecipeRun {
    /// `"objective": "reward"`: a scalar head on the recipe's encoder (pooled) or decoder-only model (last token; from `base`
    /// when given), trained with the Bradley–Terry loss on rankings, saved as a reward-model directory.
    func trainRewardModel(factory: PluginFactory, tokenizer: SentencePieceTokenizer, folder: RunFolder, stop: StopSignal?,
                          events: @escaping (RecipeEvent) -> Void) throws -> RecipeResult {
        guard let block = try recipe.block("reward", as: RewardBlock.self) else {
            throw GlossaError.invalidConfiguration("objective reward needs a \"reward\" block with \"train\" (rankings files from glossa align rank)")
        }
        let backbone: RewardNetwork.Backbone
        var start: String
        switch factory {
        case .decoderOnly(let make):
            if let base = recipe.base {
                backbone = .decoder(try LanguageModel.load(URL(fileURLWithPath: base), registry: registry).model)
                start = base
            } else {
                backbone = .decoder(try make(PluginConfiguration(json: try recipe.model.filled(from: tokenizer, bos: true).data())))
                start = "random initialisation"
            }
            if block.pooling != nil { throw GlossaError.invalidConfiguration("reward: pooling is for encoders; a decoder's head reads the last token") }
        case .encoder(let make):
            let model = try make(PluginConfiguration(json: try recipe.model.filled(from: tokenizer, eos: false).data()))
            let (pooler, modes) = SequenceClassificationModel.pooler(for: model, modes: block.pooling)
            backbone = .encoder(model, pooler: pooler, modes: modes)
            start = "random initialisation"
        default:
            throw GlossaError.invalidConfiguration("objective reward needs an encoder or decoder-only plugin")
        }
        let network = try RewardNetwork(backbone: backbone, seed: recipe.training.seed)
        // initialize_from copies into the whole network, head included, so a reward model's own model.safetensors
        // continues training (with "tensors": "all"); a resumed run's weights come from its checkpoint.
        let initial = try recipe.block("initialize_from", as: InitializeFrom.self)
        if let initial, !resume { try initial.apply(to: network) { events(.note($0)) } }
        if let initial { start = (recipe.base.map { "\($0), then " } ?? "") + initial.description }
        let model = RewardModel(network: network, tokenizer: tokenizer, maxLength: recipe.training.maxLength)
        let (trainRecords, devRecords) = try block.records(seed: recipe.training.seed)
        let train = try TokenizedRanking.tokenize(trainRecords, with: model), dev = try TokenizedRanking.tokenize(devRecords, with: model)
        let pairs = train.reduce(0) { $0 + $1.comparisons.count }, ties = train.reduce(0) { $0 + $1.comparisons.filter(\.tie).count }
        events(.note(describe(network, "\(recipe.plugin) reward model from \(start)", vocabulary: tokenizer.vocabularySize)))
        events(.note("data: \(train.count) training rankings (\(pairs) pairs, \(ties) of them ties), \(dev.count) held-out rankings"))
        let objective = try RewardModelObjective(train: train, dev: dev, batchSize: block.batchSize, maxTokens: recipe.training.maxTokens)
        let (result, weights) = try runTrainer(model, objective, folder: folder.url, stop: stop, events: events)
        guard try writesModel(result) else { return withoutModel(result, folder) }
        let final = try withoutGrad { try objective.validate(model: model) }
        try model.save(to: folder.url, dtype: (recipe.dtype ?? .f32).safetensors)
        for (name, data) in try objective.reportFiles(history: result.history) {
            try AtomicFile.write(data, to: folder.url.appendingPathComponent(name))
        }
        return try finish(result, weights: weights, finalDev: final, objective: objective.name, folder: folder, events: events,
                          extra: ["rankings": ["train": train.count, "dev": dev.count, "pairs": pairs, "ties": ties]])
    }
}
