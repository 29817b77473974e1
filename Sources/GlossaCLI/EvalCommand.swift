import ArgumentParser
import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// `glossa eval`: translates a test set, scores it, and reports decoding speed.
struct EvalCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Translate a test set and report BLEU, chrF and decoding speed.")

    @OptionGroup var decoding: DecodingOptions

    @Option(help: "Source sentences, one per line.")
    var source: String

    @Option(help: "Reference translations, aligned with --source.")
    var references: String

    @Option(help: "Optional file naming each line's origin; scores are also given per origin.")
    var origin: String?

    @Option(help: "Write the translations to this file.")
    var output: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @OptionGroup var threads: ThreadOptions

    /// Everything `eval` measures.
    struct Report: Codable {
        var model: String
        var beamSize: Int
        var batchSize: Int
        var threads: Int
        var all: TestSetScores
        var byOrigin: [String: TestSetScores]
        var seconds: Double
        var sentencesPerSecond: Double
        var generatedTokensPerSecond: Double
        var bleuSignature: String
    }

    func run(plugins: PluginRegistry) throws {
        threads.apply()
        let outputFile = try output.map { try OutputSink(path: $0, inputs: [source, references, origin]) }
        let test = try TestSet.load(source: source, references: references, origins: origin)
        let modelURL = try ModelLocator.resolve(decoding.model)
        let translator = try decoding.loadTranslator(plugins: plugins)
        let evaluation = try test.evaluate(translator) { try decoding.translate(translator, $0) }
        if let outputFile {
            try outputFile.write(Data((evaluation.hypotheses.joined(separator: "\n") + "\n").utf8))
            try outputFile.close()
        }
        let result = evaluation.result
        let report = Report(model: modelURL.path, beamSize: decoding.search(for: translator).beamSize, batchSize: decoding.batchSize, threads: Threads.count,
                            all: result.all, byOrigin: result.byOrigin, seconds: result.seconds,
                            sentencesPerSecond: result.sentencesPerSecond, generatedTokensPerSecond: result.generatedTokensPerSecond,
                            bleuSignature: "BLEU tok:13a, chrF nc:6 nw:0 beta 2 (sacreBLEU defaults)")
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("model: \(report.model)  beam \(report.beamSize)  batch \(report.batchSize)  threads \(report.threads)")
        func line(_ s: TestSetScores) -> String {
            String(format: " %5d lines  BLEU %6.2f  chrF %6.2f  repeated %d  short %d", s.lines, s.bleu, s.chrF, s.repeated, s.short)
        }
        print("all     " + line(report.all))
        for (name, s) in report.byOrigin.sorted(by: { $0.key < $1.key }) {
            print(name.padding(toLength: max(8, name.count), withPad: " ", startingAt: 0) + line(s))
        }
        print("(repeated: outputs that repeat a word, mark or phrase back to back where the reference does not; "
              + "short: under 60% of the reference's tokens)")
        print(String(format: "speed    %.1f s  %.1f sentences/s  %.0f generated tokens/s", report.seconds, report.sentencesPerSecond,
                     report.generatedTokensPerSecond))
    }
}
