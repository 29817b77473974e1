import Foundation
import Glossa
import GlossaNN
import GlossaSentencePiece
import GlossaTensor

/// The `masked_lm` block of an encoder recipe with `"objective": "masked-lm"`: the texts and BERT's corruption rule.
struct MaskedLMBlock: Decodable {
    /// Training text files (one or a list), one text a line.
    var train: [String]
    /// Dev texts: the held-out masked-token loss and accuracy (and `keep_best`).
    var dev: String?
    /// `text`: the whole line is the text; `tsv`: the text after the first tab (a labelled file's text column, its
    /// labels unused).
    var format: TextFormat = .text
    /// The share of tokens chosen, and of those the shares masked and replaced at random (BERT's 0.15, 0.8, 0.1).
    var rule = MaskingRule.bert

    enum TextFormat: String, Decodable { case text, tsv }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case train, dev, format, maskProbability = "mask_probability", maskShare = "mask_share", randomShare = "random_share"
    }

    init(from decoder: any Swift.Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let one = try? c.decode(String.self, forKey: .train) {
            train = [one]
        } else {
            train = try c.decode([String].self, forKey: .train)
        }
        guard !train.isEmpty else { throw DecodingError.dataCorruptedError(forKey: .train, in: c, debugDescription: "train must name at least one file") }
        dev = try c.decodeIfPresent(String.self, forKey: .dev)
        if let name = try c.decodeIfPresent(String.self, forKey: .format) {
            guard let format = TextFormat(rawValue: name) else {
                throw DecodingError.dataCorruptedError(forKey: .format, in: c, debugDescription: "format must be text or tsv, not \"\(name)\"")
            }
            self.format = format
        }
        rule = MaskingRule(probability: try c.decodeIfPresent(Double.self, forKey: .maskProbability) ?? 0.15,
                           maskShare: try c.decodeIfPresent(Double.self, forKey: .maskShare) ?? 0.8,
                           randomShare: try c.decodeIfPresent(Double.self, forKey: .randomShare) ?? 0.1)
        guard rule.probability > 0 && rule.probability <= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .maskProbability, in: c, debugDescription: "mask_probability must be in (0, 1], not \(rule.probability)")
        }
        for (key, share) in [(CodingKeys.maskShare, rule.maskShare), (.randomShare, rule.randomShare)] where !(share >= 0 && share <= 1) {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(key.rawValue) must be in [0, 1], not \(share)")
        }
        guard rule.maskShare + rule.randomShare <= 1 + 1e-9 else {
            throw DecodingError.dataCorruptedError(forKey: .randomShare, in: c, debugDescription:
                "mask_share + random_share must be at most 1, not \(rule.maskShare + rule.randomShare)")
        }
    }

    /// The non-blank texts of `path`.
    func texts(_ path: String) throws -> [String] {
        switch format {
        case .text: return try InputFile.lines(path, purpose: "the masked-LM texts").filter { !$0.allSatisfy(\.isWhitespace) }
        case .tsv: return try LabeledText.read(path, format: .tsv).map(\.text)
        }
    }
}

extension RecipeRun {
    func trainMaskedLanguageModel(make: (PluginConfiguration) throws -> any EncoderModel, tokenizer: SentencePieceTokenizer, folder: RunFolder,
                                  stop: StopSignal?, events: @escaping (RecipeEvent) -> Void) throws -> RecipeResult {
        guard let block = try recipe.block("masked_lm", as: MaskedLMBlock.self) else {
            throw GlossaError.invalidConfiguration("objective masked-lm needs a \"masked_lm\" block with \"train\"")
        }
        let initial = try recipe.block("initialize_from", as: InitializeFrom.self)
        let encoder = try make(PluginConfiguration(json: try recipe.model.filled(from: tokenizer, eos: false).data()))
        guard let base = encoder as? any MaskedLanguageModelLayout else {
            throw GlossaError.invalidConfiguration("the \(recipe.plugin) plugin has no masked-LM head layout (objective masked-lm needs one, as BERT has)")
        }
        if let initial, !resume { try initial.apply(to: encoder) { events(.note($0)) } }
        let model = MaskedLanguageModel(base: base, seed: recipe.training.seed)
        events(.note(describe(model, "\(recipe.plugin) masked LM", vocabulary: tokenizer.vocabularySize)))
        let train = try block.train.flatMap { try block.texts($0) }
        let dev = try block.dev.map { try block.texts($0) } ?? []
        let limit = Swift.min(recipe.training.maxLength, encoder.encoder.maxLength ?? Int.max)
        let objective = try MaskedLanguageModelingObjective(
            train: try tokenizer.encodeBatch(train), dev: try tokenizer.encodeBatch(dev), tokenizer: tokenizer, rule: block.rule,
            maxLength: limit, maxTokens: recipe.training.maxTokens, seed: recipe.training.seed, labelSmoothing: recipe.training.labelSmoothing)
        let maskNote = objective.maskId == tokenizer.specialTokens.pad ? "the pad id \(objective.maskId) (the tokenizer has no mask piece)" : "id \(objective.maskId)"
        events(.note("data: \(objective.train.count) training texts, \(objective.dev.count) dev; masking \(block.rule.probability) of tokens "
                     + "(\(block.rule.maskShare) masked, \(block.rule.randomShare) random), mask token \(maskNote)"))
        let (result, weights) = try runTrainer(model, objective, folder: folder.url, stop: stop, events: events)
        guard try writesModel(result) else { return withoutModel(result, folder) }
        let final = try withoutGrad { try objective.validate(model: model) }
        try model.save(to: folder.url, tokenizer: tokenizer, dtype: (recipe.dtype ?? .f32).safetensors)
        for (name, data) in try objective.reportFiles(history: result.history) {
            try AtomicFile.write(data, to: folder.url.appendingPathComponent(name))
        }
        return try finish(result, weights: weights, finalDev: final, objective: objective.name, folder: folder, events: events,
                          extra: ["masked_lm": ["mask_token_id": objective.maskId, "mask_probability": block.rule.probability,
                                                "mask_share": block.rule.maskShare, "random_share": block.rule.randomShare,
                                                "start": initial?.description ?? "random initialisation"]])
    }
}
