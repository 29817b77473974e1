import ArgumentParser
import Foundation
import Glossa
import GlossaNN
import GlossaTensor

extension AlignCommand {
    /// `glossa align score`: a reward model's score of responses, or its pairwise accuracy on rankings.
    struct Score: PluginCommand {
        static let configuration = CommandConfiguration(
            commandName: "score", abstract: "Score responses with a reward model, or measure its pairwise accuracy on rankings.",
            discussion: """
                Reads {prompt, response} JSON Lines from --data, or from standard input when neither --data nor --rankings \
                is given, and prints one reward per input line. With --rankings (files written by `glossa align rank`) it \
                prints instead the Bradley–Terry loss and the pairwise accuracy: the fraction of response pairs a ranking \
                puts in order whose better response gets the higher reward (ties are not counted).
                """)

        @Option(help: "The reward model directory (trained with \"objective\": \"reward\").") var rewardModel: String
        @Option(help: "{prompt, response} JSON Lines to score.") var data: String?
        @Option(help: "Rankings files to measure pairwise accuracy on.") var rankings: [String] = []
        @Option(help: "Rows per batch.") var batchSize = 64
        @Flag(help: "Print the rankings' scores as JSON.") var json = false
        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            try FlagBounds.check(batchSize, FlagBounds.batchSize, "--batch-size")
            try FlagBounds.requireDirectory(rewardModel, "--reward-model")
            if data != nil && !rankings.isEmpty { throw ValidationError("give --data or --rankings, not both") }
        }

        func run(plugins: PluginRegistry) throws {
            threads.apply()
            let model = try RewardModel.load(try ModelLocator.checked(URL(fileURLWithPath: rewardModel)), registry: plugins)
            if !rankings.isEmpty {
                let records = try rankings.flatMap { try RankingRecord.read($0) }
                let scores = try RewardModelObjective.evaluate(try TokenizedRanking.tokenize(records, with: model), model: model)
                guard !scores.isEmpty else { throw CommandError(description: "the rankings hold no ranking of two or more responses") }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    print(String(decoding: try encoder.encode(scores), as: UTF8.self))
                } else {
                    print("reward model: \(rewardModel)  \(records.count) records")
                    for (k, v) in scores.sorted(by: { $0.key < $1.key }) { print(k.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "%.4f", v)) }
                }
                return
            }
            let decoder = JSONDecoder()
            var pending: [PromptResponse] = [], number = 0
            func flush() throws {
                guard !pending.isEmpty else { return }
                let values = try model.score(prompts: pending.map(\.prompt), responses: pending.map(\.response), batchSize: batchSize)
                try FileHandle.standardOutput.write(contentsOf: Data(values.map { String(format: "%.6f\n", $0) }.joined().utf8))
                pending = []
            }
            func take(_ line: String) throws {
                number += 1
                guard !line.allSatisfy(\.isWhitespace) else {
                    throw CommandError(description: "line \(number): empty; each line must be a {prompt, response} JSON object")
                }
                guard let example = try? decoder.decode(PromptResponse.self, from: Data(line.utf8)) else {
                    throw CommandError(description: "\(data ?? "standard input"):\(number): not a {\"prompt\", \"response\"} JSON object")
                }
                pending.append(example)
                if pending.count >= batchSize { try flush() }
            }
            if let data {
                for line in try InputFile.lines(data, purpose: "the responses to score") { try take(line) }
            } else {
                while let line = readLine(strippingNewline: true) { try take(line) }
            }
            try flush()
        }
    }
}
