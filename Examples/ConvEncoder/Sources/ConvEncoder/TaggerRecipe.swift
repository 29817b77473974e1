import Foundation
import Glossa

/// A tagging recipe (`tagger-recipe.json`): the U-Net's settings, the raw corpus lines the task is made from,
/// and the training budget. Paths are relative to the working directory.
public struct TaggerRecipe: Codable, Sendable {
    /// The training run's settings.
    public struct Training: Codable, Sendable {
        /// Lines per batch.
        public var batchSize: Int = 32
        /// Training lines are cut to this many characters (evaluation reads whole lines).
        public var maxLength: Int = 160
        /// Peak learning rate of Adam.
        public var learningRate: Float = 2e-3
        /// Linear warmup steps, then a cosine decay to 10 % over the budget in steps (or 1/√step without one).
        public var warmupSteps: Int = 100
        /// Decoupled weight decay.
        public var weightDecay: Float = 0.01
        /// Global gradient-norm clip.
        public var clipNorm: Float = 1.0
        /// Budget in updates.
        public var steps: Int?
        /// Budget in wall-clock minutes (whichever budget ends first).
        public var minutes: Double?
        /// Seed of the batch order.
        public var seed: UInt64 = 1
        /// CPU threads.
        public var threads: Int?
        /// The alphabet is the most frequent characters of the training input, at most this many.
        public var alphabetSize: Int = 200
        /// Log every this many steps.
        public var logEvery: Int = 50
        /// Training lines used (the first ones of the file), all when absent.
        public var trainLines: Int?

        enum CodingKeys: String, CodingKey {
            case batchSize = "batch_size", maxLength = "max_length", learningRate = "learning_rate", warmupSteps = "warmup_steps"
            case weightDecay = "weight_decay", clipNorm = "clip_norm", steps, minutes, seed, threads, alphabetSize = "alphabet_size"
            case logEvery = "log_every", trainLines = "train_lines"
        }

        public init(from decoder: any Swift.Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 32
            maxLength = try c.decodeIfPresent(Int.self, forKey: .maxLength) ?? 160
            learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? 2e-3
            warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? 100
            weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? 0.01
            clipNorm = try c.decodeIfPresent(Float.self, forKey: .clipNorm) ?? 1
            steps = try c.decodeIfPresent(Int.self, forKey: .steps)
            minutes = try c.decodeIfPresent(Double.self, forKey: .minutes)
            seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 1
            threads = try c.decodeIfPresent(Int.self, forKey: .threads)
            alphabetSize = try c.decodeIfPresent(Int.self, forKey: .alphabetSize) ?? 200
            logEvery = try c.decodeIfPresent(Int.self, forKey: .logEvery) ?? 50
            trainLines = try c.decodeIfPresent(Int.self, forKey: .trainLines)
        }
    }

    /// Cased, punctuated text, one sentence a line; the task is made from it (`CharacterTagging.example`).
    public struct Corpus: Codable, Sendable {
        /// Training lines.
        public var train: String
        /// Lines scored after training.
        public var dev: String?
    }

    /// `conv-unet-tagger`.
    public var plugin: String
    /// The model's `UNetConfiguration` without its alphabet (which comes from the data).
    public var model: UNetConfiguration
    /// Where the text is.
    public var data: Corpus
    /// The budget and optimiser.
    public var training: Training
    /// The model directory to write.
    public var output: String

    /// Reads and checks a recipe file.
    public static func load(_ path: String) throws -> TaggerRecipe {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw GlossaError.invalidInput("conv-tagger: cannot read the recipe \(path)")
        }
        let recipe = try PluginConfiguration(json: bytes).decode(TaggerRecipe.self)
        guard recipe.plugin == "conv-unet-tagger" else {
            throw GlossaError.invalidConfiguration("conv-tagger trains the plugin conv-unet-tagger, but the recipe names \(recipe.plugin)")
        }
        guard recipe.training.batchSize >= 1, recipe.training.maxLength >= 1, recipe.training.steps != nil || recipe.training.minutes != nil else {
            throw GlossaError.invalidConfiguration("conv-tagger: the recipe needs a positive batch_size and max_length, and steps or minutes")
        }
        return recipe
    }
}
