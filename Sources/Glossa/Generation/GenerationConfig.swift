import Foundation
import GlossaNN

/// When beam search stops, in transformers' three meanings of `early_stopping`.
public enum EarlyStopping: Sendable, Equatable, CaseIterable {
    /// `true`: as soon as a sentence has `width` finished hypotheses.
    case whenFull
    /// `false` (transformers' default): once the best live hypothesis, normalised by the current
    /// length, can no longer beat the worst finished one.
    case heuristic
    /// `"never"`: as `heuristic`, but a positive length penalty is judged at the length limit, so the
    /// search only stops when no live hypothesis could improve the finished ones.
    case never
}

extension EarlyStopping: Codable {
    public init(from decoder: any Swift.Decoder) throws {
        let value = try decoder.singleValueContainer()
        if let flag = try? value.decode(Bool.self) {
            self = flag ? .whenFull : .heuristic
        } else if try value.decode(String.self) == "never" {
            self = .never
        } else {
            throw DecodingError.dataCorruptedError(in: value, debugDescription: "early_stopping must be true, false or \"never\"")
        }
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var value = encoder.singleValueContainer()
        switch self {
        case .whenFull: try value.encode(true)
        case .heuristic: try value.encode(false)
        case .never: try value.encode("never")
        }
    }
}

/// The search settings of a model directory's `generation_config.json` that Glossa honours, in the
/// meaning transformers gives them; every field is optional, as in the file.
public struct GenerationConfig: Codable, Sendable, Equatable {
    /// `num_beams`: 1 is greedy search.
    public var numBeams: Int?
    /// `max_length`: counts the decoder's start token for encoder-decoder models, as in transformers.
    public var maxLength: Int?
    /// `max_new_tokens`: wins over `maxLength` when both are set.
    public var maxNewTokens: Int?
    /// `length_penalty` α: finished hypotheses score Σ log p / length^α.
    public var lengthPenalty: Float?
    /// `early_stopping`: `true`, `false` or `"never"`.
    public var earlyStopping: EarlyStopping?
    /// Token sequences never generated: a single token is banned everywhere, a longer one wherever
    /// the tokens before its last have just been generated.
    public var badWordsIds: [[Int]]?
    /// The token forced at the last allowed step, so every output ends in it.
    public var forcedEosTokenId: Int?
    /// `no_repeat_ngram_size`: never repeat an n-gram of this length.
    public var noRepeatNgramSize: Int?
    /// `repetition_penalty`: above 1 discourages tokens already generated.
    public var repetitionPenalty: Float?

    /// A configuration with nothing set.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case numBeams = "num_beams", maxLength = "max_length", maxNewTokens = "max_new_tokens"
        case lengthPenalty = "length_penalty", earlyStopping = "early_stopping", badWordsIds = "bad_words_ids"
        case forcedEosTokenId = "forced_eos_token_id", noRepeatNgramSize = "no_repeat_ngram_size"
        case repetitionPenalty = "repetition_penalty"
    }

    /// Reads `generation_config.json` in `directory`, or without it the same fields of `config.json`
    /// (where older transformers keep them); nothing set when neither exists.
    public static func load(from directory: URL) throws -> GenerationConfig {
        let files = FileManager.default
        var file = directory.appendingPathComponent("generation_config.json")
        if !files.fileExists(atPath: file.path) { file = directory.appendingPathComponent("config.json") }
        guard files.fileExists(atPath: file.path) else { return GenerationConfig() }
        let config: GenerationConfig
        do {
            config = try JSONDecoder().decode(GenerationConfig.self, from: try InputFile.read(file.path, purpose: "the generation settings", limit: InputFile.configurationLimit))
        } catch let error as DecodingError {
            throw GlossaError.invalidConfiguration("\(file.path): \(describe(error))")
        }
        try config.validate(file: file.path)
        return config
    }

    /// Refuses values transformers would refuse, naming the field.
    public func validate(file: String = "generation_config.json") throws {
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw GlossaError.invalidConfiguration("\(file): \(message)") }
        }
        if let numBeams { try require(numBeams >= 1 && numBeams <= SearchSettings.maxBeamSize, "num_beams must be in 1...\(SearchSettings.maxBeamSize), got \(numBeams)") }
        if let maxLength { try require((1...1_000_000).contains(maxLength), "max_length must be in 1...1000000, got \(maxLength)") }
        if let maxNewTokens { try require((1...1_000_000).contains(maxNewTokens), "max_new_tokens must be in 1...1000000, got \(maxNewTokens)") }
        if let lengthPenalty { try require(lengthPenalty.isFinite, "length_penalty must be a finite number") }
        if let noRepeatNgramSize { try require((0...100_000).contains(noRepeatNgramSize), "no_repeat_ngram_size must be in 0...100000") }
        if let repetitionPenalty {
            try require(repetitionPenalty.isFinite && repetitionPenalty > 0, "repetition_penalty must be a positive finite number")
        }
        for words in badWordsIds ?? [] {
            try require(!words.isEmpty && words.allSatisfy { $0 >= 0 }, "bad_words_ids holds an empty sequence or a negative id")
        }
    }

    /// The settings these fields give, `fallback` filling what the file leaves unset.
    /// Encoder-decoder models count the start token in `max_length`, as transformers does.
    public func settings(fallback: SearchSettings) -> SearchSettings {
        var s = fallback
        if let numBeams { s.beamSize = numBeams }
        if let maxNewTokens {
            s.maxNewTokens = maxNewTokens
        } else if let maxLength {
            s.maxNewTokens = Swift.max(1, maxLength - 1)
        }
        if let lengthPenalty { s.lengthPenalty = lengthPenalty }
        if let earlyStopping { s.earlyStopping = earlyStopping }
        if let badWordsIds { s.badWords = badWordsIds }
        if forcedEosTokenId != nil { s.forceEOSAtLimit = true }
        if let noRepeatNgramSize { s.noRepeatNGramSize = noRepeatNgramSize }
        if let repetitionPenalty { s.repetitionPenalty = repetitionPenalty }
        return s
    }
}

