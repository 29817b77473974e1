import Foundation
import Glossa
import GlossaNN
import GlossaSentencePiece
import GlossaTensor

/// What a recipe run tells its caller: notes (data sizes, the tokenizer trained, the file written) and the
/// trainer's events.
public enum RecipeEvent: Sendable {
    /// A line for the log.
    case note(String)
    /// Progress of the training loop.
    case training(TrainingEvent)
}

/// What a recipe run leaves.
public struct RecipeResult: Sendable {
    /// Whether the budget was spent or the run was stopped (then no model directory was written yet).
    public var outcome: TrainingOutcome
    /// The model directory.
    public var output: URL
    /// Which weights were shipped ("average of the last 4 checkpoints").
    public var weights: String
    /// The training history.
    public var history: [TrainingRecord]
    /// Dev metrics of the written model.
    public var finalDev: [String: Double]
}

/// `glossa train --recipe` as an SDK call: trains the tokenizer when missing, builds the model the recipe's plugin
/// makes (looked up in `registry`, no plugin named in code), picks the objective by the plugin's kind (and the
/// recipe's `objective`), trains it on the one `Trainer`, and writes the model directory in its layout.
public final class RecipeRun {
    /// The recipe.
    public let recipe: Recipe
    /// The plugins the recipe may name.
    public let registry: PluginRegistry
    /// Continue the run in the output folder from its last checkpoint.
    public var resume: Bool
    /// Clear an output folder that holds another run first.
    public var overwrite: Bool
    /// The processes training together (`nil`: `Communicators.world()`); rank 0 alone writes the output folder.
    public var communicator: (any Communicator)?

    /// A run of `recipe` with the plugins of `registry`.
    public init(recipe: Recipe, registry: PluginRegistry, resume: Bool = false, overwrite: Bool = false) {
        self.recipe = recipe
        self.registry = registry
        self.resume = resume
        self.overwrite = overwrite
    }

    /// The objectives a plugin of `kind` can be trained with, and the recipe blocks each reads.
    static func objectives(for factory: PluginFactory) -> [String: [String]] {
        switch factory {
        case .encoderDecoder: return ["translation": []]
        case .encoder:
            return ["contrastive": ["contrastive", "initialize_from"], "classification": ["classification", "initialize_from"],
                    "masked-lm": ["masked_lm", "initialize_from"], "reward": ["reward", "initialize_from"]]
        case .decoderOnly: return decoderObjectives.mapValues { $0.block.map { [$0] } ?? [] }.merging(["reward": ["reward", "initialize_from"]]) { a, _ in a }
        default: return [:]
        }
    }

    /// The objective of a recipe that names none: what the plugin's kind is first trained with.
    static func defaultObjective(for factory: PluginFactory) -> String {
        switch factory {
        case .encoderDecoder: return "translation"
        case .encoder: return "contrastive"
        default: return "nll"
        }
    }

