import Foundation
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor

/// How every run's test translations are made and scored; a stored evaluation is reused only under the same settings.
struct EvaluationSettings: Codable, Equatable {
    var beamSize: Int
    var batchSize: Int
    var maxLength: Int
    var lengthPenalty: Float
    /// Only the first this many test lines, when set.
    var testLines: Int?
    var threads: Int
}

/// The test set of a comparison, with each line's origin group and source length bucket.
struct CompareTestSet {
    var sources: [String]
    var references: [String]
    /// Each line's origin, cut at the first ":" so that `bible:Gen.1.1` counts as `bible`.
    var origins: [String]?

    /// Source length buckets in words (whitespace-separated), since attention's advantage grows with length.
    static let buckets: [(label: String, range: ClosedRange<Int>)] = [
        ("1–10", 1...10), ("11–20", 11...20), ("21–40", 21...40), ("41+", 41...Int.max),
    ]

    /// Reads the recipe's test files, keeping the first `limit` lines when given.
    static func load(_ files: ParallelFiles, limit: Int?) throws -> CompareTestSet {
        var sources = try InputFile.lines(files.source), references = try InputFile.lines(files.target)
        guard sources.count == references.count else {
            throw CommandError(description: "\(files.source) has \(sources.count) lines but \(files.target) has \(references.count)")
        }
        var origins = try files.origin.map { try InputFile.lines($0) }
        if let o = origins, o.count != sources.count {
            throw CommandError(description: "\(files.origin ?? "") has \(o.count) lines, not \(sources.count)")
        }
        if let limit {
            sources = Array(sources.prefix(limit))
            references = Array(references.prefix(limit))
            origins = origins.map { Array($0.prefix(limit)) }
        }
        return CompareTestSet(sources: sources, references: references,
                              origins: origins?.map { String($0.split(separator: ":", maxSplits: 1).first ?? "") })
    }

    /// The bucket label of a source line.
    static func bucket(_ line: String) -> String {
        let words = line.split(whereSeparator: \.isWhitespace).count
        return buckets.first { $0.range.contains(words) }?.label ?? buckets[0].label
    }
}

/// Scores and speed of one decoding of the test set.
struct DecodingResult: Codable {
    var all: EvalCommand.Scores
    var byOrigin: [String: EvalCommand.Scores]
    /// Keyed by `CompareTestSet.buckets` labels; empty buckets are left out.
    var byLength: [String: EvalCommand.Scores]
    var seconds: Double
    var sentencesPerSecond: Double
    var generatedTokensPerSecond: Double
}

/// Everything measured on one trained run after training.
struct RunEvaluation: Codable {
    var settings: EvaluationSettings
    var parameters: Int
    var greedy: DecodingResult
    var beam: DecodingResult
}

enum CompareEvaluator {
    /// Loads the run's model directory and translates the test set greedily and with beam search.
    static func evaluate(_ run: CompareRun, test: CompareTestSet, settings: EvaluationSettings, log: (String) -> Void) throws -> RunEvaluation {
        let translator = try Translator.load(run.directory, registry: Registry.current)
        func decode(_ beam: Int) throws -> DecodingResult {
            let start = Date()
            let outputs: [[GeneratedText]]
            if beam == 1 {
                outputs = try translator.translate(test.sources, sampler: GreedySampler(), batchSize: settings.batchSize,
                                                   maxNewTokens: settings.maxLength, lengthPenalty: settings.lengthPenalty, nBest: 1)
            } else {
                outputs = try translator.translate(test.sources, sampler: BeamSampler(beamSize: beam), batchSize: settings.batchSize,
                                                   maxNewTokens: settings.maxLength, lengthPenalty: settings.lengthPenalty, nBest: 1)
            }
            let seconds = Date().timeIntervalSince(start)
            let hypotheses = outputs.map { $0.first?.text ?? "" }
            let generated = try hypotheses.reduce(0) { $0 + (try translator.targetTokenizer.encode($1)).count + 1 }
            let result = try score(hypotheses, test: test, seconds: seconds, generated: generated)
            log(String(format: "%@: %@ on %d test lines: BLEU %.2f  chrF %.2f  %.1f sentences/s", run.name,
                       beam == 1 ? "greedy" : "beam \(beam)", test.sources.count, result.all.bleu, result.all.chrF, result.sentencesPerSecond))
            return result
        }
        return RunEvaluation(settings: settings, parameters: translator.model.parameterCount,
                             greedy: try decode(1), beam: try decode(settings.beamSize))
    }

    /// Corpus BLEU and chrF over all lines, each origin group and each length bucket.
    static func score(_ hypotheses: [String], test: CompareTestSet, seconds: Double, generated: Int) throws -> DecodingResult {
        func scores(_ indices: [Int]) throws -> EvalCommand.Scores {
            let h = indices.map { hypotheses[$0] }, r = indices.map { test.references[$0] }
            return EvalCommand.Scores(lines: indices.count, bleu: try BLEU().corpusScore(hypotheses: h, references: r).score,
                                      chrF: try ChrF().corpusScore(hypotheses: h, references: r).score)
        }
        var byOrigin: [String: EvalCommand.Scores] = [:]
        if let origins = test.origins {
            for name in Set(origins) { byOrigin[name] = try scores(origins.indices.filter { origins[$0] == name }) }
        }
        let buckets = test.sources.map(CompareTestSet.bucket)
        var byLength: [String: EvalCommand.Scores] = [:]
        for (label, _) in CompareTestSet.buckets {
            let indices = buckets.indices.filter { buckets[$0] == label }
            if !indices.isEmpty { byLength[label] = try scores(indices) }
        }
        let time = Swift.max(seconds, 1e-9)
        return DecodingResult(all: try scores(Array(hypotheses.indices)), byOrigin: byOrigin, byLength: byLength, seconds: seconds,
                              sentencesPerSecond: Double(hypotheses.count) / time, generatedTokensPerSecond: Double(generated) / time)
    }
}
