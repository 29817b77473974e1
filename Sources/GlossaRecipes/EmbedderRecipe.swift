import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// The optional `initialize_from` block of an encoder recipe: tensors copied from another checkpoint before training
/// (the translator's shared embeddings give the encoder English and German words that already mean something), by
/// destination name → source name, or `"all"`: every parameter of the model the file has under the same name (a
/// trained embedder as the start of a classifier).
struct InitializeFrom: Decodable {
    /// A `model.safetensors` file.
    var file: String
    /// Destination parameter name → tensor name in `file`; empty with `all`.
    var tensors: [String: String]
    /// Copy every parameter the file has under its own name.
    var all: Bool

    enum CodingKeys: String, CodingKey, CaseIterable { case file, tensors }

    init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        file = try c.decode(String.self, forKey: .file)
        if let word = try? c.decode(String.self, forKey: .tensors) {
            guard word == "all" else {
                throw DecodingError.dataCorruptedError(forKey: .tensors, in: c, debugDescription: "tensors must be \"all\" or an object of destination → source names, not \"\(word)\"")
            }
            tensors = [:]
            all = true
        } else {
            tensors = try c.decode([String: String].self, forKey: .tensors)
            all = false
        }
    }

    /// Copies the named tensors into `model`, checking that each exists with the same shape.
    func apply(to model: any Module, log: (String) -> Void) throws {
        let source = try Safetensors.read(contentsOf: URL(fileURLWithPath: file)).tensors()
        let parameters = Dictionary(model.namedParameters().map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        // With `all`, a parameter is also found under the plugin's prefix (`bert.`, transformers' base_model_prefix), so a
        // task model's checkpoint (a masked LM, a classifier) starts a bare encoder.
        let prefix = (model as? any EncoderModel).map { $0.pluginName + "." } ?? ""
        func own(_ name: String) -> String? { source[name] != nil ? name : (!prefix.isEmpty && source[prefix + name] != nil ? prefix + name : nil) }
        let names = all ? Dictionary(uniqueKeysWithValues: parameters.keys.compactMap { name in own(name).map { (name, $0) } }) : tensors
        if all && names.isEmpty { throw GlossaError.invalidConfiguration("initialize_from: \(file) has none of the model's parameters") }
        var copies: [String: Tensor] = [:]
        for (destination, name) in names.sorted(by: { $0.key < $1.key }) {
            guard let from = source[name] else { throw GlossaError.invalidConfiguration("initialize_from: \(file) has no tensor \(name)") }
            guard let to = parameters[destination] else { throw GlossaError.invalidConfiguration("initialize_from: the model has no parameter \(destination)") }
            guard from.shape == to.shape else {
                throw GlossaError.invalidConfiguration("initialize_from: \(file): \(name) has shape \(from.shape) but \(destination) has \(to.shape)")
            }
            copies[destination] = from
            if !all { log("initialising \(destination) from \(file):\(name)") }
        }
        if all { log("initialising \(copies.count) of \(parameters.count) parameters from \(file)") }
        try model.load(copies, strict: false)
    }

    /// Where the weights started, for the model card.
    var description: String {
        if all { return "the weights of `\(file)`" }
        return "random initialisation, with " + tensors.sorted { $0.key < $1.key }.map { "`\($0.key)` copied from `\(file)` (`\($0.value)`)" }
            .joined(separator: ", ")
    }
}

/// The optional `contrastive` block of an embedder recipe.
struct ContrastiveBlock: Decodable {
    /// Pairs per batch (each pair's partner is its positive, the other pairs' partners its negatives).
    var batchSize = 64
    /// The similarity scale of the loss.
    var scale: Float = 20
    /// Dev pairs used for P@1 (0 = all).
    var evaluationPairs = 0

    enum CodingKeys: String, CodingKey, CaseIterable { case batchSize = "batch_size", scale, evaluationPairs = "evaluation_pairs" }

    init() {}

    init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
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

/// What an embedder run measured, for `training.json` and the model card.
struct EmbedderReport {
    var steps: Int, seconds: Double, pairs: Int, devPairs: Int, batchSize: Int
    var before: [String: Double], after: [String: Double]
    var parameters: Int
    /// Where the weights started: "random initialisation", or the tensors copied from another model.
    var start: String
    /// How token states become one vector: mean pooling, or the plugin's own pooler.
    var pooling: String

    func precision(_ metrics: [String: Double]) -> [String: Double] {
        ["en_de": metrics["p_at_1_forward"] ?? 0, "de_en": metrics["p_at_1_backward"] ?? 0]
    }

    func json(recipe: Recipe) -> [String: Any] {
        ["steps": steps, "seconds": Int(seconds), "training_pairs": pairs, "dev_pairs": devPairs, "batch_size": batchSize,
         "p_at_1_before": precision(before), "p_at_1_after": precision(after), "parameters": parameters, "recipe": recipe.output, "start": start]
    }

    func card(recipe: Recipe) -> String {
        let b = precision(before), a = precision(after)
        return """
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
        | before training (\(start)) | \(String(format: "%.4f", b["en_de"] ?? 0)) | \(String(format: "%.4f", b["de_en"] ?? 0)) |
        | after training | \(String(format: "%.4f", a["en_de"] ?? 0)) | \(String(format: "%.4f", a["de_en"] ?? 0)) |

        ## Training

        \(steps) steps of \(batchSize) pairs in \(Int(seconds)) s on the CPU (\(pairs) training pairs); recipe \
        `glossa train --recipe` with the settings in `training.json`. Weights are stored as float16.
        """ + "\n"
    }
}
