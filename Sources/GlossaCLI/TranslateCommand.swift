import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins
import GlossaSentencePiece
import GlossaTensor

/// Decoding flags shared by `translate` and `eval`.
struct DecodingOptions: ParsableArguments {
    @Option(help: "Model directory (default: the shipped en-de model, or $GLOSSA_MODEL).")
    var model: String?

    @Option(help: "Beam size; 1 is greedy search.")
    var beamSize: Int = 4

    @Option(help: "Length penalty α: scores are Σ log p / length^α.")
    var lengthPenalty: Float = 1

    @Option(help: "Sentences decoded together (sorted by length, output in input order).")
    var batchSize: Int = 32

    @Option(help: "Most tokens generated per sentence.")
    var maxLength: Int = 128

    @Option(help: "Sample instead of searching, at this softmax temperature (0 = greedy).")
    var temperature: Float?

    @Option(help: "When sampling, draw only from the k most likely tokens.")
    var topK: Int = 0

    @Option(help: "When sampling, draw only from the smallest set of tokens whose probability reaches p.")
    var topP: Float = 1

    @Option(help: "Seed of the sampler, so that a sampled run repeats.")
    var seed: UInt64 = 0

    func validate() throws {
        if let temperature, temperature < 0 { throw ValidationError("--temperature must not be negative") }
        if topK < 0 { throw ValidationError("--top-k must not be negative") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if beamSize < 1 { throw ValidationError("--beam-size must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if maxLength < 1 { throw ValidationError("--max-length must be at least 1") }
    }

    func loadTranslator() throws -> Translator {
        try Translator.load(try ModelLocator.resolve(model), registry: Registry.current)
    }

    func translate(_ translator: Translator, _ lines: [String], nBest: Int = 1) throws -> [[GeneratedText]] {
        if let temperature {
            return try translator.translate(lines, sampler: StochasticSampler(temperature: temperature, topK: topK, topP: topP, seed: seed),
                                            batchSize: batchSize, maxNewTokens: maxLength, lengthPenalty: lengthPenalty, nBest: 1)
        }
        if beamSize == 1 {
            return try translator.translate(lines, sampler: GreedySampler(), batchSize: batchSize, maxNewTokens: maxLength,
                                            lengthPenalty: lengthPenalty, nBest: 1)
        }
        return try translator.translate(lines, sampler: BeamSampler(beamSize: beamSize), batchSize: batchSize,
                                        maxNewTokens: maxLength, lengthPenalty: lengthPenalty, nBest: nBest)
    }
}

/// `glossa translate [TEXT ...]`: translates arguments, or standard input line by line.
struct TranslateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate", abstract: "Translate text (arguments, or standard input one line at a time).",
        discussion: """
            Each input line gives exactly one output line, written as soon as its batch is done; an empty \
            line gives an empty line. Lines are batched only when more input is already waiting, so \
            interactive use answers line by line.
            """)

    @Argument(help: "Sentences to translate; standard input when none.")
    var text: [String] = []

    @OptionGroup var decoding: DecodingOptions

    @Option(help: "Print the N best translations of each line as `i ||| text ||| score`.")
    var nBest: Int?

    @Flag(help: "Replace invalid UTF-8 with U+FFFD instead of stopping with an error.")
    var replaceInvalid = false

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if let nBest, nBest < 1 || nBest > decoding.beamSize {
            throw ValidationError("--n-best must be between 1 and --beam-size (\(decoding.beamSize))")
        }
    }

    func run() throws {
        threads.apply()
        let translator = try decoding.loadTranslator()
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
            if pending.count >= decoding.batchSize {
                try emit(pending)
                pending = []
            }
        }
        if !pending.isEmpty { try emit(pending) }
    }
}
