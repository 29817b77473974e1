import ArgumentParser
import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// `glossa eval`: translates a test set, scores it, and reports decoding speed.
struct EvalCommand: ParsableCommand {
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

    /// The scores of a subset of lines.
    struct Scores: Codable {
        var lines: Int
        var bleu: Double
        var chrF: Double
    }

    /// Everything `eval` measures.
    struct Report: Codable {
        var model: String
        var beamSize: Int
        var batchSize: Int
        var threads: Int
        var all: Scores
        var byOrigin: [String: Scores]
        var seconds: Double
        var sentencesPerSecond: Double
        var generatedTokensPerSecond: Double
        var bleuSignature: String
    }

    func run() throws {
        threads.apply()
        let outputFile = try output.map { try OutputSink(path: $0, inputs: [source, references, origin]) }
        let sources = try InputFile.lines(source), refs = try InputFile.lines(references)
        guard sources.count == refs.count else {
            throw CommandError(description: "\(source) has \(sources.count) lines but \(references) has \(refs.count); they must have one line per segment each")
        }
        let origins = try origin.map { try InputFile.lines($0) }
        if let origins, origins.count != sources.count {
            throw CommandError(description: "\(origin ?? "") has \(origins.count) lines, not \(sources.count) as \(source) has")
        }
        let modelURL = try ModelLocator.resolve(decoding.model)
        let translator = try decoding.loadTranslator()
        let start = Date()
        let hypotheses = try decoding.translate(translator, sources).map { $0.first?.text ?? "" }
        let seconds = Date().timeIntervalSince(start)
        let generated = try hypotheses.reduce(0) { $0 + (try translator.targetTokenizer.encode($1)).count + 1 }
        if let outputFile {
            try outputFile.write(Data((hypotheses.joined(separator: "\n") + "\n").utf8))
            try outputFile.close()
        }

        func score(_ indices: [Int]) throws -> Scores {
            let h = indices.map { hypotheses[$0] }, r = indices.map { refs[$0] }
            return Scores(lines: indices.count, bleu: try BLEU().corpusScore(hypotheses: h, references: r).score,
                          chrF: try ChrF().corpusScore(hypotheses: h, references: r).score)
        }
        var byOrigin: [String: Scores] = [:]
        if let origins {
            for name in Set(origins) { byOrigin[name] = try score(origins.indices.filter { origins[$0] == name }) }
        }
        let report = Report(model: modelURL.path, beamSize: decoding.search(for: translator).beamSize, batchSize: decoding.batchSize, threads: Threads.count,
                            all: try score(Array(sources.indices)), byOrigin: byOrigin, seconds: seconds,
                            sentencesPerSecond: Double(sources.count) / seconds, generatedTokensPerSecond: Double(generated) / seconds,
                            bleuSignature: "BLEU tok:13a, chrF nc:6 nw:0 beta 2 (sacreBLEU defaults)")
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("model: \(report.model)  beam \(report.beamSize)  batch \(report.batchSize)  threads \(report.threads)")
        print(String(format: "all      %5d lines  BLEU %6.2f  chrF %6.2f", report.all.lines, report.all.bleu, report.all.chrF))
        for (name, s) in byOrigin.sorted(by: { $0.key < $1.key }) {
            print(name.padding(toLength: max(8, name.count), withPad: " ", startingAt: 0)
                  + String(format: " %5d lines  BLEU %6.2f  chrF %6.2f", s.lines, s.bleu, s.chrF))
        }
        print(String(format: "speed    %.1f s  %.1f sentences/s  %.0f generated tokens/s", seconds, report.sentencesPerSecond,
                     report.generatedTokensPerSecond))
    }
}
