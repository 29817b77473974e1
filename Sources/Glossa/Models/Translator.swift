import Foundation
import GlossaNN
import GlossaTensor

/// A translator: a tokenizer, an encoder-decoder network, and the search that turns source
/// sentences into target sentences. Loaded from a model directory or built by training.
public final class Translator {
    /// The network.
    public let model: any EncoderDecoderModel
    /// Cuts source text into ids.
    public let sourceTokenizer: any Tokenizer
    /// Turns target ids back into text.
    public let targetTokenizer: any Tokenizer
    /// The directory's `generation_config.json` (or the same fields of `config.json`): the defaults
    /// of `search`, as transformers reads them.
    public var generationConfig: GenerationConfig

    /// A translator from its parts.
    public init(model: any EncoderDecoderModel, sourceTokenizer: any Tokenizer, targetTokenizer: any Tokenizer,
                generationConfig: GenerationConfig = GenerationConfig()) {
        self.model = model
        self.sourceTokenizer = sourceTokenizer
        self.targetTokenizer = targetTokenizer
        self.generationConfig = generationConfig
    }

    /// The search the model directory asks for, `fallback` filling what it leaves unset.
    public func defaultSearch(fallback: SearchSettings = SearchSettings(beamSize: 4, forceEOSAtLimit: true)) -> SearchSettings {
        generationConfig.settings(fallback: fallback)
    }

    /// Loads a model directory: its plugin from `config.json`, its weights, and its tokenizer
    /// (`source.spm`/`target.spm` with `vocab.json` in the Marian layout, or `tokenizer.model`).
    public static func load(_ directory: URL, registry: PluginRegistry) throws -> Translator {
        let dir = ModelDirectory(directory)
        let plugin = try dir.plugin(in: registry)
        guard case .encoderDecoder(let make) = plugin.factory else {
            throw GlossaError.wrongPluginKind(plugin.name, expected: "translator", found: plugin.factory.kind)
        }
        let model = try make(try dir.pluginConfiguration())
        try model.loadCheckpoint(try dir.weights())
        let (source, target) = try loadTokenizers(directory, registry: registry)
        try checkTokenizer(source, fits: model.encoder.vocabularySize ?? model.decoder.vocabularySize, role: "source")
        try checkTokenizer(target, fits: model.decoder.vocabularySize, role: "target")
        var generation = try GenerationConfig.load(from: directory)
        // Output rows past the target tokenizer's pieces have no text: ban them, so no line fails mid-decode.
        let textless = Swift.min(target.vocabularySize, model.decoder.vocabularySize)..<model.decoder.vocabularySize
        if !textless.isEmpty { generation.badWordsIds = (generation.badWordsIds ?? []) + textless.map { [$0] } }
        return Translator(model: model, sourceTokenizer: source, targetTokenizer: target, generationConfig: generation)
    }

    static func loadTokenizers(_ directory: URL, registry: PluginRegistry) throws -> (any Tokenizer, any Tokenizer) {
        let files = FileManager.default
        let plugin = try registry.plugin(named: "sentencepiece")
        guard case .tokenizer(let make) = plugin.factory else {
            throw GlossaError.wrongPluginKind(plugin.name, expected: "tokenizer", found: plugin.factory.kind)
        }
        // Marian: one joint vocab.json, or with separate vocabularies vocab.json for the source and
        // target_vocab.json for the target (MarianTokenizer's `separate_vocabs`).
        func open(_ name: String, vocabularies: [String]) throws -> (any Tokenizer)? {
            let url = directory.appendingPathComponent(name)
            guard files.fileExists(atPath: url.path) else { return nil }
            let spm = try make(PluginConfiguration(json: Data("{\"model_file\": \"\(name)\"}".utf8), directory: directory))
            for vocabulary in vocabularies {
                let vocab = directory.appendingPathComponent(vocabulary)
                if files.fileExists(atPath: vocab.path) { return try VocabularyTokenizer(base: spm, vocabJSON: InputFile.read(vocab.path, purpose: "the vocabulary", limit: InputFile.tokenizerLimit)) }
            }
            return spm
        }
        if let source = try open("source.spm", vocabularies: ["vocab.json"]) {
            return (source, try open("target.spm", vocabularies: ["target_vocab.json", "vocab.json"]) ?? source)
        }
        if let joint = try open("tokenizer.model", vocabularies: ["vocab.json"]) { return (joint, joint) }
        throw GlossaError.missingFile(directory.appendingPathComponent("source.spm"),
                                      purpose: "a translator directory needs source.spm/target.spm (Marian) or tokenizer.model")
    }

