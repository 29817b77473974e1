import Foundation
import GlossaNN

/// The weight type a model is written in.
public enum WeightType: String, Codable, Sendable, CaseIterable {
    /// 32-bit floats.
    case f32
    /// 16-bit floats (half the size; read back as 32-bit).
    case f16

    /// The safetensors type of the weights.
    public var safetensors: SafetensorsDType { self == .f16 ? .f16 : .f32 }
}

/// A training recipe (`recipes/*.json`): which plugin and configuration, which corpus and tokenizer,
/// how to train, and where to write the model. Paths are relative to the working directory.
public struct Recipe: Codable, Sendable {
    /// The plugin to train (`marian`).
    public var plugin: String
    /// The plugin's configuration; vocabulary size and special ids are filled in from the tokenizer.
    public var model: JSONValue
    /// The corpus files.
    public var data: DataFiles
    /// The tokenizer, trained on the training text when its file does not exist yet.
    public var tokenizer: TokenizerRecipe
    /// The optimisation settings.
    public var training: TrainingSettings
    /// The model directory to write.
    public var output: String
    /// What the model is trained to do (a decoder-only model's `nll`, `sft`, `dpo`, `grpo`); the plugin's kind decides
    /// when it is not given.
    public var objective: String?
    /// A model directory whose configuration and weights a decoder-only run starts from instead of fresh weights.
    public var base: String?
    /// The weight type of the written model (`f32` when not given).
    public var dtype: WeightType?
    /// The objectives' own blocks (`sft`, `dpo`, `grpo`, `contrastive`, `initialize_from`), by key; the objective that
    /// reads a block checks its keys, and a block no objective reads is an error (`RecipeRun`).
    public var blocks: [String: JSONValue] = [:]

    enum CodingKeys: String, CodingKey, CaseIterable { case plugin, model, data, tokenizer, training, output, objective, base, dtype }

    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        plugin = try c.decode(String.self, forKey: .plugin)
        model = try c.decode(JSONValue.self, forKey: .model)
        data = try c.decode(DataFiles.self, forKey: .data)
        tokenizer = try c.decode(TokenizerRecipe.self, forKey: .tokenizer)
        training = try c.decode(TrainingSettings.self, forKey: .training)
        output = try c.decode(String.self, forKey: .output)
        objective = try c.decodeIfPresent(String.self, forKey: .objective)
        base = try c.decodeIfPresent(String.self, forKey: .base)
        dtype = try c.decodeIfPresent(WeightType.self, forKey: .dtype)
        let all = try decoder.container(keyedBy: AnyCodingKey.self)
        let own = Set(CodingKeys.allCases.map(\.rawValue))
        for key in all.allKeys where !own.contains(key.stringValue) {
            blocks[key.stringValue] = try all.decode(JSONValue.self, forKey: key)
        }
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(plugin, forKey: .plugin)
        try c.encode(model, forKey: .model)
        try c.encode(data, forKey: .data)
        try c.encode(tokenizer, forKey: .tokenizer)
        try c.encode(training, forKey: .training)
        try c.encode(output, forKey: .output)
        try c.encodeIfPresent(objective, forKey: .objective)
        try c.encodeIfPresent(base, forKey: .base)
        try c.encodeIfPresent(dtype, forKey: .dtype)
        var extra = encoder.container(keyedBy: AnyCodingKey.self)
        for (key, value) in blocks { try extra.encode(value, forKey: AnyCodingKey(stringValue: key)) }
    }

    /// Reads and checks a recipe file.
    public static func load(_ url: URL) throws -> Recipe {
        let data = try InputFile.read(url.path, purpose: "the recipe", limit: InputFile.configurationLimit)
        return try decode(data, name: url.lastPathComponent)
    }

    /// Decodes and checks recipe JSON; errors start with `name`.
    public static func decode(_ data: Data, name: String) throws -> Recipe {
        do {
            let recipe = try JSONDecoder().decode(Recipe.self, from: data)
            try recipe.validate()
            return recipe
        } catch let error as DecodingError {
            throw GlossaError.invalidConfiguration("\(name): \(describe(error, json: data, as: Recipe.self))")
        }
    }

    /// Decodes the block `key` as `T` (whose decoder should reject unknown keys), or nil when the recipe has none.
    public func block<T: Decodable>(_ key: String, as type: T.Type) throws -> T? {
        guard let value = blocks[key] else { return nil }
        let json = try value.data()
        do {
            return try JSONDecoder().decode(T.self, from: json)
        } catch let error as DecodingError {
            throw GlossaError.invalidConfiguration("the \"\(key)\" block: \(describe(error, json: json, as: T.self))")
        }
    }

    /// Throws on a block that none of `allowed` names, naming the nearest known key.
    public func checkBlocks(allowed: [String]) throws {
        for key in blocks.keys.sorted() where !allowed.contains(key) {
            throw GlossaError.invalidConfiguration(unknownKeyMessage(key, known: CodingKeys.allCases.map(\.rawValue) + allowed))
        }
    }
}

