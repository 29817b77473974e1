import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor

/// The optional `initialize_from` block of an embedder recipe: tensors copied from another checkpoint
/// before training (the translator's shared embeddings give the encoder English and German words that
/// already mean something), by destination name → source name.
struct InitializeFrom: Decodable {
    /// A `model.safetensors` file.
    var file: String
    /// Destination parameter name → tensor name in `file`.
    var tensors: [String: String]
}

/// The optional `contrastive` block of an embedder recipe.
struct ContrastiveSettings: Decodable {
    /// Pairs per batch (each pair's partner is its positive, the other pairs' partners its negatives).
    var batchSize: Int = 64
    /// The similarity scale of the loss.
    var scale: Float = 20
    /// Dev pairs used for P@1 (0 = all).
    var evaluationPairs: Int = 0

    enum CodingKeys: String, CodingKey { case batchSize = "batch_size", scale, evaluationPairs = "evaluation_pairs" }

    init() {}

    init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? 64
        scale = try c.decodeIfPresent(Float.self, forKey: .scale) ?? 20
        evaluationPairs = try c.decodeIfPresent(Int.self, forKey: .evaluationPairs) ?? 0
        guard (2...100_000).contains(batchSize) else {
            throw DecodingError.dataCorruptedError(forKey: .batchSize, in: c, debugDescription: "batch_size must be in 2...100000, not \(batchSize)")
        }
        guard scale > 0 && scale.isFinite else {
            throw DecodingError.dataCorruptedError(forKey: .scale, in: c, debugDescription: "scale must be a positive finite number, not \(scale)")
        }
        guard evaluationPairs >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .evaluationPairs, in: c, debugDescription: "evaluation_pairs must not be negative")
        }
    }
}

extension TrainCommand {
    /// Trains an encoder plugin (BERT) as a sentence embedder on the recipe's translation pairs with the
    /// in-batch-negatives loss, reports cross-lingual P@1 on the dev pairs before and after, and writes a
    /// sentence-transformers-style directory (mean pooling, Normalize) with a model card.
    func trainEmbedder(_ recipe: Recipe, make: (PluginConfiguration) throws -> any EncoderModel) throws {
        struct Extra: Decodable {
            var contrastive: ContrastiveSettings?
            var initializeFrom: InitializeFrom?
            enum CodingKeys: String, CodingKey { case contrastive, initializeFrom = "initialize_from" }
        }
        let extras: Extra
        do {
            extras = try JSONDecoder().decode(Extra.self, from: InputFile.read(self.recipe, purpose: "the recipe", limit: InputFile.configurationLimit))
        } catch {
            throw CommandError(description: "\(self.recipe): the contrastive or initialize_from block is malformed: \(error)")
        }
        let extra = extras.contrastive ?? ContrastiveSettings()
        guard extra.batchSize >= 2 else { throw CommandError(description: "contrastive.batch_size must be at least 2") }
        let settings = recipe.training
        let tokenizer = try prepareTokenizer(recipe)
        guard let pad = tokenizer.specialTokens.pad else { throw CommandError(description: "the tokenizer \(recipe.tokenizer.model) needs a <pad> piece") }
        let configuration = recipe.model
            .setting("vocab_size", .number(Double(tokenizer.vocabularySize)))
            .setting("pad_token_id", .number(Double(pad)))
        let model = try make(PluginConfiguration(json: try configuration.data()))
        if let initial = extras.initializeFrom, !resume { try initialize(model, from: initial) }
        let pooler = (model as? any PoolingEncoderModel)?.sentencePooler ?? MeanPooler()
        let embedder = Embedder(model: model, tokenizer: tokenizer, pooler: pooler, normalize: true, maxLength: settings.maxLength)
        log("model: \(recipe.plugin) embedder, \(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M parameters; vocabulary \(tokenizer.vocabularySize)")

        func lines(_ path: String) throws -> [String] {
            guard let text = String(validating: try InputFile.read(path, purpose: "the text file", limit: InputFile.textLimit), as: UTF8.self) else {
                throw CommandError(description: "\(path) is not UTF-8 text")
            }
            var result = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if result.last == "" { result.removeLast() }
            return result
        }
        let source = try lines(recipe.data.train.source), target = try lines(recipe.data.train.target)
        guard source.count == target.count else { throw CommandError(description: "the training files have \(source.count) and \(target.count) lines") }
        let pairs = zip(source, target).filter { !$0.0.isEmpty && !$0.1.isEmpty }
        var dev: [(String, String)] = []
        if let files = recipe.data.dev { dev = Array(zip(try lines(files.source), try lines(files.target))) }
        if extra.evaluationPairs > 0 { dev = Array(dev.prefix(extra.evaluationPairs)) }
        func precision() throws -> (Double, Double) {
            guard !dev.isEmpty else { return (0, 0) }
            let en = try embedder.embed(dev.map(\.0)), de = try embedder.embed(dev.map(\.1))
            return (retrievalPrecisionAtOne(queries: en, candidates: de), retrievalPrecisionAtOne(queries: de, candidates: en))
        }
        // The starting point's score is kept beside the checkpoints, so a resumed run still reports it.
        let beforeFile = URL(fileURLWithPath: recipe.output).appendingPathComponent("checkpoints/p_at_1_before.json")
        let before: (Double, Double)
        if resume, let data = try? Data(contentsOf: beforeFile), let saved = try? JSONDecoder().decode([Double].self, from: data), saved.count == 2 {
            before = (saved[0], saved[1])
        } else {
            before = try withoutGrad { try precision() }
            try FileManager.default.createDirectory(at: beforeFile.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(try JSONEncoder().encode([before.0, before.1]), to: beforeFile)
        }
        log(String(format: "dev P@1 before training: en→de %.4f, de→en %.4f (%d pairs)", before.0, before.1, dev.count))

        let trainer = ContrastiveTrainer(embedder: embedder, schedule: .inverseSquareRoot(peak: settings.learningRate, warmup: settings.warmupSteps),
                                         weightDecay: settings.weightDecay, scale: extra.scale, clipNorm: settings.clipNorm, seed: settings.seed)
        let output = URL(fileURLWithPath: recipe.output)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        signal(SIGINT) { _ in interruptRequested = true }
        let run = ContrastiveRunSettings(batchSize: extra.batchSize, steps: settings.steps, minutes: settings.minutes,
                                         checkpointEvery: settings.checkpointEvery, seed: settings.seed)
        let history = try trainer.run(pairs: pairs, settings: run, directory: output, resume: resume,
                                      shouldStop: { interruptRequested }, log: log)
        if interruptRequested { return }
        let seconds = (history.last?.minutes ?? 0) * 60
        let after = try withoutGrad { try precision() }
        log(String(format: "dev P@1 after %d steps (%.0f s): en→de %.4f, de→en %.4f", trainer.step, seconds, after.0, after.1))
        try writeEmbedder(recipe, embedder: embedder, report: EmbedderReport(
            steps: trainer.step, seconds: seconds, pairs: pairs.count, devPairs: dev.count, batchSize: extra.batchSize,
            before: before, after: after, parameters: model.parameterCount,
            start: extras.initializeFrom.map { i in
                "random initialisation, with " + i.tensors.sorted { $0.key < $1.key }.map { "`\($0.key)` copied from `\(i.file)` (`\($0.value)`)" }.joined(separator: ", ")
            } ?? "random initialisation",
            pooling: (model as? any PoolingEncoderModel)?.sentencePooler == nil ? "mean pooling" : "the plugin's own pooler"))
    }

    /// Copies the tensors `initial` names into `model`, checking that each exists with the same shape.
    func initialize(_ model: any EncoderModel, from initial: InitializeFrom) throws {
        let source = try Safetensors.read(contentsOf: URL(fileURLWithPath: initial.file)).tensors()
        let parameters = Dictionary(model.namedParameters().map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        var copies: [String: Tensor] = [:]
        for (destination, name) in initial.tensors.sorted(by: { $0.key < $1.key }) {
            guard let from = source[name] else { throw CommandError(description: "\(initial.file) has no tensor \(name)") }
            guard let to = parameters[destination] else { throw CommandError(description: "the model has no parameter \(destination)") }
            guard from.shape == to.shape else {
                throw CommandError(description: "\(initial.file): \(name) has shape \(from.shape) but \(destination) has \(to.shape)")
            }
            copies[destination] = from
            log("initialising \(destination) from \(initial.file):\(name)")
        }
        try model.load(copies, strict: false)
    }

    /// Writes the embedder in the sentence-transformers layout, with the run's report and a model card beside it.
    func writeEmbedder(_ recipe: Recipe, embedder: Embedder, report: EmbedderReport) throws {
        let output = URL(fileURLWithPath: recipe.output)
        try embedder.save(to: output, dtype: .f16)
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: report.json(recipe: recipe), options: [.prettyPrinted, .sortedKeys]),
                             to: output.appendingPathComponent("training.json"))
        try AtomicFile.write(Data(report.card(recipe: recipe).utf8), to: output.appendingPathComponent("README.md"))
        log("wrote \(output.path)")
    }
}

