import ArgumentParser
import Foundation
import Glossa
import GlossaNN
import GlossaTensor

extension AlignCommand {
    /// `glossa align eval`: greedy responses to prompts, scored by a reward.
    struct Evaluate: PluginCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval", abstract: "Score a decoder-only model's greedy responses with a reward (chrF or arithmetic).",
            discussion: """
                Prompts come from --data ({prompt, reference} JSONL) or from --source/--references through the \
                translation prompt. Prints the mean reward and its parts; with the chrF reward also corpus chrF and BLEU, \
                the numbers `glossa eval` gives for a translator on the same test set.
                """)

        enum RewardName: String, ExpressibleByArgument, CaseIterable { case chrf, arithmetic }

        @Option(help: "The decoder-only model directory.") var model: String
        @Option(help: "{prompt, reference} JSONL.") var data: String?
        @Option(help: "Source sentences (instead of --data).") var source: String?
        @Option(help: "Reference translations, aligned with --source.") var references: String?
        @Option(help: "The target language's English name in the prompt.") var language = "German"
        @Option(help: "Use only the first N examples.") var limit: Int?
        @Option(help: "chrf or arithmetic.") var reward: RewardName = .chrf
        @Option(help: "The longest response.") var maxNewTokens = 64
        @Option(help: "Write the responses to this file, one per line.") var output: String?
        @Flag(help: "Print the scores as JSON.") var json = false
        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            try FlagBounds.check(limit, FlagBounds.limit, "--limit")
            try FlagBounds.check(maxNewTokens, FlagBounds.newTokens, "--max-new-tokens")
        }

        func examples() throws -> [PromptReference] {
            var out: [PromptReference]
            if let data {
                out = try JSONLines.read(PromptReference.self, from: data)
            } else if let source, let references {
                let s = try InputFile.lines(source), r = try InputFile.lines(references)
                guard s.count == r.count else {
                    throw CommandError(description: "\(source) has \(s.count) lines but \(references) has \(r.count); they must be aligned line by line")
                }
                out = zip(s, r).map { PromptReference(prompt: TranslationPrompt.prompt($0, language: language), reference: $1) }
            } else {
                throw ValidationError("give --data, or --source and --references")
            }
            if let limit { out = Array(out.prefix(limit)) }
            return out
        }

        func run(plugins: PluginRegistry) throws {
            threads.apply()
            let outputFile = try output.map { try OutputSink(path: $0, inputs: [data, source, references]) }
            let lm = try AlignCommand.loadModel(model, plugins: plugins)
            let examples = try examples()
            let started = Date()
            let outputs = try withoutGrad {
                try ResponseGeneration.greedyTexts(lm.model, tokenizer: lm.tokenizer, prompts: examples.map(\.prompt), maxNewTokens: maxNewTokens)
            }
            let seconds = Date().timeIntervalSince(started)
            if let outputFile {
                try outputFile.write(Data((outputs.joined(separator: "\n") + "\n").utf8))
                try outputFile.close()
            }
            let chosen: any ReferenceReward = reward == .chrf ? ChrFReward() : ArithmeticReward()
            var scores = chosen.summary(outputs: outputs, references: examples.map(\.reference))
            if reward == .chrf {
                let corpus = try TestSet(sources: examples.map(\.prompt), references: examples.map(\.reference)).score(outputs).all
                scores["corpus_chrf"] = corpus.chrF
                scores["corpus_bleu"] = corpus.bleu
            }
            scores["examples"] = Double(examples.count)
            scores["seconds"] = seconds
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(scores), as: UTF8.self))
            } else {
                print("model: \(model)  reward \(chosen.name)  \(examples.count) examples  greedy")
                for (k, v) in scores.sorted(by: { $0.key < $1.key }) { print(k.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%.4f", v)) }
            }
        }
    }

    /// `glossa align preference`: held-out preference accuracy of a policy against its reference.
    struct Preference: PluginCommand {
        static let configuration = CommandConfiguration(
            commandName: "preference", abstract: "DPO loss and preference accuracy of a model on {prompt, chosen, rejected} JSONL.")

        @Option(help: "The policy model directory.") var model: String
        @Option(help: "The reference model directory (the DPO starting point).") var reference: String
        @Option(help: "Preference pairs.") var data: String
        @Option(help: "DPO β.") var beta: Float = 0.1
        @Flag(help: "Print the scores as JSON.") var json = false
        @OptionGroup var threads: ThreadOptions

        func validate() throws { try FlagBounds.check(finite: beta, 0.000_001...1000, "--beta") }

        func run(plugins: PluginRegistry) throws {
            threads.apply()
            let policy = try AlignCommand.loadModel(model, plugins: plugins), ref = try AlignCommand.loadModel(reference, plugins: plugins)
            try checkSharedVocabulary(policy: policy.model, reference: ref.model, referencePath: reference)
            let pairs = try TokenizedPair.tokenize(try JSONLines.read(PreferencePair.self, from: data), with: policy.tokenizer)
            let objective = try DirectPreferenceObjective(train: [], dev: pairs, reference: ref.model, beta: beta, maxTokens: 4096, maxLength: 1024)
            let scores = try withoutGrad { try objective.validate(model: policy.model) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(scores), as: UTF8.self))
            } else {
                print("model: \(model)  reference \(reference)  \(pairs.count) pairs  beta \(beta)")
                for (k, v) in scores.sorted(by: { $0.key < $1.key }) { print(k.padding(toLength: 16, withPad: " ", startingAt: 0) + String(format: "%.4f", v)) }
            }
        }
    }
}
