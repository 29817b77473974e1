import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor

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
    }
}

extension TrainCommand {
    /// Trains an encoder plugin (BERT) as a sentence embedder on the recipe's translation pairs with the
    /// in-batch-negatives loss, reports cross-lingual P@1 on the dev pairs before and after, and writes a
    /// sentence-transformers-style directory (mean pooling, Normalize) with a model card.
    func trainEmbedder(_ recipe: Recipe, make: (PluginConfiguration) throws -> any EncoderModel) throws {
        struct Extra: Decodable { var contrastive: ContrastiveSettings? }
        let extra = try JSONDecoder().decode(Extra.self, from: Data(contentsOf: URL(fileURLWithPath: self.recipe))).contrastive ?? ContrastiveSettings()
        guard extra.batchSize >= 2 else { throw CommandError(description: "contrastive.batch_size must be at least 2") }
        let settings = recipe.training
        let tokenizer = try prepareTokenizer(recipe)
        guard let pad = tokenizer.specialTokens.pad else { throw CommandError(description: "the tokenizer \(recipe.tokenizer.model) needs a <pad> piece") }
        let configuration = recipe.model
            .setting("vocab_size", .number(Double(tokenizer.vocabularySize)))
            .setting("pad_token_id", .number(Double(pad)))
        let model = try make(PluginConfiguration(json: try configuration.data()))
        let pooler = (model as? any PoolingEncoderModel)?.sentencePooler ?? MeanPooler()
        let embedder = Embedder(model: model, tokenizer: tokenizer, pooler: pooler, normalize: true, maxLength: settings.maxLength)
        log("model: \(recipe.plugin) embedder, \(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M parameters; vocabulary \(tokenizer.vocabularySize)")

        func lines(_ path: String) throws -> [String] {
            guard let text = String(data: try Data(contentsOf: URL(fileURLWithPath: path)), encoding: .utf8) else {
                throw CommandError(description: "\(path) is not UTF-8 text")
            }
            var result = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if result.last == "" { result.removeLast() }
            return result
        }
        let source = try lines(recipe.data.train.source), target = try lines(recipe.data.train.target)
        guard source.count == target.count else { throw CommandError(description: "the training files have \(source.count) and \(target.count) lines") }
        var pairs = zip(source, target).filter { !$0.0.isEmpty && !$0.1.isEmpty }
        var dev: [(String, String)] = []
        if let files = recipe.data.dev { dev = Array(zip(try lines(files.source), try lines(files.target))) }
        if extra.evaluationPairs > 0 { dev = Array(dev.prefix(extra.evaluationPairs)) }
        func precision() throws -> (Double, Double) {
            guard !dev.isEmpty else { return (0, 0) }
            let en = try embedder.embed(dev.map(\.0)), de = try embedder.embed(dev.map(\.1))
            return (retrievalPrecisionAtOne(queries: en, candidates: de), retrievalPrecisionAtOne(queries: de, candidates: en))
        }
        let before = try withoutGrad { try precision() }
        log(String(format: "dev P@1 before training: en→de %.4f, de→en %.4f (%d pairs)", before.0, before.1, dev.count))

        var generator = SeededGenerator(seed: settings.seed)
        // Batches of pairs of similar length (less padding, several times faster), in random order: shuffle,
        // sort within windows of 50 batches by token count, cut into batches, shuffle the batches.
        func lengthBucketed(_ pairs: [(String, String)]) throws -> [(String, String)] {
            var shuffled = pairs
            shuffled.shuffle(using: &generator)
            let window = extra.batchSize * 50
            var batches: [[(String, String)]] = []
            for start in stride(from: 0, to: shuffled.count, by: window) {
                let chunk = shuffled[start..<min(start + window, shuffled.count)]
                let keyed = try chunk.map { pair in (pair, max(try tokenizer.encode(pair.0).count, try tokenizer.encode(pair.1).count)) }
                let sorted = keyed.sorted { $0.1 < $1.1 }.map(\.0)
                for b in stride(from: 0, to: sorted.count - extra.batchSize + 1, by: extra.batchSize) {
                    batches.append(Array(sorted[b..<(b + extra.batchSize)]))
                }
            }
            batches.shuffle(using: &generator)
            return batches.flatMap { $0 }
        }
        pairs = try lengthBucketed(pairs)
        let trainer = ContrastiveTrainer(embedder: embedder, schedule: .inverseSquareRoot(peak: settings.learningRate, warmup: settings.warmupSteps),
                                         weightDecay: settings.weightDecay, scale: extra.scale, clipNorm: settings.clipNorm, seed: settings.seed)
        let started = Date()
        var cursor = 0, recent: [Float] = []
        while true {
            if let steps = settings.steps, trainer.step >= steps { break }
            if let minutes = settings.minutes, Date().timeIntervalSince(started) >= minutes * 60 { break }
            if cursor + extra.batchSize > pairs.count {
                pairs = try lengthBucketed(pairs)
                cursor = 0
            }
            let loss = try trainer.train(on: Array(pairs[cursor..<(cursor + extra.batchSize)]))
            cursor += extra.batchSize
            recent.append(loss)
            if trainer.step % 50 == 0 {
                log(String(format: "step %d  loss %.4f  %.0f s", trainer.step, recent.reduce(0, +) / Float(recent.count), Date().timeIntervalSince(started)))
                recent.removeAll()
            }
        }
        let seconds = Date().timeIntervalSince(started)
        let after = try withoutGrad { try precision() }
        log(String(format: "dev P@1 after %d steps (%.0f s): en→de %.4f, de→en %.4f", trainer.step, seconds, after.0, after.1))
        try writeEmbedder(recipe, model: model, report: EmbedderReport(
            steps: trainer.step, seconds: seconds, pairs: pairs.count, devPairs: dev.count, batchSize: extra.batchSize,
            before: before, after: after, parameters: model.parameterCount))
    }

