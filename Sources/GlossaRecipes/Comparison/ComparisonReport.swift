import Foundation
import Glossa
import GlossaNN

/// `report.md` and its SVG plots, from the runs' training logs, measurements and test evaluations.
public struct ComparisonReport {
    /// The part of `training.json` a comparison reads back.
    struct TrainingLog: Decodable {
        var weights: String
        var history: [TrainingRecord]
    }

    var runs: [ComparisonRun]
    var budget: ComparisonBudget
    var threads: Int
    var parallel: Bool
    var settings: ComparisonEvaluationSettings
    var testLines: Int
    var evaluations: [String: ComparisonEvaluation]
    var failures: [String: String]
    /// The command line shown as the report's author.
    var command: String
    var logs: [String: TrainingLog] = [:]
    var measurements: [String: ComparisonRun.Measurements] = [:]
    /// Run names without the prefix they all share (`en-de-rnn`, `en-de-transformer` → `rnn`, `transformer`).
    var labels: [String: String] = [:]

    /// Reads the finished runs' files; `evaluations` and `failures` are by run name, `testLines` is how many lines
    /// were translated, and `command` is the command line the report names as having written it.
    public init(comparison: RecipeComparison, parallel: Bool, settings: ComparisonEvaluationSettings, testLines: Int,
                evaluations: [String: ComparisonEvaluation], failures: [String: String], command: String) throws {
        runs = comparison.runs
        budget = comparison.budget
        threads = comparison.threads
        self.parallel = parallel
        self.settings = settings
        self.testLines = testLines
        self.evaluations = evaluations
        self.failures = failures
        self.command = command
        for run in runs {
            if let data = try? Data(contentsOf: run.trainingLogURL) {
                do { logs[run.name] = try JSONDecoder().decode(TrainingLog.self, from: data) } catch {
                    throw GlossaError.invalidInput("\(run.trainingLogURL.path) cannot be read: \(error)")
                }
            }
            measurements[run.name] = run.measurements()
        }
        labels = Self.shortLabels(runs.map(\.name))
    }

    /// Names with their shared dash-separated prefix removed, unless that would leave one empty.
    static func shortLabels(_ names: [String]) -> [String: String] {
        var prefix = names.first ?? ""
        for name in names { while !name.hasPrefix(prefix) { prefix.removeLast() } }
        if let dash = prefix.lastIndex(of: "-") { prefix = String(prefix[...dash]) } else { prefix = "" }
        return Dictionary(uniqueKeysWithValues: names.map { name in
            let short = String(name.dropFirst(prefix.count))
            return (name, short.isEmpty ? name : short)
        })
    }

    func label(_ run: ComparisonRun) -> String { labels[run.name] ?? run.name }

    /// Writes `report.md` and the plots into `directory`.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, svg) in plots() {
            try AtomicFile.write(Data(svg.utf8), to: directory.appendingPathComponent(name))
        }
        try AtomicFile.write(Data(markdown().utf8), to: directory.appendingPathComponent("report.md"))
    }

    /// The SVG files by name.
    func plots() -> [(String, String)] {
        func curve(_ title: String, x: String, y: String, _ point: (TrainingRecord) -> (Double, Double?)) -> String {
            let series = runs.compactMap { run -> LinePlot.Series? in
                guard let history = logs[run.name]?.history else { return nil }
                return LinePlot.Series(name: label(run), points: history.compactMap { record in
                    let (px, py) = point(record)
                    return py.map { (x: px, y: $0) }
                })
            }
            return LinePlot(title: title, xLabel: x, yLabel: y, series: series).svg()
        }
        let evaluated = runs.filter { evaluations[$0.name] != nil }
        let beam = "beam \(settings.beamSize)"
        var speedBars: [(label: String, value: Double)] = []
        var lengthBars: [(label: String, value: Double)] = []
        for run in evaluated {
            guard let e = evaluations[run.name] else { continue }
            speedBars.append(("\(label(run)) greedy", e.greedy.sentencesPerSecond))
            speedBars.append(("\(label(run)) \(beam)", e.beam.sentencesPerSecond))
        }
        for bucket in TestSet.lengthBuckets {
            for run in evaluated {
                if let s = evaluations[run.name]?.beam.byLength[bucket.label] { lengthBars.append(("\(label(run)) \(bucket.label)", s.chrF)) }
            }
        }
        return [
            ("dev-chrf-minutes.svg", curve("Dev chrF (greedy) against training time", x: "minutes of training", y: "chrF") { ($0.minutes, $0.dev["chrf"]) }),
            ("dev-chrf-tokens.svg", curve("Dev chrF (greedy) against data seen", x: "thousand target tokens", y: "chrF") { (Double($0.tokens) / 1000, $0.dev["chrf"]) }),
            ("dev-loss-minutes.svg", curve("Dev cross-entropy against training time", x: "minutes of training", y: "nats per token") { ($0.minutes, $0.dev["loss"]) }),
            ("dev-loss-tokens.svg", curve("Dev cross-entropy against data seen", x: "thousand target tokens", y: "nats per token") { (Double($0.tokens) / 1000, $0.dev["loss"]) }),
            ("translation-speed.svg", BarPlot(title: "Test translation speed (\(threads) thread\(threads == 1 ? "" : "s"))", yLabel: "sentences per second",
                                              bars: speedBars).svg(width: Double(max(640, 130 * speedBars.count)))),
            ("parameters.svg", BarPlot(title: "Parameters", yLabel: "millions",
                                       bars: evaluated.map { (label($0), Double(evaluations[$0.name]?.parameters ?? 0) / 1e6) }).svg()),
            ("peak-memory.svg", BarPlot(title: "Peak memory of training (resident set)", yLabel: "MiB",
                                        bars: runs.compactMap { run in measurements[run.name].map { (label(run), Double($0.peakBytes) / 1_048_576) } }).svg()),
            ("test-chrf-by-length.svg", BarPlot(title: "Test chrF (\(beam)) by source length in words", yLabel: "chrF",
                                                bars: lengthBars).svg(width: Double(max(640, 110 * lengthBars.count)))),
        ]
    }
}