    /// Translates token sequences (each ending in EOS), keeping their order: sorted by length into
    /// batches of `batchSize` sentences (and at most `batchTokens` padded source tokens when positive),
    /// decoded, and restored to input order.
    public func translateIds<S: Sampler>(
        _ sources: [[Int]], sampler: S, batchSize: Int = 32, batchTokens: Int = 0, maxNewTokens: Int = 128, lengthPenalty: Float = 1, nBest: Int = 1,
        earlyStopping: EarlyStopping = .heuristic, forceEOSAtLimit: Bool = true, banned: [Int] = [], profile: StepProfile? = nil
    ) throws -> [[GeneratedSequence]] {
        let ids = model.specialIds
        let order = sources.indices.sorted { sources[$0].count < sources[$1].count }
        var outputs = [[GeneratedSequence]](repeating: [], count: sources.count)
        let options = generationOptions(maxNewTokens: maxNewTokens, lengthPenalty: lengthPenalty, nBest: nBest,
                                        earlyStopping: earlyStopping, forceEOSAtLimit: forceEOSAtLimit, banned: banned)
        var chunkStart = 0
        while chunkStart < order.count {
            // Up to `batchSize` sentences; with `batchTokens`, also at most that many padded source tokens
            // (sorted ascending, so the last sentence taken sets the padded length).
            var end = Swift.min(order.count, chunkStart + Swift.max(1, batchSize))
            if batchTokens > 0 {
                var fits = chunkStart + 1
                while fits < end && (fits + 1 - chunkStart) * sources[order[fits]].count <= batchTokens { fits += 1 }
                end = fits
            }
            let chunk = Array(order[chunkStart..<end])
            chunkStart += chunk.count
            let batch = TokenBatch(chunk.map { sources[$0] }, padId: ids.pad)
            let states = try withoutGrad {
                try profile.map { try $0.measure(.encoder) { try model.encoder.encode(batch, context: ForwardContext()) } }
                    ?? model.encoder.encode(batch, context: ForwardContext())
            }
            var search = sampler
            let results = try Generator.generate(decoder: model.decoder, memory: EncoderMemory(states: states, source: batch),
                                                 batchSize: chunk.count, sampler: &search, options: options, profile: profile)
            for (k, p) in chunk.enumerated() { outputs[p] = results[k] }
        }
        return outputs
    }

    /// The decoding options of this model's searches.
    public func generationOptions(maxNewTokens: Int = 128, lengthPenalty: Float = 1, nBest: Int = 1, earlyStopping: EarlyStopping = .heuristic,
                                  forceEOSAtLimit: Bool = true, banned: [Int] = []) -> GenerationOptions {
        let ids = model.specialIds
        // The decoder's start token (pad) is never an output, whatever the directory says.
        return GenerationOptions(maxNewTokens: maxNewTokens, eosId: ids.eos, startId: ids.decoderStart,
                                 forbidden: Array(Set([ids.pad] + banned)).sorted(), lengthPenalty: lengthPenalty, nBest: nBest,
                                 earlyStopping: earlyStopping, forceEOSAtLimit: forceEOSAtLimit)
    }

    /// The parts the network sees for `text`: its tokens cut at the encoder's limit, each ending in EOS (none for an
    /// empty text).
    public func sourceParts(_ text: String) throws -> [[Int]] {
        let eos = model.specialIds.eos
        let limit = (model.encoder.maxLength ?? Int.max) - 1
        let tokens = try sourceTokenizer.encode(text)
        var parts: [[Int]] = []
        var start = 0
        while start < tokens.count {
            let end = Swift.min(tokens.count, start + limit)
            parts.append(Array(tokens[start..<end]) + [eos])
            start = end
        }
        return parts
    }