    /// Writes the model, its tokenizer, the sentence-transformers pipeline files and a model card.
    func writeEmbedder(_ recipe: Recipe, model: any EncoderModel, report: EmbedderReport) throws {
        let output = URL(fileURLWithPath: recipe.output)
        try ModelDirectory.save(model, to: output, dtype: .f16)
        let spm = output.appendingPathComponent("tokenizer.model")
        try? FileManager.default.removeItem(at: spm)
        try FileManager.default.copyItem(at: URL(fileURLWithPath: recipe.tokenizer.model), to: spm)
        try FileManager.default.createDirectory(at: output.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: output.appendingPathComponent("2_Normalize"), withIntermediateDirectories: true)
        let files: [String: Any] = [
            "modules.json": [
                ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
                ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
                ["idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"],
            ],
            "1_Pooling/config.json": ["word_embedding_dimension": model.encoder.hiddenSize, "pooling_mode_mean_tokens": true,
                                      "pooling_mode_cls_token": false, "pooling_mode_max_tokens": false,
                                      "pooling_mode_mean_sqrt_len_tokens": false],
            "sentence_bert_config.json": ["max_seq_length": recipe.training.maxLength, "do_lower_case": false],
            "training.json": report.json(recipe: recipe),
        ]
        for (name, object) in files {
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
                                 to: output.appendingPathComponent(name))
        }
        try AtomicFile.write(Data(report.card(recipe: recipe).utf8), to: output.appendingPathComponent("README.md"))
        log("wrote \(output.path)")
    }
}

/// What an embedder training run measured, for `training.json` and the model card.
struct EmbedderReport {
    var steps: Int, seconds: Double, pairs: Int, devPairs: Int, batchSize: Int
    var before: (Double, Double), after: (Double, Double)
    var parameters: Int

    func json(recipe: Recipe) -> [String: Any] {
        ["steps": steps, "seconds": Int(seconds), "training_pairs": pairs, "dev_pairs": devPairs, "batch_size": batchSize,
         "p_at_1_before": ["en_de": before.0, "de_en": before.1], "p_at_1_after": ["en_de": after.0, "de_en": after.1],
         "parameters": parameters, "recipe": recipe.output]
    }

    func card(recipe: Recipe) -> String {
        """
        # English–German sentence embedder

        A \(String(format: "%.1f", Double(parameters) / 1e6)) M-parameter BERT encoder (Glossa plugin `bert`) with the \
        shared SentencePiece tokenizer, mean pooling and L2 normalisation, trained by Glossa from scratch with an \
        in-batch-negatives contrastive loss on the translation pairs of `\(recipe.data.train.source)` / \
        `\(recipe.data.train.target)`, so an English sentence and its German translation land close together.

        Use: `glossa embed --model <this directory>`, `glossa similar --model <this directory> --corpus FILE`.

        ## Cross-lingual retrieval (dev, \(devPairs) pairs)

        P@1 of finding a sentence's translation among all dev sentences, by cosine similarity:

        | | en→de | de→en |
        |---|---|---|
        | before training (random initialisation) | \(String(format: "%.4f", before.0)) | \(String(format: "%.4f", before.1)) |
        | after training | \(String(format: "%.4f", after.0)) | \(String(format: "%.4f", after.1)) |

        ## Training

        \(steps) steps of \(batchSize) pairs in \(Int(seconds)) s on the CPU (\(pairs) training pairs); recipe \
        `glossa train --recipe` with the settings in `training.json`. Weights are stored as float16.
        """ + "\n"
    }
}
