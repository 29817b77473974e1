import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaSentencePiece
import GlossaTensor

/// Set by the SIGINT handler of a decoder-only run; the loop checks it between updates.
nonisolated(unsafe) private var decoderInterruptRequested = false

/// What a decoder-only run needs to build its objective: the recipe, the model, the tokenizer.
struct ObjectiveInputs {
    var recipe: Recipe
    /// The recipe file, for objectives that read their own block from it.
    var recipeURL: URL
    var model: any DecoderOnlyModel
    var tokenizer: any Tokenizer
    var log: (String) -> Void
}

/// The objectives `"objective"` may name, each a function that builds it from the recipe.
/// A new objective adds one entry here.
let decoderObjectives: [String: @Sendable (ObjectiveInputs) throws -> any DecoderObjective] = [
    "nll": makeLanguageModelingObjective,
    "sft": makeSupervisedObjective,
    "dpo": makePreferenceObjective,
    "grpo": makePolicyObjective,
]

/// Next-token NLL on every line of both sides of the recipe's training files (dev likewise).
func makeLanguageModelingObjective(_ inputs: ObjectiveInputs) throws -> any DecoderObjective {
    let recipe = inputs.recipe
    let started = Date()
    func sentences(_ files: ParallelFiles?) throws -> [[Int]] {
        guard let files else { return [] }
        var lines = try ParallelData.readLines(files.source)
        if files.target != files.source { lines += try ParallelData.readLines(files.target) }
        return try inputs.tokenizer.encodeBatch(lines.filter { !$0.isEmpty })
    }
    let train = try sentences(recipe.data.train), dev = try sentences(recipe.data.dev)
    inputs.log(String(format: "data: %d training sentences (%d tokens), %d dev sentences, tokenised in %.1f s",
                      train.count, train.reduce(0) { $0 + $1.count + 1 }, dev.count, Date().timeIntervalSince(started)))
    let limit = Swift.min(recipe.training.maxLength, (inputs.model.decoder.maxLength ?? Int.max) - 1)
    return LanguageModelingObjective(train: train, dev: dev, ids: inputs.model.specialIds, maxTokens: recipe.training.maxTokens,
                                     maxLength: limit, labelSmoothing: recipe.training.labelSmoothing)
}

extension TrainCommand {
    /// Trains a decoder-only plugin with the recipe's objective on the shared loop and writes a model
    /// directory (`config.json` in the Llama layout, `model.safetensors`, `tokenizer.model`, `training.json`).
    func trainLanguageModel(_ recipe: Recipe, make: (PluginConfiguration) throws -> any DecoderOnlyModel) throws {
        let objectiveName = recipe.objective ?? "nll"
        guard let makeObjective = decoderObjectives[objectiveName] else {
            throw CommandError(description: "unknown objective \"\(objectiveName)\"; known: \(decoderObjectives.keys.sorted().joined(separator: ", "))")
        }
        let tokenizer = try prepareTokenizer(recipe)
        let model: any DecoderOnlyModel
        if let base = recipe.base {
            model = try LanguageModel.load(URL(fileURLWithPath: base), registry: Registry.current).model
            log("model: \(recipe.plugin) from \(base), \(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M parameters")
        } else {
            let special = tokenizer.specialTokens
            guard let eos = special.eos, let pad = special.pad else {
                throw CommandError(description: "the tokenizer \(recipe.tokenizer.model) needs </s> and <pad> pieces")
            }
            // With no <s> piece, </s> also starts each sentence (GPT-2's convention).
            let configuration = recipe.model
                .setting("vocab_size", .number(Double(tokenizer.vocabularySize)))
                .setting("pad_token_id", .number(Double(pad)))
                .setting("eos_token_id", .number(Double(eos)))
                .setting("bos_token_id", .number(Double(special.bos ?? eos)))
            model = try make(PluginConfiguration(json: try configuration.data()))
            log("model: \(recipe.plugin), \(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M parameters; vocabulary \(tokenizer.vocabularySize)")
        }
        let recipeURL = URL(fileURLWithPath: self.recipe)
        let objective = try makeObjective(ObjectiveInputs(recipe: recipe, recipeURL: recipeURL, model: model, tokenizer: tokenizer, log: log))
        let outputURL = URL(fileURLWithPath: recipe.output)
        try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)
        signal(SIGINT) { _ in decoderInterruptRequested = true }
        let trainer = DecoderTrainer(model: model, objective: objective, settings: recipe.training, directory: outputURL, log: log)
        let started = Date()
        let history = try trainer.run(resume: resume, shouldStop: { decoderInterruptRequested })
        if decoderInterruptRequested { return }
        let note = try trainer.chooseFinalWeights()
        let final = try withoutGrad { try objective.validate(model: model) }
        try LanguageModel(model: model, tokenizer: tokenizer).save(to: outputURL, dtype: recipe.dtype == "f16" ? .f16 : .f32)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let record = DecoderTrainingLog(recipe: recipe, objective: objective.name, weights: note, finalDev: final,
                                        wallMinutes: Date().timeIntervalSince(started) / 60, history: history)
        try AtomicFile.write(try encoder.encode(record), to: outputURL.appendingPathComponent("training.json"))
        for (name, data) in try (objective as? ReportingObjective)?.reportFiles(history: history) ?? [:] {
            try AtomicFile.write(data, to: outputURL.appendingPathComponent(name))
        }
        log("wrote \(outputURL.path) (\(note))" + final.sorted { $0.key < $1.key }.map { String(format: "  dev %@ %.4g", $0.key, $0.value) }.joined())
    }
}

/// What `training.json` beside a trained language model records.
struct DecoderTrainingLog: Encodable {
    var recipe: Recipe
    var objective: String
    var weights: String
    var finalDev: [String: Double]
    var wallMinutes: Double
    var history: [DecoderTrainingRecord]

    enum CodingKeys: String, CodingKey {
        case recipe, objective, weights, finalDev = "final_dev", wallMinutes = "wall_minutes", history
    }
}
