import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins
import GlossaSentencePiece
import GlossaTensor

/// Sampling flags of `generate` (and `bench generate`).
struct SamplingOptions: ParsableArguments {
    @Option(help: "Softmax temperature; 0 is greedy search.")
    var temperature: Float = 1

    @Option(help: "Draw only from the k most likely tokens (0 = all).")
    var topK: Int = 0

    @Option(help: "Draw only from the smallest set of tokens whose probability reaches p (1 = all).")
    var topP: Float = 1

    @Option(help: "Draw only from tokens at least this fraction as likely as the most likely one (0 = all).")
    var minP: Float = 0

    @Option(help: "Penalise tokens already in the prompt or output (divide positive logits, multiply negative; 1 = off).")
    var repetitionPenalty: Float = 1

    @Option(help: "Never repeat an n-gram of this many tokens, prompt included (0 = off).")
    var noRepeatNgramSize: Int = 0

    @Option(help: "Seed of the draws, so that a run repeats.")
    var seed: UInt64 = 0

    func validate() throws {
        if !(temperature >= 0 && temperature.isFinite) { throw ValidationError("--temperature must be a number ≥ 0") }
        try FlagBounds.check(topK, FlagBounds.topK, "--top-k")
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if !(minP >= 0 && minP <= 1) { throw ValidationError("--min-p must be in [0, 1]") }
        if !(repetitionPenalty > 0 && repetitionPenalty.isFinite) { throw ValidationError("--repetition-penalty must be positive") }
        try FlagBounds.check(noRepeatNgramSize, 0...FlagBounds.newTokens.upperBound, "--no-repeat-ngram-size")
    }

    /// The sampler these flags describe.
    var sampler: StochasticSampler {
        StochasticSampler(temperature: temperature, topK: topK, topP: topP, minP: minP, repetitionPenalty: repetitionPenalty,
                          noRepeatNGramSize: noRepeatNgramSize, seed: seed)
    }
}

/// `glossa generate [PROMPT ...]`: continues prompts with a language model, streaming tokens.
struct GenerateCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Continue text with a language model (arguments, or standard input one line at a time).",
        discussion: """
            Each output is one line: the prompt followed by its continuation, written token by token as \
            the tokens are chosen. With --num-samples N each prompt gives N lines. An empty prompt \
            starts from nothing.
            """)

    @Argument(help: "Prompts to continue; standard input when none.")
    var prompts: [String] = []

    @Option(help: "Model directory (default: the shipped en-de-lm model, or $GLOSSA_MODEL).")
    var model: String?

    @Option(help: "Most tokens generated per output.")
    var maxNewTokens: Int = 64

    @Option(help: "Outputs per prompt.")
    var numSamples: Int = 1

    @OptionGroup var sampling: SamplingOptions

    @Flag(help: "Replace invalid UTF-8 with U+FFFD instead of stopping with an error.")
    var replaceInvalid = false

    @OptionGroup var threads: ThreadOptions

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        try FlagBounds.check(maxNewTokens, FlagBounds.newTokens, "--max-new-tokens")
        try FlagBounds.check(numSamples, FlagBounds.samples, "--num-samples")
    }

    func run(plugins: PluginRegistry) throws {
        threads.apply()
        let directory = try ModelLocator.resolve(model, name: "en-de-lm")
        let language = try LanguageModel.load(directory, registry: plugins)
        try compute.prepare(language.model, directory: directory)
        let writer = OutputWriter()
        var promptNumber = 0
        func emit(_ prompt: String) throws {
            promptNumber += 1
            try checkRoom(for: prompt, number: promptNumber, in: language)
            // A fresh sampler per prompt: each prompt's outputs depend on the seed alone.
            var sampler = sampling.sampler
            for _ in 0..<numSamples {
                writer.write(Array(prompt.utf8))
                try writer.flush()
                _ = try language.continuation(of: prompt, sampler: &sampler, maxNewTokens: maxNewTokens) { piece in
                    writer.write(Array(piece.utf8))
                    try writer.flush()
                }
                writer.write(byte: UInt8(ascii: "\n"))
                try writer.flush()
            }
        }
        if !prompts.isEmpty {
            for prompt in prompts { try emit(prompt) }
            return
        }
        let hygiene = TextHygiene(invalidUTF8: replaceInvalid ? .replace : .reject)
        let reader = LineReader()
        while let line = try reader.next() {
            try emit(try hygiene.cleanLine(line, lineNumber: reader.lineNumber))
        }
    }

    /// A prompt that leaves no position to generate in is an error, and one that leaves fewer than `--max-new-tokens`
    /// a warning, rather than an output that silently stops short (the generator stops at the model's last position).
    func checkRoom(for prompt: String, number: Int, in language: LanguageModel) throws {
        guard let positions = language.model.decoder.maxLength else { return }
        let used = 1 + (try language.tokenizer.encode(prompt)).count  // the start token, then the prompt
        if used >= positions {
            throw CommandError(description: "prompt \(number) takes \(used) of this model's \(positions) positions (start token included), "
                               + "leaving none to generate in; shorten it")
        }
        if used + maxNewTokens > positions {
            logError("warning: prompt \(number) leaves room for only \(positions - used) of the \(maxNewTokens) new tokens "
                     + "(the model has \(positions) positions)")
        }
    }
}
