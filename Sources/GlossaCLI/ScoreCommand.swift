import ArgumentParser
import Foundation
import Glossa
import GlossaNN

/// `glossa score`: corpus BLEU and chrF of a system output, with sacreBLEU's default settings.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score translations with BLEU and chrF (sacreBLEU 2.x defaults).",
        discussion: """
            Both files hold one segment per line, UTF-8, matched by line number. BLEU uses the 13a \
            tokenizer, n-grams up to 4 and exp smoothing; chrF uses character 6-grams and beta 2.
            """)

    @Option(name: .long, help: "The system output, one hypothesis per line.")
    var hypotheses: String

    @Option(name: .long, help: "The references, one per line, aligned with the hypotheses.")
    var references: String

    @Flag(name: .long, help: "Print the scores and BLEU's details as JSON.")
    var json = false

    func run() throws {
        let hypothesisLines = try InputFile.lines(hypotheses, purpose: "the hypotheses file")
        let referenceLines = try InputFile.lines(references, purpose: "the references file")
        guard hypothesisLines.count == referenceLines.count else {
            throw CommandError(description:
                "The hypotheses file '\(hypotheses)' has \(hypothesisLines.count) lines but the references file "
                    + "'\(references)' has \(referenceLines.count); they must have one line per segment each.")
        }
        let report = try ScoreReport(hypotheses: hypothesisLines, references: referenceLines)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.formatted)
        }
    }
}
