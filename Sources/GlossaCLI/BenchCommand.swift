import ArgumentParser

/// `glossa bench`: kernel and model throughput.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure kernel and model throughput.")
}
