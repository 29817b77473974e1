import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaSentencePiece
import GlossaTensor

/// Set by the SIGINT handler; the training loop checks it between updates.
nonisolated(unsafe) var interruptRequested = false

/// `glossa train --recipe FILE`: trains a model as a recipe says and writes its directory.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model from a recipe (recipes/*.json).",
        discussion: """
            Trains the tokenizer first when its file does not exist. Ctrl-C saves a checkpoint and exits; \
            --resume continues from the last checkpoint with the same data order and random state.
            """)

    @Option(help: "The recipe file.")
    var recipe: String

    @Flag(help: "Continue from the last checkpoint in the output directory.")
    var resume = false

    @Option(help: "Override the recipe's budget in update steps.")
    var steps: Int?

    @Option(help: "Override the recipe's budget in minutes.")
    var minutes: Double?

    @Option(help: "Override the recipe's output directory.")
    var output: String?

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        try FlagBounds.check(steps, 1...Int(Int32.max), "--steps")
        try FlagBounds.check(finite: minutes, 0.001...1_000_000, "--minutes")
        if let output, output.isEmpty { throw ValidationError("--output must name a folder, not be empty") }
    }

    func run() throws {
        var recipe = try Recipe.load(URL(fileURLWithPath: self.recipe))
        if steps != nil || minutes != nil {
            recipe.training.steps = steps
            recipe.training.minutes = minutes
        }
        if let output { recipe.output = output }
        if threads.threads == nil, let n = recipe.training.threads {
            BLAS.setThreads(n)
        } else {
            threads.apply()
        }
        if case .encoder(let make)? = (try? Registry.current.plugin(named: recipe.plugin))?.factory {
            return try trainEmbedder(recipe, make: make)
        }
        if case .decoderOnly(let make)? = (try? Registry.current.plugin(named: recipe.plugin))?.factory {
            return try trainLanguageModel(recipe, make: make)
        }
        guard recipe.plugin == "marian" || (try? Registry.current.plugin(named: recipe.plugin)) != nil else {
            throw CommandError(description: "recipe names plugin \"\(recipe.plugin)\", which is not known; see `glossa plugins`")
        }
        let tokenizer = try prepareTokenizer(recipe)
        let special = tokenizer.specialTokens
        guard let eos = special.eos, let pad = special.pad else {
            throw CommandError(description: "the tokenizer \(recipe.tokenizer.model) needs </s> and <pad> pieces")
        }
        let configuration = recipe.model
            .setting("vocab_size", .number(Double(tokenizer.vocabularySize)))
            .setting("pad_token_id", .number(Double(pad)))
            .setting("eos_token_id", .number(Double(eos)))
            .setting("decoder_start_token_id", .number(Double(pad)))
        let plugin = try Registry.current.plugin(named: recipe.plugin)
        guard case .encoderDecoder(let make) = plugin.factory else {
            throw CommandError(description: "glossa train handles translators so far; \(plugin.name) is a \(plugin.factory.kind)")
        }
        let model = try make(PluginConfiguration(json: try configuration.data()))
        let translator = Translator(model: model, sourceTokenizer: tokenizer, targetTokenizer: tokenizer)
        log("model: \(plugin.name), \(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M parameters; vocabulary \(tokenizer.vocabularySize)")

        let started = Date()
        let train = try ParallelData.load(recipe.data.train, source: tokenizer, target: tokenizer)
        let dev = try recipe.data.dev.map { try ParallelData.load($0, source: tokenizer, target: tokenizer) }
        log(String(format: "data: %d training pairs, %d dev pairs, tokenised in %.1f s", train.count, dev?.count ?? 0, Date().timeIntervalSince(started)))

        let outputURL = URL(fileURLWithPath: recipe.output)
        try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)
        signal(SIGINT) { _ in interruptRequested = true }
        let trainer = TranslationTrainer(translator: translator, settings: recipe.training, train: train, dev: dev,
                                         directory: outputURL, log: log)
        let history = try trainer.run(resume: resume, shouldStop: { interruptRequested })
        if interruptRequested { return }
        try finish(recipe, translator: translator, trainer: trainer, history: history, output: outputURL)
    }

    /// Loads the recipe's SentencePiece model, training it on both sides of the training text first if missing.
    func prepareTokenizer(_ recipe: Recipe) throws -> SentencePieceTokenizer {
        let path = recipe.tokenizer.model
        if !FileManager.default.fileExists(atPath: path) {
            var options = SentencePieceTrainer.Options()
            guard let type = SentencePieceTrainer.ModelType(rawValue: recipe.tokenizer.modelType) else {
                throw CommandError(description: "tokenizer model_type must be unigram or bpe, not \(recipe.tokenizer.modelType)")
            }
            options.modelType = type
            options.vocabularySize = recipe.tokenizer.vocabSize
            options.characterCoverage = recipe.tokenizer.characterCoverage
            // Marian's conventions: </s> = 0, <unk> = 1, <pad> = the last id, no <s>.
            options.specialTokens = SpecialTokens(pad: recipe.tokenizer.vocabSize - 1, unk: 1, bos: nil, eos: 0)
            let destination = URL(fileURLWithPath: path)
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            let start = Date()
            let bytes = try SentencePieceTrainer.trainModel(inputs: [recipe.data.train.source, recipe.data.train.target], options: options)
            try AtomicFile.write(Data(bytes), to: destination)
            log(String(format: "tokenizer: trained %@ (%d pieces) in %.1f s", path, recipe.tokenizer.vocabSize, Date().timeIntervalSince(start)))
        }
        return try SentencePieceTokenizer(modelPath: path)
    }

    /// Writes the model directory in the Marian layout with its tokenizer files.
    func finish(_ recipe: Recipe, translator: Translator, trainer: TranslationTrainer, history: [TrainingRecord], output: URL) throws {
        let note = try trainer.chooseFinalWeights()
        try translator.save(to: output)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(TrainingLog(recipe: recipe, weights: note, history: history)),
                             to: output.appendingPathComponent("training.json"))
        log("wrote \(output.path) (\(note))")
    }

    func log(_ line: String) {
        StandardStreams.writeError((line + "\n"))
    }
}

/// What `training.json` beside a trained model records.
struct TrainingLog: Encodable {
    var recipe: Recipe
    var weights: String
    var history: [TrainingRecord]
}