extension Recipe {
    /// Rejects recipes that cannot train: the training settings, the tokenizer's sizes and the output.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw GlossaError.invalidConfiguration(message) } }
        try training.validate()
        try require((1...1_000_000).contains(tokenizer.vocabSize), "tokenizer vocab_size must be in 1...1000000, not \(tokenizer.vocabSize)")
        try require(tokenizer.characterCoverage.isFinite && (0.98...1).contains(tokenizer.characterCoverage),
                    "tokenizer character_coverage must be in 0.98...1, not \(tokenizer.characterCoverage)")
        try require(!output.isEmpty, "output must name a folder, not be empty")
    }
}

/// Parallel text files: one sentence per line, lines aligned; `origin` names each line's source.
public struct ParallelFiles: Codable, Sendable {
    /// Source-language file.
    public var source: String
    /// Target-language file.
    public var target: String
    /// Optional file naming each line's origin (for scores by origin).
    public var origin: String?

    /// Aligned files.
    public init(source: String, target: String, origin: String? = nil) {
        self.source = source
        self.target = target
        self.origin = origin
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case source, target, origin }

    public init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(String.self, forKey: .source)
        target = try c.decode(String.self, forKey: .target)
        origin = try c.decodeIfPresent(String.self, forKey: .origin)
    }
}

/// The training, development and test splits.
public struct DataFiles: Codable, Sendable {
    /// Training pairs.
    public var train: ParallelFiles
    /// Pairs for validation during training.
    public var dev: ParallelFiles?
    /// Pairs for the final evaluation.
    public var test: ParallelFiles?

    enum CodingKeys: String, CodingKey, CaseIterable { case train, dev, test }

    public init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        train = try c.decode(ParallelFiles.self, forKey: .train)
        dev = try c.decodeIfPresent(ParallelFiles.self, forKey: .dev)
        test = try c.decodeIfPresent(ParallelFiles.self, forKey: .test)
    }
}

/// The shared SentencePiece model of a recipe.
public struct TokenizerRecipe: Codable, Sendable {
    /// The `.model` file (trained on both sides of the training text if missing).
    public var model: String
    /// Vocabulary size when training.
    public var vocabSize: Int
    /// `unigram` or `bpe`.
    public var modelType: String
    /// Character coverage when training.
    public var characterCoverage: Double

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, vocabSize = "vocab_size", modelType = "model_type", characterCoverage = "character_coverage"
    }

    public init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        modelType = try c.decode(String.self, forKey: .modelType)
        characterCoverage = try c.decode(Double.self, forKey: .characterCoverage)
    }
}