    /// Trains as the recipe says; stops early, with a checkpoint to resume from, when `stop` is raised.
    public func run(stop: StopSignal? = nil, events: @escaping (RecipeEvent) -> Void = { _ in }) throws -> RecipeResult {
        try recipe.validate()
        let plugin = try registry.plugin(named: recipe.plugin)
        let known = Self.objectives(for: plugin.factory)
        guard !known.isEmpty else {
            throw GlossaError.wrongPluginKind(plugin.name, expected: "translator, encoder or language model", found: plugin.factory.kind)
        }
        let objectiveName = recipe.objective ?? Self.defaultObjective(for: plugin.factory)
        guard let blocks = known[objectiveName] else {
            throw GlossaError.invalidConfiguration("objective \"\(objectiveName)\" cannot train the \(plugin.factory.kind) plugin \(plugin.name); "
                                                   + "known: \(known.keys.sorted().joined(separator: ", "))")
        }
        try recipe.checkBlocks(allowed: blocks)
        let log = { (line: String) in events(.note(line)) }
        let folder = RunFolder(url: URL(fileURLWithPath: recipe.output), recipe: recipe)
        // Rank 0 prepares the folder and trains a missing tokenizer while any other ranks wait; then they load it.
        let communicator = try resolvedCommunicator()
        let tokenizer = try communicator.rootFirst {
            if communicator.isRoot { try folder.prepare(resume: resume, overwrite: overwrite, log: log) }
            return try recipe.tokenizer.prepare(training: recipe.data, log: log)
        }
        if objectiveName == "reward" {
            return try trainRewardModel(factory: plugin.factory, tokenizer: tokenizer, folder: folder, stop: stop, events: events)
        }
        switch plugin.factory {
        case .encoderDecoder(let make):
            return try trainTranslator(make: make, tokenizer: tokenizer, folder: folder, stop: stop, events: events)
        case .encoder(let make) where objectiveName == "classification":
            return try trainClassifier(make: make, tokenizer: tokenizer, folder: folder, stop: stop, events: events)
        case .encoder(let make) where objectiveName == "masked-lm":
            return try trainMaskedLanguageModel(make: make, tokenizer: tokenizer, folder: folder, stop: stop, events: events)
        case .encoder(let make):
            return try trainEmbedder(make: make, tokenizer: tokenizer, folder: folder, stop: stop, events: events)
        case .decoderOnly(let make):
            return try trainLanguageModel(objective: objectiveName, make: make, tokenizer: tokenizer, folder: folder, stop: stop, events: events)
        default:
            throw GlossaError.wrongPluginKind(plugin.name, expected: "translator, encoder or language model", found: plugin.factory.kind)
        }
    }

    func resolvedCommunicator() throws -> any Communicator { try communicator ?? Communicators.world() }

    /// Runs `objective` on the one trainer, then (rank 0) chooses the final weights.
    func runTrainer<Objective: TrainingObjective>(_ model: Objective.Model, _ objective: Objective, folder: URL, stop: StopSignal?,
                                                  events: @escaping (RecipeEvent) -> Void) throws -> (TrainingResult, String) {
        let communicator = try resolvedCommunicator()
        let trainer = Trainer(model: model, objective: objective, settings: recipe.training, directory: folder, communicator: communicator)
        let result = try trainer.run(resume: resume, stop: stop) { events(.training($0)) }
        guard result.outcome == .finished, communicator.isRoot else { return (result, "") }
        return (result, try trainer.chooseFinalWeights())
    }

    /// Whether this process writes the model directory: the run finished, and this is rank 0.
    func writesModel(_ result: TrainingResult) throws -> Bool {
        guard result.outcome == .finished else { return false }
        return try resolvedCommunicator().isRoot
    }

    func describe(_ model: any Module, _ what: String, vocabulary: Int) -> String {
        "model: \(what), \(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M parameters; vocabulary \(vocabulary)"
    }

    func trainTranslator(make: (PluginConfiguration) throws -> any EncoderDecoderModel, tokenizer: SentencePieceTokenizer, folder: RunFolder,
                         stop: StopSignal?, events: @escaping (RecipeEvent) -> Void) throws -> RecipeResult {
        let configuration = try recipe.model.filled(from: tokenizer, decoderStart: true)
        let model = try make(PluginConfiguration(json: try configuration.data()))
        let translator = Translator(model: model, sourceTokenizer: tokenizer, targetTokenizer: tokenizer)
        events(.note(describe(model, recipe.plugin, vocabulary: tokenizer.vocabularySize)))
        let started = Date()
        let train = try ParallelData.load(recipe.data.train, source: tokenizer, target: tokenizer)
        let dev = try recipe.data.dev.map { try ParallelData.load($0, source: tokenizer, target: tokenizer) }
        events(.note(String(format: "data: %d training pairs, %d dev pairs, tokenised in %.1f s", train.count, dev?.count ?? 0,
                            Date().timeIntervalSince(started))))
        let objective = TranslationObjective(translator: translator, train: train, dev: dev, settings: recipe.training)
        let (result, weights) = try runTrainer(translator, objective, folder: folder.url, stop: stop, events: events)
        guard try writesModel(result) else { return withoutModel(result, folder) }
        let final = try withoutGrad { try objective.validate(model: translator) }
        try translator.save(to: folder.url)
        return try finish(result, weights: weights, finalDev: final, objective: objective.name, folder: folder, events: events)
    }

