import Foundation
import Glossa
import GlossaNN

/// Translator recipes made comparable: the first recipe's corpus, tokenizer, batches, seed and final-weight choice for
/// all, and one budget, validation points and thread count; each run trains into `OUTPUT/runs/NAME`.
public struct RecipeComparison {
    /// Validations per run, spread evenly over the budget.
    public static let validations = 8

    /// The runs, in the order of the recipe files.
    public let runs: [ComparisonRun]
    /// The budget every run is given (the flag's, or the first recipe's).
    public let budget: ComparisonBudget
    /// Threads per run, for training and for translating the test set.
    public let threads: Int

    /// Loads and aligns the recipes; `budget` nil takes the first recipe's. Throws a user-facing error for a recipe
    /// that cannot be compared (unreadable, not a translator, or, for the first, missing data or tokenizer).
    public init(recipeFiles: [String], budget: ComparisonBudget?, threads: Int, output: URL, plugins: PluginRegistry) throws {
        guard recipeFiles.count >= 2 else { throw GlossaError.invalidInput("give at least two recipes to compare (--recipe A.json --recipe B.json)") }
        var recipes: [Recipe] = []
        for file in recipeFiles {
            let recipe: Recipe
            do { recipe = try Recipe.load(URL(fileURLWithPath: file)) } catch {
                throw GlossaError.invalidInput("recipe \(file) cannot be used: \(error)")
            }
            let plugin: Plugin
            do { plugin = try plugins.plugin(named: recipe.plugin) } catch {
                throw GlossaError.invalidInput("recipe \(file): \(error)")
            }
            guard case .encoderDecoder = plugin.factory else {
                throw GlossaError.invalidInput("recipe \(file) trains a \(plugin.factory.kind) (\(plugin.name)); glossa compare compares translators")
            }
            recipes.append(recipe)
        }
        let first = recipes[0]
        try Self.checkFiles(first, file: recipeFiles[0])
        let chosen = try budget ?? Self.defaultBudget(first, file: recipeFiles[0])

        var names: [String] = []
        var runs: [ComparisonRun] = []
        for (index, var recipe) in recipes.enumerated() {
            var name = URL(fileURLWithPath: recipeFiles[index]).deletingPathExtension().lastPathComponent
            if names.contains(name) { name += "-\(index + 1)" }
            names.append(name)
            var overrides: [String] = []
            if index > 0 {
                func align<T: Encodable>(_ what: String, _ keyPath: WritableKeyPath<Recipe, T>) throws {
                    if try Self.encode(recipe[keyPath: keyPath]) != (try Self.encode(first[keyPath: keyPath])) {
                        overrides.append(what)
                        recipe[keyPath: keyPath] = first[keyPath: keyPath]
                    }
                }
                try align("data (corpus files)", \.data)
                try align("tokenizer", \.tokenizer)
                try align("max_tokens (batch size)", \.training.maxTokens)
                try align("max_length", \.training.maxLength)
                try align("seed", \.training.seed)
                try align("validation_lines", \.training.validationLines)
                try align("average_last", \.training.averageLast)
                try align("keep_best", \.training.keepBest)
            }
            let directory = output.appendingPathComponent("runs").appendingPathComponent(name)
            recipe.training.steps = nil
            recipe.training.minutes = nil
            recipe.training.targetTokens = nil
            recipe.training.validateEveryMinutes = nil
            recipe.training.validateEveryTokens = nil
            // Step-based validation would put the runs' points at different times; only the budget's intervals count.
            recipe.training.validateEvery = 1_000_000_000
            switch chosen {
            case .minutes(let m):
                recipe.training.minutes = m
                recipe.training.validateEveryMinutes = m / Double(Self.validations)
            case .tokens(let n):
                recipe.training.targetTokens = n
                recipe.training.validateEveryTokens = Swift.max(1, n / Self.validations)
            }
            recipe.training.threads = threads
            recipe.output = directory.path
            runs.append(ComparisonRun(name: name, recipeFile: recipeFiles[index], recipe: recipe, directory: directory, overrides: overrides))
        }
        self.runs = runs
        self.budget = chosen
        self.threads = threads
    }

    /// The run called `name`, for a process that evaluates one run only.
    public func run(named name: String) throws -> ComparisonRun {
        guard let run = runs.first(where: { $0.name == name }) else { throw GlossaError.invalidInput("no run is called \(name)") }
        return run
    }

    /// The first recipe's test files, keeping the first `limit` lines when given, with origins grouped
    /// (`bible:Gen.1.1` → `bible`) so the report's breakdown has a row per corpus rather than per line.
    public func testSet(limit: Int?) throws -> TestSet {
        guard let files = runs[0].recipe.data.test else { throw GlossaError.invalidInput("the first recipe has no test data") }
        return try TestSet.load(source: files.source, references: files.target, origins: files.origin, limit: limit).groupingOrigins()
    }

