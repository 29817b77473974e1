import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins
import GlossaSentencePiece
import GlossaTensor

/// transformers' three meanings of `early_stopping`, as a flag.
enum EarlyStoppingChoice: String, ExpressibleByArgument, CaseIterable {
    case `true`, `false`, never

    var value: EarlyStopping {
        switch self {
        case .true: .whenFull
        case .false: .heuristic
        case .never: .never
        }
    }
}

/// Decoding flags shared by `translate` and `eval`. Search flags left unset take the model
/// directory's `generation_config.json`, as transformers does.
struct DecodingOptions: ParsableArguments {
    @Option(help: "Model directory (default: the shipped en-de model, or $GLOSSA_MODEL).")
    var model: String?

    @Option(help: "Beam size; 1 is greedy search (default: the model's num_beams, else 4).")
    var beamSize: Int?

    @Option(help: "Length penalty α: scores are Σ log p / length^α (default: the model's, else 1).")
    var lengthPenalty: Float?

    @Option(help: "When beam search stops: true (once N hypotheses finished), false (transformers' heuristic), never (default: the model's, else false).")
    var earlyStopping: EarlyStoppingChoice?

    @Option(help: "Never repeat an n-gram of this length; 0 is off (default: the model's, else 0).")
    var noRepeatNgramSize: Int?

    @Option(help: "Penalise tokens already generated; 1 is off (default: the model's, else 1).")
    var repetitionPenalty: Float?

    @Option(help: "Sentences decoded together (sorted by length, output in input order).")
    var batchSize: Int = 32

    @Option(help: "Also cap each batch at this many source tokens, padding included (0 = no cap).")
    var batchTokens: Int = 0

    @Option(help: "Most tokens generated per sentence (default: the model's max_new_tokens or max_length, else 128).")
    var maxLength: Int?

    @Option(help: "Sample instead of searching, at this softmax temperature (0 = greedy).")
    var temperature: Float?

    @Option(help: "When sampling, draw only from the k most likely tokens.")
    var topK: Int = 0

    @Option(help: "When sampling, draw only from the smallest set of tokens whose probability reaches p.")
    var topP: Float = 1

    @Option(help: "Seed of the sampler, so that a sampled run repeats.")
    var seed: UInt64 = 0

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if let temperature, !(temperature >= 0 && temperature.isFinite) { throw ValidationError("--temperature must be a finite number ≥ 0") }
        try FlagBounds.check(topK, FlagBounds.topK, "--top-k")
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if let beamSize, !(1...SearchSettings.maxBeamSize).contains(beamSize) {
            throw ValidationError("--beam-size must be in 1...\(SearchSettings.maxBeamSize)")
        }
        if let lengthPenalty, !lengthPenalty.isFinite { throw ValidationError("--length-penalty must be a finite number") }
        if let noRepeatNgramSize, noRepeatNgramSize < 0 { throw ValidationError("--no-repeat-ngram-size must not be negative") }
        if let repetitionPenalty, !(repetitionPenalty > 0 && repetitionPenalty.isFinite) {
            throw ValidationError("--repetition-penalty must be a positive finite number")
        }
        if !(1...100_000).contains(batchSize) { throw ValidationError("--batch-size must be in 1...100000") }
        if !(0...10_000_000).contains(batchTokens) { throw ValidationError("--batch-tokens must be in 0...10000000") }
        if let maxLength, !(1...100_000).contains(maxLength) { throw ValidationError("--max-length must be in 1...100000") }
    }

    func loadTranslator(plugins: PluginRegistry) throws -> Translator {
        let directory = try ModelLocator.resolve(model)
        let translator = try Translator.load(directory, registry: plugins)
        try compute.prepare(translator.model, directory: directory)
        return translator
    }

    /// The directory's search settings with the flags given on top.
    func search(for translator: Translator) -> SearchSettings {
        var s = translator.defaultSearch()
        if let beamSize { s.beamSize = beamSize }
        if let lengthPenalty { s.lengthPenalty = lengthPenalty }
        if let earlyStopping { s.earlyStopping = earlyStopping.value }
        if let noRepeatNgramSize { s.noRepeatNGramSize = noRepeatNgramSize }
        if let repetitionPenalty { s.repetitionPenalty = repetitionPenalty }
        if let maxLength { s.maxNewTokens = maxLength }
        return s
    }

    func translate(_ translator: Translator, _ lines: [String], nBest: Int = 1) throws -> [[GeneratedText]] {
        let search = search(for: translator)
        if let temperature {
            let sampler = StochasticSampler(temperature: temperature, topK: topK, topP: topP, repetitionPenalty: search.repetitionPenalty,
                                            noRepeatNGramSize: search.noRepeatNGramSize, seed: seed)
            return try translator.translate(lines, sampler: sampler, batchSize: batchSize, batchTokens: batchTokens, maxNewTokens: search.maxNewTokens,
                                            lengthPenalty: search.lengthPenalty, nBest: 1, forceEOSAtLimit: search.forceEOSAtLimit,
                                            banned: search.bannedTokens)
        }
        return try translator.translate(lines, search: search, batchSize: batchSize, batchTokens: batchTokens, nBest: nBest)
    }
}

