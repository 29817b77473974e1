import ArgumentParser
import Foundation
import Glossa
import GlossaNN
import GlossaTensor

extension AlignCommand {
    /// `glossa align eval`: greedy responses to prompts, scored by a reward (per task when the prompts have tasks).
    struct Evaluate: PluginCommand {
        static let configuration = CommandConfiguration(
            commandName: "eval", abstract: "Score a decoder-only model's greedy responses with a reward (chrF, exact match or arithmetic).",
            discussion: """
                Prompts come from --data ({prompt, reference} JSONL, with "task" for a multi-task set) or from \
                --source/--references through the translation prompt. Prints the mean reward and its parts; with the chrF \
                reward also corpus chrF and BLEU, the numbers `glossa eval` gives for a translator on the same test set. \
                Records with a "task" are scored per task, each by the reward --reward TASK=NAME gives it (else by the \
                plain --reward): the same scores the sft objective's validation writes, through the same SDK call \
                (GenerationCheck). --limit then counts per task.
                """)

        @Option(help: "The decoder-only model directory.") var model: String
        @Option(help: "{prompt, reference} JSONL (with \"task\" to score per task).") var data: String?
        @Option(help: "Source sentences (instead of --data).") var source: String?
        @Option(help: "Reference translations, aligned with --source.") var references: String?
        @Option(help: "The target language's English name in the prompt.") var language = "German"
        @Option(help: "Use only the first N examples (of each task).") var limit: Int?
        @Option(help: ArgumentHelp("chrf, exact or arithmetic; TASK=NAME gives one task its own reward (repeatable).", valueName: "reward"))
        var reward: [String] = []
        @Option(help: "The longest response.") var maxNewTokens = 64
        @Option(help: "Write the responses to this file, one per line.") var output: String?
        @Flag(help: "Print the scores as JSON.") var json = false
        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            try FlagBounds.check(limit, FlagBounds.limit, "--limit")
            try FlagBounds.check(maxNewTokens, FlagBounds.newTokens, "--max-new-tokens")
            _ = try rewards()
        }

        /// The plain reward (chrF unless given) and the per-task ones.
        func rewards() throws -> (default: any Reward, tasks: [String: any Reward]) {
            var plain: (any Reward)?, tasks: [String: any Reward] = [:]
            for value in reward {
                let parts = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let name = parts.last ?? ""
                guard Rewards.names.contains(name), parts.count == 1 || !parts[0].isEmpty else {
                    throw ValidationError("--reward \(value): give chrf, exact or arithmetic, or TASK=one of them")
                }
                let chosen = try Rewards.named(name)
                if parts.count == 2 {
                    guard tasks[parts[0]] == nil else { throw ValidationError("--reward names task \(parts[0]) twice") }
                    tasks[parts[0]] = chosen
                } else {
                    guard plain == nil else { throw ValidationError("--reward without a task is given twice") }
                    plain = chosen
                }
            }
            return (plain ?? ChrFReward(), tasks)
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
            if let limit { out = GenerationCheck.firstPerTask(out, limit: limit) }
            return out
        }

        func run(plugins: PluginRegistry) throws {
            threads.apply()
            let outputFile = try output.map { try OutputSink(path: $0, inputs: [data, source, references]) }
            let lm = try AlignCommand.loadModel(model, plugins: plugins)
            let examples = try examples(), chosen = try rewards()
            let present = Set(examples.compactMap(\.task))
            if let unknown = chosen.tasks.keys.sorted().first(where: { !present.contains($0) }) {
                throw CommandError(description: "--reward names task \(unknown), which no example has (tasks: \(present.sorted().joined(separator: ", ")))")
            }
            let check = GenerationCheck(examples: examples, reward: chosen.default, taskRewards: chosen.tasks, tokenizer: lm.tokenizer,
                                        maxNewTokens: maxNewTokens)
            let started = Date()
            let report = try check.evaluate(lm.model)
            let seconds = Date().timeIntervalSince(started)
            if let outputFile {
                try outputFile.write(Data((report.outputs.joined(separator: "\n") + "\n").utf8))
                try outputFile.close()
            }
            var scores = report.metrics
            scores["examples"] = Double(examples.count)
            scores["seconds"] = seconds
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(scores), as: UTF8.self))
            } else {
                let rewardNames = report.tasks.isEmpty ? chosen.default.name
                    : report.tasks.map { "\($0) \((chosen.tasks[$0] ?? chosen.default).name)" }.joined(separator: ", ")
                print("model: \(model)  reward \(rewardNames)  \(examples.count) examples  greedy")
                let width = Swift.max(12, (scores.keys.map(\.count).max() ?? 0) + 2)
                for (k, v) in scores.sorted(by: { $0.key < $1.key }) { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: "%.4f", v)) }
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
