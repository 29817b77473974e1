import ArgumentParser
import Foundation
import Glossa
import GlossaTensor

/// `glossa bench`: kernel throughput, each figure beside a reference run in the same process.
struct BenchCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure kernel throughput against a reference run side by side.",
        discussion: "Machines are noisy: compare the ratio column, not absolute times. Use a release build.")

    /// The workloads.
    enum Workload: String, ExpressibleByArgument, CaseIterable {
        case gemm, softmax, layernorm, attention, train, rnn, generate, decode, plugin
    }

    @Argument(help: "Workloads to run (\(Workload.allCases.map(\.rawValue).joined(separator: ", "))); all when none.")
    var workloads: [Workload] = []

    @OptionGroup var threads: ThreadOptions

    @Option(help: "Seconds to spend per measurement (best run is reported).")
    var seconds: Double = 1

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @Option(help: "generate: the language model to time (default: the shipped en-de-lm, else a random one of its size); decode: the translator (default: the shipped one).")
    var model: String?

    @Option(help: "decode: the beam size (1 is greedy search).")
    var beamSize: Int = 1

    @OptionGroup var compute: ComputeOptions

    @Option(help: "generate: output positions to time (1…N).")
    var positions: Int = 128

    @Option(help: "plugin: the encoder plugin to time through the registry (load it with --plugin).")
    var pluginEncoder = "conv-encoder"

    @Option(help: "plugin: its config.json (default: a 256-wide, 3-block conv-encoder).")
    var pluginConfig: String?

    @Option(help: "plugin: a program with the same plugin linked statically, timed alternately for the ratio.")
    var staticRunner: String?

    @Flag(help: "train: profile real training steps of --recipe instead: forward and backward per model part, optimizer, data, and model FLOPs utilisation.")
    var profile = false

    @Option(help: "train --profile: the recipe to profile.")
    var recipe = "recipes/en-de-transformer.json"

    @Option(help: "train --profile: steps to profile (1…1000), after one warm-up step.")
    var steps = 10

    func validate() throws {
        try FlagBounds.check(finite: seconds, FlagBounds.seconds, "--seconds")
        try FlagBounds.check(positions, FlagBounds.newTokens, "--positions")
        if !(1...SearchSettings.maxBeamSize).contains(beamSize) { throw ValidationError("--beam-size must be in 1...\(SearchSettings.maxBeamSize)") }
        try FlagBounds.check(steps, 1...1000, "--steps")
        if profile && workloads != [.train] { throw ValidationError("--profile goes with the train workload alone: glossa bench train --profile") }
    }

    func run(plugins: PluginRegistry) throws {
        threads.apply()
        if profile {
            print(try TrainProfile.run(recipeFile: recipe, steps: steps, plugins: plugins))
            return
        }
        var rows: [BenchRow] = []
        for workload in workloads.isEmpty ? [.gemm, .softmax, .layernorm, .attention] : workloads {
            switch workload {
            case .gemm: rows += KernelBench.gemm(seconds: seconds)
            case .softmax: rows += KernelBench.softmax(seconds: seconds)
            case .layernorm: rows += KernelBench.layerNorm(seconds: seconds)
            case .attention: rows += KernelBench.attention(seconds: seconds)
            case .train: rows += try ModelBench.train(plugins: plugins, seconds: seconds)
            case .rnn: rows += RNNBench.run(seconds: seconds)
            case .generate: rows += try GenerateBench.run(plugins: plugins, directory: model, positions: positions)
            case .decode: rows += try DecodeBench.run(plugins: plugins, directory: model, input: "corpora/en-de.test.en", lines: 512, beamSize: beamSize, batchSize: 32,
                                                          compute: compute)
            case .plugin:
                rows += try PluginBench.run(plugins: plugins, encoder: pluginEncoder, configFile: pluginConfig, runner: staticRunner,
                                            batchSize: 32, length: 48, seconds: seconds, rounds: 5)
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for row in rows { print(String(decoding: try encoder.encode(row), as: UTF8.self)) }
        } else {
            print("threads: \(Threads.count) (BLAS \(BLAS.threads))")
            print(BenchRow.table(rows))
        }
    }
}

/// One measured line: Glossa's rate and the reference's, in the same unit.
struct BenchRow: Encodable {
    var workload: String
    var shape: String
    var unit: String
    var glossa: Double
    var reference: Double
    var referenceName: String
    var ratio: Double { reference > 0 ? glossa / reference : 0 }

    enum CodingKeys: String, CodingKey { case workload, shape, unit, glossa, reference, referenceName = "reference_name", ratio }

    func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(workload, forKey: .workload)
        try c.encode(shape, forKey: .shape)
        try c.encode(unit, forKey: .unit)
        try c.encode(glossa, forKey: .glossa)
        try c.encode(reference, forKey: .reference)
        try c.encode(referenceName, forKey: .referenceName)
        try c.encode(ratio, forKey: .ratio)
    }

    static func table(_ rows: [BenchRow]) -> String {
        func pad(_ s: String, _ width: Int) -> String { s.padding(toLength: max(width, s.count), withPad: " ", startingAt: 0) }
        func number(_ x: Double) -> String { String(format: "%10.2f", x) }
        let shapeWidth = rows.map(\.shape.count).max() ?? 10
        var lines = [pad("workload", 11) + pad("shape", shapeWidth + 1) + "    glossa  reference  ratio  unit (reference)"]
        for r in rows {
            lines.append(pad(r.workload, 11) + pad(r.shape, shapeWidth + 1) + number(r.glossa) + " " + number(r.reference)
                         + String(format: "  %5.2f", r.ratio) + "  \(r.unit) (\(r.referenceName))")
        }
        return lines.joined(separator: "\n")
    }
}

/// Best-of timing: runs `body` repeatedly for about `seconds` and returns the fastest run in seconds.
func bestTime(seconds: Double, _ body: () -> Void) -> Double {
    body()  // warm up caches and thread pools
    var best = Double.infinity
    let start = DispatchTime.now().uptimeNanoseconds
    var runs = 0
    while runs < 3 || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        runs += 1
        if runs > 10_000 { break }
    }
    return best
}