/// Everything that decides a deterministic search: width, limits, scoring and the processors that
/// shape each step. A directory's `generation_config.json` gives its defaults; flags override them.
public struct SearchSettings: Sendable, Equatable {
    /// The widest beam accepted; wider searches cost memory for no gain.
    public static let maxBeamSize = 256
    /// 1 is greedy search.
    public var beamSize: Int
    /// The most tokens generated per sentence, EOS included.
    public var maxNewTokens: Int
    /// Final scores are Σ log p / length^α.
    public var lengthPenalty: Float
    /// When a beam search ends.
    public var earlyStopping: EarlyStopping
    /// Token sequences never generated (transformers' `bad_words_ids`).
    public var badWords: [[Int]]
    /// Whether the last allowed step is EOS (transformers' `forced_eos_token_id`).
    public var forceEOSAtLimit: Bool
    /// Never repeat an n-gram of this length (0 = off).
    public var noRepeatNGramSize: Int
    /// transformers' `repetition_penalty` (1 = off).
    public var repetitionPenalty: Float

    /// Settings; the defaults are transformers' except the length limit, which its default of 20 would cut short.
    public init(beamSize: Int = 1, maxNewTokens: Int = 128, lengthPenalty: Float = 1, earlyStopping: EarlyStopping = .heuristic,
                badWords: [[Int]] = [], forceEOSAtLimit: Bool = false, noRepeatNGramSize: Int = 0, repetitionPenalty: Float = 1) {
        self.beamSize = beamSize
        self.maxNewTokens = maxNewTokens
        self.lengthPenalty = lengthPenalty
        self.earlyStopping = earlyStopping
        self.badWords = badWords
        self.forceEOSAtLimit = forceEOSAtLimit
        self.noRepeatNGramSize = noRepeatNGramSize
        self.repetitionPenalty = repetitionPenalty
    }

    /// The processors these settings make, in transformers' order; the inactive ones left out.
    public var processors: [any LogitProcessor] {
        var chain: [any LogitProcessor] = []
        if repetitionPenalty != 1 { chain.append(RepetitionPenalty(repetitionPenalty)) }
        if noRepeatNGramSize > 0 { chain.append(NoRepeatNGram(size: noRepeatNGramSize)) }
        let sequences = badWords.filter { $0.count > 1 }
        if !sequences.isEmpty { chain.append(BadWordSequences(sequences)) }
        return chain
    }

    /// The single-token bad words, banned at every step.
    public var bannedTokens: [Int] { badWords.filter { $0.count == 1 }.map { $0[0] } }
}
