import Foundation
import Glossa
import GlossaTensor

/// `glossa bench plugin`: an encoder plugin through the registry (loaded from a library with `--plugin`),
/// beside the same plugin linked statically into a runner program, alternating rounds so noise hits both.
enum PluginBench {
    /// The runner protocol: `RUNNER --encoder NAME --config FILE --batch-size B --length T --seconds S --threads N`
    /// prints the best time of `EncoderBenchmark.bestSeconds` in seconds on one line.
    static func run(plugins: PluginRegistry, encoder: String, configFile: String?, runner: String?, batchSize: Int, length: Int, seconds: Double, rounds: Int) throws -> [BenchRow] {
        let configuration: Data
        if let configFile {
            guard let data = FileManager.default.contents(atPath: configFile) else {
                throw CommandError(description: "cannot read the encoder configuration \(configFile)")
            }
            configuration = data
        } else {
            configuration = Data(#"{"vocab_size": 8000, "hidden_size": 256, "blocks": [{"kernel_size": 3}, {"kernel_size": 3, "dilation": 2}, {"kernel_size": 3, "dilation": 4}]}"#.utf8)
        }
        var loaded = Double.infinity, linked = Double.infinity
        for _ in 0..<Swift.max(1, rounds) {
            loaded = Swift.min(loaded, try EncoderBenchmark.bestSeconds(
                plugin: encoder, registry: plugins, configuration: configuration, batchSize: batchSize, length: length, seconds: seconds))
            if let runner { linked = Swift.min(linked, try runStatic(runner, encoder: encoder, configuration: configuration,
                                                                   batchSize: batchSize, length: length, seconds: seconds)) }
        }
        let shape = "\(encoder) \(batchSize)×\(length)"
        return [BenchRow(workload: "plugin", shape: shape, unit: "batches/s", glossa: 1 / loaded,
                         reference: runner == nil ? 0 : 1 / linked, referenceName: runner == nil ? "no --static-runner" : "linked statically")]
    }

    static func runStatic(_ runner: String, encoder: String, configuration: Data, batchSize: Int, length: Int, seconds: Double) throws -> Double {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-bench-\(UUID().uuidString).json")
        try configuration.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: runner)
        process.arguments = ["--encoder", encoder, "--config", file.path, "--batch-size", "\(batchSize)", "--length", "\(length)",
                             "--seconds", "\(seconds)", "--threads", "\(Threads.count)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch {
            throw CommandError(description: "cannot start the static runner \(runner): \(error.localizedDescription)")
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let best = Double(output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CommandError(description: "the static runner \(runner) failed (status \(process.terminationStatus)): \(output)")
        }
        return best
    }
}