    func trainEmbedder(make: (PluginConfiguration) throws -> any EncoderModel, tokenizer: SentencePieceTokenizer, folder: RunFolder,
                       stop: StopSignal?, events: @escaping (RecipeEvent) -> Void) throws -> RecipeResult {
        let block = try recipe.block("contrastive", as: ContrastiveBlock.self) ?? ContrastiveBlock()
        let initial = try recipe.block("initialize_from", as: InitializeFrom.self)
        let configuration = try recipe.model.filled(from: tokenizer, eos: false)
        let model = try make(PluginConfiguration(json: try configuration.data()))
        // A resumed run's weights come from its checkpoint.
        if let initial, !resume { try initial.apply(to: model) { events(.note($0)) } }
        let pooler = (model as? any PoolingEncoderModel)?.sentencePooler ?? MeanPooler()
        let embedder = Embedder(model: model, tokenizer: tokenizer, pooler: pooler, normalize: true, maxLength: recipe.training.maxLength)
        events(.note(describe(model, "\(recipe.plugin) embedder", vocabulary: tokenizer.vocabularySize)))
        let sources = try InputFile.lines(recipe.data.train.source), targets = try InputFile.lines(recipe.data.train.target)
        guard sources.count == targets.count else {
            throw GlossaError.invalidInput("\(recipe.data.train.source) has \(sources.count) lines but \(recipe.data.train.target) has \(targets.count)")
        }
        let pairs = zip(sources, targets).filter { !$0.0.isEmpty && !$0.1.isEmpty }
        var dev: [(String, String)] = []
        if let files = recipe.data.dev { dev = Array(zip(try InputFile.lines(files.source), try InputFile.lines(files.target))) }
        if block.evaluationPairs > 0 { dev = Array(dev.prefix(block.evaluationPairs)) }
        let objective = try ContrastiveObjective(embedder: embedder, pairs: pairs, dev: dev, batchSize: block.batchSize, scale: block.scale,
                                                 maxTokens: recipe.training.maxTokens)
        let (result, weights) = try runTrainer(embedder, objective, folder: folder.url, stop: stop, events: events)
        guard try writesModel(result) else { return withoutModel(result, folder) }
        let final = try withoutGrad { try objective.validate(model: embedder) }
        let before = result.history.first { $0.step == 0 }?.dev ?? [:]
        for (when, metrics) in [("before training", before), ("after \(result.step) steps", final)] {
            events(.note(String(format: "dev P@1 %@: en→de %.4f, de→en %.4f (%d pairs)", when, metrics["p_at_1_forward"] ?? 0,
                                metrics["p_at_1_backward"] ?? 0, dev.count)))
        }
        let report = EmbedderReport(
            steps: result.step, seconds: result.seconds, pairs: pairs.count, devPairs: dev.count, batchSize: block.batchSize,
            before: before, after: final, parameters: model.parameterCount,
            start: initial?.description ?? "random initialisation",
            pooling: (model as? any PoolingEncoderModel)?.sentencePooler == nil ? "mean pooling" : "the plugin's own pooler")
        try embedder.save(to: folder.url, dtype: .f16)
        try AtomicFile.write(Data(report.card(recipe: recipe).utf8), to: folder.url.appendingPathComponent("README.md"))
        return try finish(result, weights: weights, finalDev: final, objective: objective.name, folder: folder, events: events,
                          extra: ["embedder": report.json(recipe: recipe)])
    }