/// `glossa translate [TEXT ...]`: translates arguments, or standard input line by line.
struct TranslateCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate", abstract: "Translate text (arguments, or standard input one line at a time).",
        discussion: """
            Each input line gives exactly one output line, in input order; an empty line gives an empty \
            line. Lines already waiting are read ahead (up to --maxi-batch batches), sorted by length and \
            decoded in batches; when no more input is waiting, what has arrived is translated at once, so \
            interactive use answers line by line. Search settings not given as flags come from the model \
            directory's generation_config.json.
            """)

    @Argument(help: "Sentences to translate; standard input when none.")
    var text: [String] = []

    @OptionGroup var decoding: DecodingOptions

    @Option(help: "Print the N best translations of each line as `i ||| text ||| score`.")
    var nBest: Int?

    @Option(help: "Batches' worth of waiting lines read ahead, sorted by length and decoded together (Marian's maxi-batch); a line typed at a terminal is still answered at once.")
    var maxiBatch: Int = 100

    @Flag(help: "Replace invalid UTF-8 with U+FFFD instead of stopping with an error.")
    var replaceInvalid = false

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if let nBest, nBest < 1 || nBest > SearchSettings.maxBeamSize {
            throw ValidationError("--n-best must be in 1...\(SearchSettings.maxBeamSize)")
        }
        if nBest != nil && decoding.temperature != nil { throw ValidationError("--n-best needs a beam search, not sampling (--temperature)") }
        if !(1...10_000).contains(maxiBatch) { throw ValidationError("--maxi-batch must be in 1...10000") }
    }

    func run(plugins: PluginRegistry) throws {
        threads.apply()
        let translator = try decoding.loadTranslator(plugins: plugins)
        let beamSize = decoding.search(for: translator).beamSize
        if let nBest, nBest > beamSize { throw ValidationError("--n-best \(nBest) is more than the beam size \(beamSize)") }
        let writer = OutputWriter()
        var index = 0
        func emit(_ lines: [String]) throws {
            let results = try decoding.translate(translator, lines, nBest: nBest ?? 1)
            for result in results {
                if nBest != nil {
                    for candidate in result { writer.write(Array("\(index) ||| \(candidate.text) ||| \(candidate.score)\n".utf8)) }
                } else {
                    writer.write(Array(((result.first?.text ?? "") + "\n").utf8))
                }
                index += 1
            }
            try writer.flush()
        }
        if !text.isEmpty {
            try emit(text)
            return
        }
        let hygiene = TextHygiene(invalidUTF8: replaceInvalid ? .replace : .reject)
        let reader = LineReader()
        var pending: [String] = []
        while let line = try reader.next(beforeBlocking: {
            // About to wait for input: translate what has arrived so far.
            if !pending.isEmpty { try emit(pending); pending = [] }
        }) {
            do {
                pending.append(try hygiene.cleanLine(line, lineNumber: reader.lineNumber))
            } catch {
                try emit(pending)  // the lines before a bad one still get their translations
                throw error
            }
            // Lines already waiting are read ahead up to the window, so sorting by length fills batches well;
            // a line typed at a terminal is answered at once by the flush before blocking.
            if pending.count >= decoding.batchSize * maxiBatch {
                try emit(pending)
                pending = []
            }
        }
        if !pending.isEmpty { try emit(pending) }
    }
}