/// How to train: batching, optimiser, schedule, regularisation, budget, validation and checkpoints.
public struct TrainingSettings: Codable, Sendable {
    /// Target tokens per batch (padding included), batches cut from length-sorted data.
    public var maxTokens: Int = 3000
    /// Pairs with a side longer than this many tokens are left out of training.
    public var maxLength: Int = 128
    /// Peak learning rate.
    public var learningRate: Float = 7e-4
    /// Warmup steps before inverse-square-root decay.
    public var warmupSteps: Int = 1000
    /// The decay after warmup: `inverse_sqrt` (default), `constant`, or `cosine` / `linear` (to `min_learning_rate`
    /// at the end of the budget — steps, minutes or target tokens, whichever ends first).
    public var schedule: LearningRateSchedule.Decay = .inverseSquareRoot
    /// Where the cosine schedule ends.
    public var minLearningRate: Float = 0
    /// Adam β₁, β₂, ε, and decoupled weight decay.
    public var beta1: Float = 0.9, beta2: Float = 0.98, epsilon: Float = 1e-9, weightDecay: Float = 0
    /// Label smoothing ε.
    public var labelSmoothing: Float = 0.1
    /// Global gradient-norm clip (0 disables).
    public var clipNorm: Float = 1
    /// Batches whose gradients are summed before each update.
    public var accumulate: Int = 1
    /// Stop after this many updates, if set.
    public var steps: Int?
    /// Stop after this many minutes of training (resumed runs count their earlier minutes), if set.
    public var minutes: Double?
    /// Stop once this many target tokens have been trained on, if set.
    public var targetTokens: Int?
    /// Validate every this many updates (and at the end).
    public var validateEvery: Int = 500
    /// Also validate whenever this many more minutes of training have passed, if set.
    public var validateEveryMinutes: Double?
    /// Also validate whenever this many more target tokens have been trained on, if set.
    public var validateEveryTokens: Int?
    /// Dev lines decoded greedily for chrF at each validation (0 disables chrF).
    public var validationLines: Int = 400
    /// Write a checkpoint every this many updates.
    public var checkpointEvery: Int = 250
    /// Average the weights of this many last checkpoints into the final model (1 = no averaging).
    public var averageLast: Int = 1
    /// Keep the checkpoint with the best dev chrF and ship it if it beats the final one.
    public var keepBest: Bool = true
    /// Seed of data order, initialisation and dropout.
    public var seed: UInt64 = 1
    /// Threads for BLAS and kernels.
    public var threads: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maxTokens = "max_tokens", maxLength = "max_length", learningRate = "learning_rate", warmupSteps = "warmup_steps"
        case schedule, minLearningRate = "min_learning_rate"
        case beta1, beta2, epsilon, weightDecay = "weight_decay", labelSmoothing = "label_smoothing", clipNorm = "clip_norm"
        case accumulate, steps, minutes, targetTokens = "target_tokens", validateEvery = "validate_every", validationLines = "validation_lines"
        case validateEveryMinutes = "validate_every_minutes", validateEveryTokens = "validate_every_tokens"
        case checkpointEvery = "checkpoint_every", averageLast = "average_last", keepBest = "keep_best", seed, threads
    }

    /// Defaults of the reference recipe.
    public init() {}

    public init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingSettings()
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens) ?? d.maxTokens
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength) ?? d.maxLength
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? d.warmupSteps
        if let name = try c.decodeIfPresent(String.self, forKey: .schedule) {
            guard let decay = LearningRateSchedule.Decay(rawValue: name) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .schedule, in: c,
                    debugDescription: "schedule must be one of \(LearningRateSchedule.Decay.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(name)\"")
            }
            schedule = decay
        }
        minLearningRate = try c.decodeIfPresent(Float.self, forKey: .minLearningRate) ?? d.minLearningRate
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? d.beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? d.beta2
        epsilon = try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? d.epsilon
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        labelSmoothing = try c.decodeIfPresent(Float.self, forKey: .labelSmoothing) ?? d.labelSmoothing
        clipNorm = try c.decodeIfPresent(Float.self, forKey: .clipNorm) ?? d.clipNorm
        accumulate = try c.decodeIfPresent(Int.self, forKey: .accumulate) ?? d.accumulate
        steps = try c.decodeIfPresent(Int.self, forKey: .steps)
        minutes = try c.decodeIfPresent(Double.self, forKey: .minutes)
        targetTokens = try c.decodeIfPresent(Int.self, forKey: .targetTokens)
        validateEvery = try c.decodeIfPresent(Int.self, forKey: .validateEvery) ?? d.validateEvery
        validateEveryMinutes = try c.decodeIfPresent(Double.self, forKey: .validateEveryMinutes)
        validateEveryTokens = try c.decodeIfPresent(Int.self, forKey: .validateEveryTokens)
        validationLines = try c.decodeIfPresent(Int.self, forKey: .validationLines) ?? d.validationLines
        checkpointEvery = try c.decodeIfPresent(Int.self, forKey: .checkpointEvery) ?? d.checkpointEvery
        averageLast = try c.decodeIfPresent(Int.self, forKey: .averageLast) ?? d.averageLast
        keepBest = try c.decodeIfPresent(Bool.self, forKey: .keepBest) ?? d.keepBest
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        threads = try c.decodeIfPresent(Int.self, forKey: .threads)
    }

    /// Whether a run that has taken `step` updates in `seconds` and trained on `tokens` target tokens is still inside
    /// every budget the settings give.
    public func hasBudget(step: Int, seconds: Double, tokens: Int) -> Bool {
        if let steps, step >= steps { return false }
        if let minutes, seconds >= minutes * 60 { return false }
        if let targetTokens, tokens >= targetTokens { return false }
        return true
    }

    /// Adam with the settings' β₁, β₂, ε and weight decay.
    public func optimizer() -> Adam {
        Adam(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    }

    /// The settings' schedule: warmup to `learning_rate`, then `schedule` (to `min_learning_rate`).
    public var learningRateSchedule: LearningRateSchedule {
        LearningRateSchedule(decay: schedule, peak: learningRate, warmup: warmupSteps, minimum: minLearningRate)
    }

    /// Rejects settings that cannot train.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw GlossaError.invalidConfiguration(message) } }
        try require((1...100_000_000).contains(maxTokens), "max_tokens must be in 1...100000000, not \(maxTokens)")
        try require((1...100_000).contains(maxLength), "max_length must be in 1...100000, not \(maxLength)")
        try require(learningRate > 0 && learningRate.isFinite, "learning_rate must be a positive finite number, not \(learningRate)")
        try require(minLearningRate >= 0 && minLearningRate.isFinite, "min_learning_rate must be a finite number ≥ 0, not \(minLearningRate)")
        try require(warmupSteps >= 0 && warmupSteps <= Int(Int32.max), "warmup_steps must be in 0...\(Int32.max), not \(warmupSteps)")
        try require((0..<1).contains(beta1) && (0..<1).contains(beta2), "beta1 and beta2 must be in [0, 1), not \(beta1) and \(beta2)")
        try require(epsilon > 0 && epsilon.isFinite, "epsilon must be a positive finite number, not \(epsilon)")
        try require(weightDecay >= 0 && weightDecay.isFinite, "weight_decay must be a finite number ≥ 0, not \(weightDecay)")
        try require(clipNorm >= 0 && clipNorm.isFinite, "clip_norm must be a finite number ≥ 0 (0 disables it), not \(clipNorm)")
        try require((1...100_000).contains(accumulate), "accumulate must be in 1...100000, not \(accumulate)")
        try require(steps.map { (1...Int(Int32.max)).contains($0) } ?? true, "steps must be in 1...\(Int32.max)")
        try require(minutes.map { $0 > 0 && $0.isFinite } ?? true, "minutes must be a positive finite number")
        try require(targetTokens.map { $0 >= 1 } ?? true, "target_tokens must be positive")
        try require(validateEveryMinutes.map(\.isFinite) ?? true, "validate_every_minutes must be finite")
        try require(validationLines >= 0 && validationLines <= 1_000_000, "validation_lines must be in 0...1000000, not \(validationLines)")
        try require(averageLast <= 1000, "average_last must be at most 1000, not \(averageLast)")
        try require(threads.map { (1...1024).contains($0) } ?? true, "threads must be in 1...1024")
        try require(steps != nil || minutes != nil || targetTokens != nil, "give a budget: \"steps\", \"minutes\" or \"target_tokens\"")
        try require((validateEveryMinutes ?? 1) > 0 && (validateEveryTokens ?? 1) > 0,
                    "validate_every_minutes and validate_every_tokens must be positive")
        try require(labelSmoothing >= 0 && labelSmoothing < 1, "label_smoothing must be in [0, 1)")
        try require(validateEvery > 0 && checkpointEvery > 0, "validate_every and checkpoint_every must be positive")
        try require(averageLast >= 1, "average_last must be at least 1")
    }
}