    func trainLanguageModel(objective name: String, make: (PluginConfiguration) throws -> any DecoderOnlyModel, tokenizer: SentencePieceTokenizer,
                            folder: RunFolder, stop: StopSignal?, events: @escaping (RecipeEvent) -> Void) throws -> RecipeResult {
        let model: any DecoderOnlyModel
        if let base = recipe.base {
            model = try LanguageModel.load(URL(fileURLWithPath: base), registry: registry).model
            events(.note("model: \(recipe.plugin) from \(base), \(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M parameters"))
        } else {
            let configuration = try recipe.model.filled(from: tokenizer, bos: true)
            model = try make(PluginConfiguration(json: try configuration.data()))
            events(.note(describe(model, recipe.plugin, vocabulary: tokenizer.vocabularySize)))
        }
        guard let entry = decoderObjectives[name] else { throw GlossaError.invalidConfiguration("unknown objective \"\(name)\"") }
        let objective = try entry.make(ObjectiveInputs(recipe: recipe, model: model, tokenizer: tokenizer, registry: registry) { events(.note($0)) })
        let (result, weights) = try trainDecoder(model, objective, folder: folder.url, stop: stop, events: events)
        guard try writesModel(result) else { return withoutModel(result, folder) }
        let final = try withoutGrad { try objective.validate(model: model) }
        try LanguageModel(model: model, tokenizer: tokenizer).save(to: folder.url, dtype: (recipe.dtype ?? .f32).safetensors)
        for (name, data) in try (objective as? ReportingObjective)?.reportFiles(history: result.history) ?? [:] {
            try AtomicFile.write(data, to: folder.url.appendingPathComponent(name))
        }
        return try finish(result, weights: weights, finalDev: final, objective: objective.name, folder: folder, events: events)
    }

    /// Opens the existential so the trainer is specialised to the objective's concrete type.
    func trainDecoder(_ model: any DecoderOnlyModel, _ objective: any DecoderObjective, folder: URL, stop: StopSignal?,
                      events: @escaping (RecipeEvent) -> Void) throws -> (TrainingResult, String) {
        func open<O: DecoderObjective>(_ objective: O) throws -> (TrainingResult, String) {
            let (result, weights) = try runTrainer(model, objective, folder: folder, stop: stop, events: events)
            return (result, weights)
        }
        return try open(objective)
    }

    /// The result of a run that writes no model: interrupted, or a rank other than 0.
    func withoutModel(_ result: TrainingResult, _ folder: RunFolder) -> RecipeResult {
        RecipeResult(outcome: result.outcome, output: folder.url, weights: "", history: result.history, finalDev: [:])
    }

    /// Writes `training.json` and says what was written.
    func finish(_ result: TrainingResult, weights: String, finalDev: [String: Double], objective: String, folder: RunFolder,
                events: (RecipeEvent) -> Void, extra: [String: Any] = [:]) throws -> RecipeResult {
        let log = TrainingLog(recipe: recipe, objective: objective, weights: weights, finalDev: finalDev, minutes: result.seconds / 60,
                              sessions: result.sessions, history: result.history)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data = try encoder.encode(log)
        if !extra.isEmpty, var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] {
            object.merge(extra) { a, _ in a }
            data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        }
        try AtomicFile.write(data, to: folder.url.appendingPathComponent("training.json"))
        events(.note("wrote \(folder.url.path) (\(weights))" + finalDev.sorted { $0.key < $1.key }.map { String(format: "  dev %@ %.4g", $0.key, $0.value) }.joined()))
        return RecipeResult(outcome: .finished, output: folder.url, weights: weights, history: result.history, finalDev: finalDev)
    }
}

/// What `training.json` beside a trained model records.
public struct TrainingLog: Codable, Sendable {
    /// The recipe as run.
    public var recipe: Recipe
    /// The objective's name.
    public var objective: String
    /// Which weights were shipped.
    public var weights: String
    /// Dev metrics of the shipped weights.
    public var finalDev: [String: Double]
    /// Minutes of training (validation excluded).
    public var minutes: Double
    /// When each session (the first and every resume) began.
    public var sessions: [TrainingSession]
    /// Every record.
    public var history: [TrainingRecord]

    enum CodingKeys: String, CodingKey {
        case recipe, objective, weights, finalDev = "final_dev", minutes = "training_minutes", sessions, history
    }
}