    /// The budget of the first recipe when no flag gives one.
    static func defaultBudget(_ recipe: Recipe, file: String) throws -> ComparisonBudget {
        if let m = recipe.training.minutes { return .minutes(m) }
        if let n = recipe.training.targetTokens { return .tokens(n) }
        throw GlossaError.invalidInput("give --budget-minutes or --budget-tokens (\(file) has neither \"minutes\" nor \"target_tokens\")")
    }

    /// A comparison needs dev text for its curves, test text for its scores, and a tokenizer both runs share.
    static func checkFiles(_ recipe: Recipe, file: String) throws {
        guard let dev = recipe.data.dev else { throw GlossaError.invalidInput("recipe \(file) has no dev data; glossa compare validates on it") }
        guard let test = recipe.data.test else { throw GlossaError.invalidInput("recipe \(file) has no test data; glossa compare scores on it") }
        for path in [recipe.data.train.source, recipe.data.train.target, dev.source, dev.target, test.source, test.target] + [test.origin].compactMap({ $0 })
        where !FileManager.default.fileExists(atPath: path) {
            throw GlossaError.invalidInput("recipe \(file) names \(path), which does not exist")
        }
        if !FileManager.default.fileExists(atPath: recipe.tokenizer.model) {
            // Each run training its own tokenizer would make them incomparable, so the comparison never trains one.
            throw GlossaError.invalidInput("""
                the tokenizer \(recipe.tokenizer.model) of \(file) does not exist; train it first \
                (glossa train --recipe \(file) trains it, or glossa tokenizer train) so that every run shares it
                """)
        }
    }

    /// Canonical JSON, so that two settings compare equal exactly when they encode the same.
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

/// What every run of a comparison is given: the same wall-clock training minutes or the same target tokens.
public enum ComparisonBudget: Equatable, Sendable, CustomStringConvertible {
    /// Minutes of training per run, validation time excluded.
    case minutes(Double)
    /// Target tokens seen per run.
    case tokens(Int)

    /// The budget in words, for logs and the report.
    public var description: String {
        switch self {
        case .minutes(let m): return String(format: "%g minutes of training each (validation time excluded)", m)
        case .tokens(let n): return "\(n) target tokens each"
        }
    }
}

/// One recipe of a comparison after it has been made fair, with the folder its run lives in.
public struct ComparisonRun {
    /// Short name (the recipe's file name), also the run's folder name.
    public var name: String
    /// The recipe file as given.
    public var recipeFile: String
    /// The recipe as trained: corpus, tokenizer, batching, seed, threads, budget and validation set by the comparison.
    public var recipe: Recipe
    /// `DIR/runs/<name>`: checkpoints, the trained model, logs and measurements.
    public var directory: URL
    /// The settings of the given recipe that the comparison replaced, in words.
    public var overrides: [String]

    /// The recipe as trained, which the child `glossa train --recipe` reads.
    public var recipeURL: URL { directory.appendingPathComponent("recipe.json") }
    /// The training process's standard output and error.
    public var logURL: URL { directory.appendingPathComponent("train.log") }
    /// What the parent measured of the training processes (`Measurements`).
    public var measurementsURL: URL { directory.appendingPathComponent("measurements.json") }
    /// The stored test evaluation (`ComparisonEvaluation`).
    public var evaluationURL: URL { directory.appendingPathComponent("evaluation.json") }
    /// Written by `glossa train` once the model directory is complete.
    public var trainingLogURL: URL { directory.appendingPathComponent("training.json") }

    /// Where a rerun picks up.
    public enum Progress: Sendable {
        /// Nothing trained yet.
        case fresh
        /// Interrupted: resumes from its last checkpoint.
        case resumable
        /// The model directory is complete; not trained again.
        case finished
    }

    /// Finished runs are not trained again; an interrupted one resumes from its last checkpoint.
    public func progress() throws -> Progress {
        let files = FileManager.default
        if files.fileExists(atPath: recipeURL.path) {
            let stored = try Data(contentsOf: recipeURL)
            // Byte equality of canonical JSON: a changed budget or thread count is a different run, not a resumption.
            guard stored == (try RecipeComparison.encode(recipe)) else {
                throw GlossaError.training("""
                    \(directory.path) holds a run of \(name) with other settings (recipe, budget or threads changed); \
                    choose another --output or remove that folder
                    """)
            }
        }
        if files.fileExists(atPath: trainingLogURL.path) { return .finished }
        if files.fileExists(atPath: directory.appendingPathComponent("checkpoints/latest.json").path) { return .resumable }
        return .fresh
    }

    /// Creates the run's folder and writes `recipe.json` unless it is there (an existing one was checked by `progress`).
    public func prepare() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: recipeURL.path) {
            try AtomicFile.write(try RecipeComparison.encode(recipe), to: recipeURL)
        }
    }
}