    /// One input's translations from the outputs of its parts (n-best lists join rank by rank); an input without
    /// parts (empty) has `nBest` empty candidates.
    public func joinParts(_ pieces: [[GeneratedSequence]], nBest: Int = 1) throws -> [GeneratedText] {
        guard !pieces.isEmpty else { return Array(repeating: GeneratedText(text: "", score: 0), count: Swift.max(nBest, 1)) }
        let ranks = pieces.map(\.count).min() ?? 0
        return try (0..<Swift.max(ranks, 1)).map { rank in
            let chosen = pieces.map { $0.isEmpty ? GeneratedSequence(tokens: [], score: 0) : $0[Swift.min(rank, $0.count - 1)] }
            let text = try chosen.map { try targetTokenizer.decode($0.tokens) }.joined(separator: " ")
            return GeneratedText(text: text, score: chosen.map(\.score).reduce(0, +))
        }
    }

    /// Translates `texts`, keeping their order. Sentences are sorted by length into batches of
    /// `batchSize` and restored to input order; empty lines give empty translations; a sentence
    /// longer than the model's limit is translated in consecutive parts.
    public func translate<S: Sampler>(
        _ texts: [String], sampler: S, batchSize: Int = 32, batchTokens: Int = 0, maxNewTokens: Int = 128, lengthPenalty: Float = 1, nBest: Int = 1,
        earlyStopping: EarlyStopping = .heuristic, forceEOSAtLimit: Bool = true, banned: [Int] = []
    ) throws -> [[GeneratedText]] {
        // Each input becomes one or more parts; parts are what the network sees.
        var parts: [(input: Int, ids: [Int])] = []
        for (i, text) in texts.enumerated() { parts += try sourceParts(text).map { (i, $0) } }
        let outputs = try translateIds(parts.map(\.ids), sampler: sampler, batchSize: batchSize, batchTokens: batchTokens, maxNewTokens: maxNewTokens,
                                       lengthPenalty: lengthPenalty, nBest: nBest, earlyStopping: earlyStopping,
                                       forceEOSAtLimit: forceEOSAtLimit, banned: banned)
        var byInput = [[[GeneratedSequence]]](repeating: [], count: texts.count)
        for (p, part) in parts.enumerated() { byInput[part.input].append(outputs[p]) }
        return try byInput.map { try joinParts($0, nBest: nBest) }
    }
}

extension Translator {
    /// Translates `texts` with a deterministic search (greedy when `search.beamSize` is 1), keeping their order.
    public func translate(_ texts: [String], search: SearchSettings, batchSize: Int = 32, batchTokens: Int = 0, nBest: Int = 1) throws -> [[GeneratedText]] {
        try translate(texts, sampler: Self.sampler(for: search), batchSize: batchSize, batchTokens: batchTokens, maxNewTokens: search.maxNewTokens,
                      lengthPenalty: search.lengthPenalty, nBest: nBest, earlyStopping: search.earlyStopping,
                      forceEOSAtLimit: search.forceEOSAtLimit, banned: search.bannedTokens)
    }

    /// The same for token ids (each source ending in EOS).
    public func translateIds(_ sources: [[Int]], search: SearchSettings, batchSize: Int = 32, batchTokens: Int = 0, nBest: Int = 1) throws -> [[GeneratedSequence]] {
        try translateIds(sources, sampler: Self.sampler(for: search), batchSize: batchSize, batchTokens: batchTokens, maxNewTokens: search.maxNewTokens,
                         lengthPenalty: search.lengthPenalty, nBest: nBest, earlyStopping: search.earlyStopping,
                         forceEOSAtLimit: search.forceEOSAtLimit, banned: search.bannedTokens)
    }

    /// Beam search with the settings' processors, or greedy search (through them when there are any).
    public static func sampler(for search: SearchSettings) -> any Sampler {
        let processors = search.processors
        if search.beamSize > 1 { return BeamSampler(beamSize: search.beamSize, processors: processors) }
        return processors.isEmpty ? GreedySampler() : ProcessedSampler(processors: processors, choice: .greedy)
    }
}

/// A generated sentence and its length-normalised log-probability.
public struct GeneratedText: Sendable, Equatable {
    /// The text.
    public var text: String
    /// Σ log p / length^α (summed over parts for long inputs).
    public var score: Float
}
