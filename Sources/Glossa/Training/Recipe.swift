import Foundation
import GlossaNN

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
    /// What a decoder-only model is trained to do (`nll`; others are added by their objectives).
    public var objective: String?
    /// A model directory whose configuration and weights a decoder-only run starts from instead of fresh weights.
    public var base: String?
    /// The weight type of the written model: `f32` (default) or `f16`.
    public var dtype: String?

    /// Reads and checks a recipe file.
    public static func load(_ url: URL) throws -> Recipe {
        let data = try InputFile.read(url.path, purpose: "the recipe", limit: InputFile.configurationLimit)
        do {
            let recipe = try JSONDecoder().decode(Recipe.self, from: data)
            try recipe.validate()
            return recipe
        } catch let error as DecodingError {
            throw GlossaError.invalidConfiguration("\(url.lastPathComponent): \(describe(error, json: data, as: Recipe.self))")
        }
    }
}

extension Recipe {
    /// The weight types a recipe may ask for.
    public static let dtypes = ["f32", "f16"]

    /// Rejects recipes that cannot train: the training settings, the tokenizer's sizes, the dtype and the output.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw GlossaError.invalidConfiguration(message) } }
        try training.validate()
        try require((1...1_000_000).contains(tokenizer.vocabSize), "tokenizer vocab_size must be in 1...1000000, not \(tokenizer.vocabSize)")
        try require(tokenizer.characterCoverage.isFinite && (0.98...1).contains(tokenizer.characterCoverage),
                    "tokenizer character_coverage must be in 0.98...1, not \(tokenizer.characterCoverage)")
        try require(dtype.map(Self.dtypes.contains) ?? true, "dtype must be one of \(Self.dtypes.joined(separator: ", ")), not \"\(dtype ?? "")\"")
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
}

/// The training, development and test splits.
public struct DataFiles: Codable, Sendable {
    /// Training pairs.
    public var train: ParallelFiles
    /// Pairs for validation during training.
    public var dev: ParallelFiles?
    /// Pairs for the final evaluation.
    public var test: ParallelFiles?
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

    enum CodingKeys: String, CodingKey {
        case model, vocabSize = "vocab_size", modelType = "model_type", characterCoverage = "character_coverage"
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
    /// The decay after warmup: `inverse_sqrt` (default) or `cosine` (to `min_learning_rate` at the end of the
    /// budget, in steps or minutes, whichever ends first; decoder-only training).
    public var schedule: String = "inverse_sqrt"
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

    enum CodingKeys: String, CodingKey {
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
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = TrainingSettings()
        maxTokens = try c.decodeIfPresent(Int.self, forKey: .maxTokens) ?? d.maxTokens
        maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength) ?? d.maxLength
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? d.warmupSteps
        schedule = try c.decodeIfPresent(String.self, forKey: .schedule) ?? d.schedule
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

    /// Whether a run that has taken `step` updates in `seconds` (and seen `tokens` target tokens, when the caller
    /// counts them) is still inside every budget the settings give.
    public func hasBudget(step: Int, seconds: Double, tokens: Int? = nil) -> Bool {
        if let steps, step >= steps { return false }
        if let minutes, seconds >= minutes * 60 { return false }
        if let targetTokens, let tokens, tokens >= targetTokens { return false }
        return true
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
        try require(schedule == "inverse_sqrt" || schedule == "cosine", "schedule must be inverse_sqrt or cosine, not \(schedule)")
    }
}
