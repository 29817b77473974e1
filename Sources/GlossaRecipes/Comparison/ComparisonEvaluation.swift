import Foundation
import Glossa
import GlossaNN

/// How every run's test translations are made and scored; a stored evaluation is reused only under the same settings.
public struct ComparisonEvaluationSettings: Codable, Equatable, Sendable {
    /// Beam size of the beam-search decoding (the other one is greedy).
    public var beamSize: Int
    /// Test sentences decoded together.
    public var batchSize: Int
    /// Most tokens generated per test sentence.
    public var maxLength: Int
    /// Length penalty α of both decodings.
    public var lengthPenalty: Float
    /// Only the first this many test lines, when set.
    public var testLines: Int?
    /// Threads of the translating process.
    public var threads: Int

    /// Settings as given on the command line.
    public init(beamSize: Int, batchSize: Int, maxLength: Int, lengthPenalty: Float, testLines: Int?, threads: Int) {
        self.beamSize = beamSize
        self.batchSize = batchSize
        self.maxLength = maxLength
        self.lengthPenalty = lengthPenalty
        self.testLines = testLines
        self.threads = threads
    }
}

/// Everything measured on one trained run after training (its `evaluation.json`).
public struct ComparisonEvaluation: Codable {
    /// The settings it was made under.
    public var settings: ComparisonEvaluationSettings
    /// Parameters of the trained model.
    public var parameters: Int
    /// Scores and speed of greedy decoding.
    public var greedy: TestSetResult
    /// Scores and speed of beam search.
    public var beam: TestSetResult
}

extension ComparisonRun {
    /// Loads the run's model directory, translates `test` greedily and with beam search, and stores the result in
    /// `evaluation.json`, so that an interrupted comparison loses at most the run it was translating.
    public func evaluate(test: TestSet, settings: ComparisonEvaluationSettings, plugins: PluginRegistry,
                         log: (String) -> Void) throws -> ComparisonEvaluation {
        let translator = try Translator.load(directory, registry: plugins)
        func decode(_ beam: Int) throws -> TestSetResult {
            let search = SearchSettings(beamSize: beam, maxNewTokens: settings.maxLength, lengthPenalty: settings.lengthPenalty, forceEOSAtLimit: true)
            let result = try test.evaluate(translator, search: search, batchSize: settings.batchSize).result
            log(String(format: "%@: %@ on %d test lines: BLEU %.2f  chrF %.2f  %.1f sentences/s", name,
                       beam == 1 ? "greedy" : "beam \(beam)", test.sources.count, result.all.bleu, result.all.chrF, result.sentencesPerSecond))
            return result
        }
        let evaluation = ComparisonEvaluation(settings: settings, parameters: translator.model.parameterCount,
                                              greedy: try decode(1), beam: try decode(settings.beamSize))
        try AtomicFile.write(try RecipeComparison.encode(evaluation), to: evaluationURL)
        return evaluation
    }

    /// The stored evaluation when it was made under `settings`; nil when there is none, or it is unreadable or stale.
    public func storedEvaluation(settings: ComparisonEvaluationSettings) -> ComparisonEvaluation? {
        guard let data = try? Data(contentsOf: evaluationURL), let e = try? JSONDecoder().decode(ComparisonEvaluation.self, from: data),
              e.settings == settings else { return nil }
        return e
    }
}

extension ComparisonRun {
    /// What the parent measures of a run's training processes.
    public struct Measurements: Codable, Sendable {
        /// One `glossa train` process: a first run or a resumption.
        public struct Segment: Codable, Sendable {
            /// Whether it continued from a checkpoint.
            public var resumed: Bool
            /// Its wall-clock life.
            public var seconds: Double
            /// How it ended, in words.
            public var ending: String
            /// Its peak resident memory.
            public var peakBytes: Int

            /// A segment as measured.
            public init(resumed: Bool, seconds: Double, ending: String, peakBytes: Int) {
                self.resumed = resumed
                self.seconds = seconds
                self.ending = ending
                self.peakBytes = peakBytes
            }
        }
        /// Peak resident memory of the training process, the largest over its segments.
        public var peakBytes = 0
        /// Every process of the run, in order.
        public var segments: [Segment] = []

        /// No process measured yet.
        public init() {}
    }

    /// The stored measurements, when there are any that can be read.
    public func measurements() -> Measurements? {
        (try? Data(contentsOf: measurementsURL)).flatMap { try? JSONDecoder().decode(Measurements.self, from: $0) }
    }

    /// Adds one process's life to `measurements.json`; the peak memory is the largest over its resumptions.
    public func record(_ segment: Measurements.Segment) throws {
        var measurements = measurements() ?? Measurements()
        measurements.segments.append(segment)
        measurements.peakBytes = Swift.max(measurements.peakBytes, segment.peakBytes)
        try AtomicFile.write(try RecipeComparison.encode(measurements), to: measurementsURL)
    }
}