/// What an embedder training run measured, for `training.json` and the model card.
struct EmbedderReport {
    var steps: Int, seconds: Double, pairs: Int, devPairs: Int, batchSize: Int
    var before: (Double, Double), after: (Double, Double)
    var parameters: Int
    /// Where the weights started: "random initialisation", or the tensors copied from another model.
    var start: String
    /// How token states become one vector: mean pooling, or the plugin's own pooler.
    var pooling: String

    func json(recipe: Recipe) -> [String: Any] {
        ["steps": steps, "seconds": Int(seconds), "training_pairs": pairs, "dev_pairs": devPairs, "batch_size": batchSize,
         "p_at_1_before": ["en_de": before.0, "de_en": before.1], "p_at_1_after": ["en_de": after.0, "de_en": after.1],
         "parameters": parameters, "recipe": recipe.output, "start": start]
    }

    func card(recipe: Recipe) -> String {
        """
        # Sentence embedder (`\(recipe.plugin)`)

        A \(String(format: "%.1f", Double(parameters) / 1e6)) M-parameter \(recipe.plugin == "bert" ? "BERT " : "")encoder (Glossa plugin `\(recipe.plugin)`) with the \
        shared SentencePiece tokenizer, \(pooling) and L2 normalisation, trained by Glossa (starting from \(start)) with an \
        in-batch-negatives contrastive loss on the translation pairs of `\(recipe.data.train.source)` / \
        `\(recipe.data.train.target)`, so a sentence and its translation land close together.

        Use: `glossa embed --model <this directory>`, `glossa similar --model <this directory> --corpus FILE`.

        ## Cross-lingual retrieval (dev, \(devPairs) pairs)

        P@1 of finding a sentence's translation among all dev sentences, by cosine similarity:

        | | en→de | de→en |
        |---|---|---|
        | before training (\(start)) | \(String(format: "%.4f", before.0)) | \(String(format: "%.4f", before.1)) |
        | after training | \(String(format: "%.4f", after.0)) | \(String(format: "%.4f", after.1)) |

        ## Training

        \(steps) steps of \(batchSize) pairs in \(Int(seconds)) s on the CPU (\(pairs) training pairs); recipe \
        `glossa train --recipe` with the settings in `training.json`. Weights are stored as float16.
        """ + "\n"
    }
}
