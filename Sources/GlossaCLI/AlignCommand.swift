import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor

/// `glossa align`: the data and measurements of the fine-tuning ladder SFT → DPO → GRPO.
struct AlignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "align", abstract: "Build fine-tuning data (SFT, DPO, GRPO, rankings), score decoder-only models on it, and score with reward models.",
        discussion: "Training itself is `glossa train --recipe` with \"objective\": \"sft\", \"dpo\" or \"grpo\"; see docs/alignment.md.",
        subcommands: [SFTData.self, ArithmeticData.self, PreferenceData.self, Evaluate.self, Preference.self, Rank.self, Score.self, Plot.self])

    /// Writes JSON Lines to `path` under the output rule (`OutputSink`), refusing it when it is one of `inputs`.
    static func write<T: Encodable>(_ records: [T], to path: String, inputs: [String?] = []) throws {
        try OutputSink.refuseInput(path, inputs: inputs)
        let url = URL(fileURLWithPath: path)
        if path != "-" { try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true) }
        let sink = try OutputSink(path: path, inputs: inputs)
        try sink.write(try JSONLines.encode(records))
        try sink.close()
        log("wrote \(records.count) records to \(path)")
    }

    static func log(_ line: String) { StandardStreams.writeError((line + "\n")) }

    /// Loads a decoder-only model directory.
    static func loadModel(_ path: String, plugins: PluginRegistry) throws -> LanguageModel {
        try LanguageModel.load(try ModelLocator.checked(URL(fileURLWithPath: path)), registry: plugins)
    }
}

extension AlignCommand {
    /// `glossa align sft-data`: `Translate to German: <en>` → `<de>` examples from aligned files.
    struct SFTData: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sft-data", abstract: "Write {prompt, response} JSONL from aligned source and target files.")

        @Option(help: "Source sentences, one per line.") var source: String
        @Option(help: "Target sentences, aligned with --source.") var target: String
        @Option(help: "The target language's English name in the prompt.") var language = "German"
        @Option(help: "Keep only the first N examples.") var limit: Int?
        @Option(help: "The JSONL file to write.") var output: String

        func validate() throws { try FlagBounds.check(limit, FlagBounds.limit, "--limit") }

