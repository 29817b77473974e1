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

extension TestSet {
    /// The recipe's test files, keeping the first `limit` lines when given, with origins grouped (`bible:Gen.1.1` → `bible`).
    static func comparison(_ files: ParallelFiles, limit: Int?) throws -> TestSet {
        try TestSet.load(source: files.source, references: files.target, origins: files.origin, limit: limit).groupingOrigins()
    }
}

/// Everything measured on one trained run after training.
struct RunEvaluation: Codable {
    var settings: EvaluationSettings
    var parameters: Int
    var greedy: TestSetResult
    var beam: TestSetResult
}

enum CompareEvaluator {
    /// Loads the run's model directory and translates the test set greedily and with beam search.
    static func evaluate(_ run: CompareRun, test: TestSet, settings: EvaluationSettings, plugins: PluginRegistry, log: (String) -> Void) throws -> RunEvaluation {
        let translator = try Translator.load(run.directory, registry: plugins)
        func decode(_ beam: Int) throws -> TestSetResult {
            let search = SearchSettings(beamSize: beam, maxNewTokens: settings.maxLength, lengthPenalty: settings.lengthPenalty, forceEOSAtLimit: true)
            let result = try test.evaluate(translator, search: search, batchSize: settings.batchSize).result
            log(String(format: "%@: %@ on %d test lines: BLEU %.2f  chrF %.2f  %.1f sentences/s", run.name,
                       beam == 1 ? "greedy" : "beam \(beam)", test.sources.count, result.all.bleu, result.all.chrF, result.sentencesPerSecond))
            return result
        }
        return RunEvaluation(settings: settings, parameters: translator.model.parameterCount,
                             greedy: try decode(1), beam: try decode(settings.beamSize))
    }
}
