import Foundation
import Glossa
import GlossaBuiltins

/// What every run of a comparison is given: the same wall-clock training minutes or the same target tokens.
enum CompareBudget: Equatable {
    case minutes(Double)
    case tokens(Int)

    /// The budget in words, for logs and the report.
    var description: String {
        switch self {
        case .minutes(let m): return String(format: "%g minutes of training each (validation time excluded)", m)
        case .tokens(let n): return "\(n) target tokens each"
        }
    }
}

/// One recipe of a comparison after it has been made fair, with the folder its run lives in.
struct CompareRun {
    /// Short name (the recipe's file name), also the run's folder name.
    var name: String
    /// The recipe file as given.
    var recipeFile: String
    /// The recipe as trained: corpus, tokenizer, batching, seed, threads, budget and validation set by the comparison.
    var recipe: Recipe
    /// `DIR/runs/<name>`: checkpoints, the trained model, logs and measurements.
    var directory: URL
    /// The settings of the given recipe that the comparison replaced, in words.
    var overrides: [String]

    var recipeURL: URL { directory.appendingPathComponent("recipe.json") }
    var logURL: URL { directory.appendingPathComponent("train.log") }
    var measurementsURL: URL { directory.appendingPathComponent("measurements.json") }
    var evaluationURL: URL { directory.appendingPathComponent("evaluation.json") }
    /// Written by `glossa train` once the model directory is complete.
    var trainingLogURL: URL { directory.appendingPathComponent("training.json") }

    /// Where a rerun picks up.
    enum Progress { case fresh, resumable, finished }

    /// Finished runs are not trained again; an interrupted one resumes from its last checkpoint.
    func progress() throws -> Progress {
        let files = FileManager.default
        if files.fileExists(atPath: recipeURL.path) {
            let stored = try Data(contentsOf: recipeURL)
            guard stored == (try ComparePlan.encode(recipe)) else {
                throw CommandError(description: """
                    \(directory.path) holds a run of \(name) with other settings (recipe, budget or threads changed); \
                    choose another --output or remove that folder
                    """)
            }
        }
        if files.fileExists(atPath: trainingLogURL.path) { return .finished }
        if files.fileExists(atPath: directory.appendingPathComponent("checkpoints/latest.json").path) { return .resumable }
        return .fresh
    }
}

/// Turns the given recipes into fair runs: the first recipe's corpus, tokenizer, batches, seed and final-weight
/// choice for all, and the comparison's budget, validation points and threads.
enum ComparePlan {
    /// Validations per run, spread evenly over the budget.
    static let validations = 8

    /// The runs, in the order of the recipe files; throws a user-facing error for a recipe that cannot be compared.
    static func make(recipeFiles: [String], budget: CompareBudget?, threads: Int, output: URL, plugins: PluginRegistry) throws -> (runs: [CompareRun], budget: CompareBudget) {
        guard recipeFiles.count >= 2 else { throw CommandError(description: "give at least two recipes to compare (--recipe A.json --recipe B.json)") }
        var recipes: [Recipe] = []
        for file in recipeFiles {
            let recipe: Recipe
            do { recipe = try Recipe.load(URL(fileURLWithPath: file)) } catch {
                throw CommandError(description: "recipe \(file) cannot be used: \(error)")
            }
            let plugin: Plugin
            do { plugin = try plugins.plugin(named: recipe.plugin) } catch {
                throw CommandError(description: "recipe \(file): \(error)")
            }
            guard case .encoderDecoder = plugin.factory else {
                throw CommandError(description: "recipe \(file) trains a \(plugin.factory.kind) (\(plugin.name)); glossa compare compares translators")
            }
            recipes.append(recipe)
        }
        let first = recipes[0]
        try checkFiles(first, file: recipeFiles[0])
        let chosen = try budget ?? defaultBudget(first, file: recipeFiles[0])

        var names: [String] = []
        var runs: [CompareRun] = []
        for (index, var recipe) in recipes.enumerated() {
            var name = URL(fileURLWithPath: recipeFiles[index]).deletingPathExtension().lastPathComponent
            if names.contains(name) { name += "-\(index + 1)" }
            names.append(name)
            var overrides: [String] = []
            if index > 0 {
                func align<T: Encodable>(_ what: String, _ keyPath: WritableKeyPath<Recipe, T>) throws {
                    if try encode(recipe[keyPath: keyPath]) != (try encode(first[keyPath: keyPath])) {
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
                recipe.training.validateEveryMinutes = m / Double(validations)
            case .tokens(let n):
                recipe.training.targetTokens = n
                recipe.training.validateEveryTokens = Swift.max(1, n / validations)
            }
            recipe.training.threads = threads
            recipe.output = directory.path
            runs.append(CompareRun(name: name, recipeFile: recipeFiles[index], recipe: recipe, directory: directory, overrides: overrides))
        }
        return (runs, chosen)
    }

    /// The budget of the first recipe when no flag gives one.
    static func defaultBudget(_ recipe: Recipe, file: String) throws -> CompareBudget {
        if let m = recipe.training.minutes { return .minutes(m) }
        if let n = recipe.training.targetTokens { return .tokens(n) }
        throw CommandError(description: "give --budget-minutes or --budget-tokens (\(file) has neither \"minutes\" nor \"target_tokens\")")
    }

    /// A comparison needs dev text for its curves, test text for its scores, and a tokenizer both runs share.
    static func checkFiles(_ recipe: Recipe, file: String) throws {
        guard let dev = recipe.data.dev else { throw CommandError(description: "recipe \(file) has no dev data; glossa compare validates on it") }
        guard let test = recipe.data.test else { throw CommandError(description: "recipe \(file) has no test data; glossa compare scores on it") }
        for path in [recipe.data.train.source, recipe.data.train.target, dev.source, dev.target, test.source, test.target] + [test.origin].compactMap({ $0 })
        where !FileManager.default.fileExists(atPath: path) {
            throw CommandError(description: "recipe \(file) names \(path), which does not exist")
        }
        if !FileManager.default.fileExists(atPath: recipe.tokenizer.model) {
            throw CommandError(description: """
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
