// The static side of `glossa bench plugin`: the same ConvEncoder code linked into this program, timed by the
// same SDK function. Prints the best time in seconds.
// Usage: conv-encoder-bench --encoder NAME --config FILE [--batch-size B] [--length T] [--seconds S] [--threads N]
import ConvEncoder
import Foundation
import Glossa
import GlossaTensor

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let key = arguments.popFirst() {
    guard key.hasPrefix("--"), let value = arguments.popFirst() else {
        FileHandle.standardError.write(Data("conv-encoder-bench: expected --option VALUE pairs, got \(key)\n".utf8))
        exit(2)
    }
    options[String(key.dropFirst(2))] = value
}
// As `glossa` does at startup, so both sides allocate the same way.
Allocator.keepFreedMemory()
do {
    if let threads = Int(options["threads"] ?? "") {
        Threads.count = threads
        BLAS.setThreads(threads)
    }
    guard let path = options["config"], let configuration = FileManager.default.contents(atPath: path) else {
        throw GlossaError.invalidInput("conv-encoder-bench needs --config FILE with the encoder's config.json")
    }
    let best = try EncoderBenchmark.bestSeconds(
        plugin: options["encoder"] ?? "conv-encoder", registry: PluginRegistry(convEncoderPlugins), configuration: configuration,
        batchSize: Int(options["batch-size"] ?? "") ?? 32, length: Int(options["length"] ?? "") ?? 48,
        seconds: Double(options["seconds"] ?? "") ?? 1)
    print(best)
} catch {
    FileHandle.standardError.write(Data("conv-encoder-bench: \(error)\n".utf8))
    exit(1)
}
