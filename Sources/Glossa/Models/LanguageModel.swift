import Foundation
import GlossaNN
import GlossaTensor

/// A language model: a tokenizer, a decoder-only network, and a sampler that continues prompts.
public final class LanguageModel {
    /// The network.
    public let model: any DecoderOnlyModel
    /// Text ↔ ids.
    public let tokenizer: any Tokenizer

    /// A language model from its parts.
    public init(model: any DecoderOnlyModel, tokenizer: any Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Loads a model directory: its plugin from `config.json`, its weights, and `tokenizer.model`.
    public static func load(_ directory: URL, registry: PluginRegistry) throws -> LanguageModel {
        let dir = ModelDirectory(directory)
        let plugin = try dir.plugin(in: registry)
        guard case .decoderOnly(let make) = plugin.factory else {
            throw GlossaError.wrongPluginKind(plugin.name, expected: "language-model", found: plugin.factory.kind)
        }
        let model = try make(try dir.pluginConfiguration())
        try model.loadCheckpoint(try dir.weights())
        let file = directory.appendingPathComponent("tokenizer.model")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw GlossaError.missingFile(file, purpose: "a language model directory needs its SentencePiece tokenizer as tokenizer.model")
        }
        let spm = try registry.plugin(named: "sentencepiece")
        guard case .tokenizer(let makeTokenizer) = spm.factory else {
            throw GlossaError.wrongPluginKind(spm.name, expected: "tokenizer", found: spm.factory.kind)
        }
        let tokenizer = try makeTokenizer(PluginConfiguration(json: Data("{\"model_file\": \"tokenizer.model\"}".utf8), directory: directory))
        guard tokenizer.vocabularySize <= model.decoder.vocabularySize else {
            throw GlossaError.invalidConfiguration(
                "the tokenizer has \(tokenizer.vocabularySize) pieces but the model's vocabulary has only \(model.decoder.vocabularySize)")
        }
        return LanguageModel(model: model, tokenizer: tokenizer)
    }

    /// The generation options of this model: stop at EOS, start from BOS, never emit padding.
    public func options(maxNewTokens: Int) -> GenerationOptions {
        let ids = model.specialIds
        // Rows past the tokenizer's pieces (padding rows of the table) have no text: never choose them.
        let textless = Array(Swift.min(tokenizer.vocabularySize, model.decoder.vocabularySize)..<model.decoder.vocabularySize)
        let forbidden = (ids.pad == ids.eos ? [] : [ids.pad]) + textless
        return GenerationOptions(maxNewTokens: maxNewTokens, eosId: ids.eos, startId: ids.decoderStart, forbidden: forbidden)
    }

    /// Continues each prompt with up to `maxNewTokens` tokens chosen by `sampler` (a fresh copy per
    /// prompt, so a seeded sampler gives each prompt the same draws whatever comes before it).
    public func generate<S: Sampler>(_ prompts: [String], sampler: S, maxNewTokens: Int = 64) throws -> [GeneratedText] {
        try prompts.map { prompt in
            var search = sampler
            return try continuation(of: prompt, sampler: &search, maxNewTokens: maxNewTokens)
        }
    }

    /// Continues one prompt, calling `onText` with each new piece of text as soon as its token is
    /// chosen (the text decoded so far minus what was already given, so pieces join correctly).
    public func continuation<S: Sampler>(
        of prompt: String, sampler: inout S, maxNewTokens: Int, onText: ((String) throws -> Void)? = nil
    ) throws -> GeneratedText {
        let slot = SamplerSlot(sampler)
        defer { if let advanced = slot.sampler as? S { sampler = advanced } }
        let batch = DecodingBatch(decoder: model.decoder)
        try batch.join([try request(for: prompt, sampler: slot, maxNewTokens: maxNewTokens, onText: onText)], memory: nil)
        while !batch.isEmpty { try batch.step() }
        return try text(of: batch.takeFinished().first?.outputs ?? [])
    }

    /// The decoding of one continuation of `prompt` as a `DecodingBatch` takes it (what `continuation(of:)` runs alone
    /// and a server runs beside others): `onText` hears each new piece of text as its token is chosen.
    public func request(for prompt: String, sampler: SamplerSlot, maxNewTokens: Int, onText: ((String) throws -> Void)? = nil) throws -> DecodingRequest {
        let promptIds = try tokenizer.encode(prompt)
        let emitted = IncrementalDetokenizer(tokenizer: tokenizer, prompt: promptIds)
        return DecodingRequest(prompt: promptIds, sampler: sampler, options: options(maxNewTokens: maxNewTokens),
                               onToken: onText.map { callback in { token in try callback(try emitted.append(token)) } })
    }

    /// The text of a continuation's best output (empty when it had no room to generate).
    public func text(of outputs: [GeneratedSequence]) throws -> GeneratedText {
        let best = outputs.first ?? GeneratedSequence(tokens: [], score: 0)
        return GeneratedText(text: try tokenizer.decode(best.tokens), score: best.score)
    }

    /// Samples `count` continuations of one prompt as one batch (the prompt repeated `count` times),
    /// each with its token ids and summed log-probability — what group sampling (GRPO) needs.
    public func sampleGroup<S: Sampler>(
        _ prompt: [Int], count: Int, sampler: inout S, maxNewTokens: Int
    ) throws -> [GeneratedSequence] {
        let result = try Generator.generate(
            decoder: model.decoder, memory: nil, batchSize: count, prompts: Array(repeating: prompt, count: count),
            sampler: &sampler, options: options(maxNewTokens: maxNewTokens))
        return result.map { $0.first ?? GeneratedSequence(tokens: [], score: 0) }
    }
}

/// Turns tokens into text one at a time: decodes prompt + tokens so far and hands out what is new,
/// so SentencePiece's word-boundary spaces come out right.
final class IncrementalDetokenizer {
    let tokenizer: any Tokenizer
    let prompt: [Int]
    var tokens: [Int] = []
    var given = ""
    let promptText: String

    init(tokenizer: any Tokenizer, prompt: [Int]) {
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.promptText = (try? tokenizer.decode(prompt)) ?? ""
    }

    /// The new text after adding `token`.
    func append(_ token: Int) throws -> String {
        tokens.append(token)
        var text = try tokenizer.decode(prompt + tokens)
        text = text.hasPrefix(promptText) ? String(text.dropFirst(promptText.count)) : try tokenizer.decode(tokens)
        guard text.hasPrefix(given) else { return "" }
        let fresh = String(text.dropFirst(given.count))
        given = text
        return fresh
    }
}