        func run() throws {
            try OutputSink.refuseInput(output, inputs: [source, target])
            var examples = try TranslationPrompt.examples(sources: try InputFile.lines(source),
                                                          targets: try InputFile.lines(target), language: language)
            if let limit { examples = Array(examples.prefix(limit)) }
            try AlignCommand.write(examples, to: output, inputs: [source, target])
        }
    }

    /// `glossa align arithmetic-data`: seeded `What is a + b?` problems.
    struct ArithmeticData: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "arithmetic-data", abstract: "Write seeded arithmetic problems as SFT or GRPO JSONL.",
            discussion: """
                --kind sft writes {prompt, response} with the answer as <answer>N</answer> (a fraction \
                --untagged-fraction answered with the bare number, so the format reward has something to teach); \
                --kind prompts writes {prompt, reference} for GRPO and evaluation. --held-out draws from the \
                tenth of operand pairs that training never sees.
                """)

        enum Kind: String, ExpressibleByArgument, CaseIterable { case sft, prompts }

        @Option(help: "How many problems.") var count: Int
        @Option(help: "Seed of the draw.") var seed: UInt64 = 1
        @Option(help: "Operands are drawn from 0...N.") var maxOperand = 99
        @Option(help: "sft or prompts.") var kind: Kind = .prompts
        @Option(help: "For --kind sft: the fraction of responses without the answer tags.") var untaggedFraction = 0.0
        @Flag(help: "Draw from the held-out operand pairs.") var heldOut = false
        @Option(help: "The JSONL file to write.") var output: String
        @Option(help: "Also write each prompt and tagged answer as a line of text (to train a tokenizer on).") var textOutput: String?

        func validate() throws {
            try FlagBounds.check(count, FlagBounds.count, "--count")
            try FlagBounds.check(maxOperand, 1...1_000_000_000, "--max-operand")
            try FlagBounds.check(finite: untaggedFraction, 0...1, "--untagged-fraction")
        }

        func run() throws {
            let problems = try ArithmeticTask(maxOperand: maxOperand).problems(count: count, seed: seed, heldOut: heldOut)
            if let textOutput {
                if FileIdentity(path: textOutput).map({ $0 == FileIdentity(path: output) }) ?? (textOutput == output) {
                    throw ValidationError("--text-output and --output must be different files")
                }
                let text = problems.map { $0.prompt + " " + ArithmeticTask.formatted($0.answer) + "\n" }.joined()
                let sink = try OutputSink(path: textOutput)
                try sink.write(Data(text.utf8))
                try sink.close()
            }
            switch kind {
            case .prompts:
                try AlignCommand.write(problems.map { PromptReference(prompt: $0.prompt, reference: $0.answer) }, to: output)
            case .sft:
                var rng = SeededGenerator(seed: seed &+ 99)
                let examples = problems.map { p in
                    PromptResponse(prompt: p.prompt,
                                   response: Double(rng.nextUnitFloat()) < untaggedFraction ? p.answer : ArithmeticTask.formatted(p.answer))
                }
                try AlignCommand.write(examples, to: output)
            }
        }
    }

    /// `glossa align dpo-data`: samples per prompt from a model; the best and the worst by chrF against the reference make a pair.
    struct PreferenceData: PluginCommand {
        static let configuration = CommandConfiguration(
            commandName: "dpo-data", abstract: "Write {prompt, chosen, rejected} JSONL: samples per source ranked by chrF.",
            discussion: """
            Each source is sampled --samples times (one batch); the sample with the highest sentence chrF is chosen, \
            the one with the lowest rejected. With --length-tolerance t, the rejected sample is the lowest-scoring one \
            whose length in characters is within a fraction t of the chosen one's, so that pairs differ in what they \
            say rather than in length (chrF favours recall, so unmatched pairs teach DPO that longer is better). \
            --balance-lengths also alternates which side may be longer (the rejected sample is at least as long as the \
            chosen one for even-numbered sources, at most as long for odd ones), so that length predicts no preference. \
            Sources without such a pair give none.
            """)

        @Option(help: "The decoder-only model (the SFT model) to sample from.") var model: String
        @Option(help: "Source sentences, one per line.") var source: String
        @Option(help: "Reference translations, aligned with --source.") var references: String
        @Option(help: "The target language's English name in the prompt.") var language = "German"
        @Option(help: "Use only the first N sources.") var limit: Int?
        @Option(help: "Sampling temperature.") var temperature: Float = 1
        @Option(help: "Seed of the samples.") var seed: UInt64 = 1
        @Option(help: "Samples per source (at least 2).") var samples = 2
        @Option(help: "Pair only samples whose lengths differ by at most this fraction of the chosen one's.") var lengthTolerance: Double?
        @Flag(help: "Alternate which side of a pair may be longer, source by source.") var balanceLengths = false
        @Option(help: "The longest sample.") var maxNewTokens = 64
        @Option(help: "The JSONL file to write.") var output: String
        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            try FlagBounds.check(samples, 2...FlagBounds.samples.upperBound, "--samples")
            try FlagBounds.check(finite: lengthTolerance, 0...1_000_000, "--length-tolerance")
            try FlagBounds.check(limit, FlagBounds.limit, "--limit")
            try FlagBounds.check(finite: temperature, 0...1000, "--temperature")
            try FlagBounds.check(maxNewTokens, FlagBounds.newTokens, "--max-new-tokens")
        }

        func run(plugins: PluginRegistry) throws {
            threads.apply()
            try OutputSink.refuseInput(output, inputs: [source, references])
            let lm = try AlignCommand.loadModel(model, plugins: plugins)
            var sources = try InputFile.lines(source), refs = try InputFile.lines(references)
            guard sources.count == refs.count else {
                throw CommandError(description: "\(source) has \(sources.count) lines but \(references) has \(refs.count); they must be aligned line by line")
            }
            if let limit { sources = Array(sources.prefix(limit)); refs = Array(refs.prefix(limit)) }
            // All samples are drawn as one batch: bound its rows before any memory is spent on them.
            guard sources.count * samples <= 100_000 else {
                throw CommandError(description: "\(sources.count) sources × \(samples) samples is \(sources.count * samples) rows in one batch, "
                                   + "more than 100000; pass --limit or fewer --samples")
            }
            let prompts = sources.map { TranslationPrompt.prompt($0, language: language) }
            let started = Date()
            let pairs = try PreferenceMining(lengthTolerance: lengthTolerance, balanceLengths: balanceLengths)
                .mine(lm, prompts: prompts, references: refs, samplesPerPrompt: samples, temperature: temperature, seed: seed, maxNewTokens: maxNewTokens)
            AlignCommand.log(String(format: "%d of %d prompts gave a pair (%.1f s)", pairs.count, prompts.count, Date().timeIntervalSince(started)))
            try AlignCommand.write(pairs, to: output, inputs: [source, references])
        }
    }
}
