import ArgumentParser
import Foundation
import GlossaTensor

/// The `glossa` command: translate, embed, train and benchmark sequence models on the CPU.
@main
struct GlossaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glossa",
        abstract: "Sequence models on the CPU: translate, embed, generate, train.",
        subcommands: [
            TranslateCommand.self, EvalCommand.self, EmbedCommand.self, SimilarCommand.self, GenerateCommand.self, TrainCommand.self,
            TokenizerCommand.self, ScoreCommand.self, PluginsCommand.self, BenchCommand.self, CompareCommand.self, AlignCommand.self,
            RunCommand.self, QuantizeCommand.self,
        ])

    // Documents the option for --help; main() takes it out of the command line before parsing.
    @Option(name: .customLong("plugin"),
            help: "Load plugins from a library (libName.so); repeatable, anywhere on the line. GLOSSA_PLUGIN_PATH (colon-separated files or folders) adds more.")
    var plugins: [String] = []

    static func main() {
        Allocator.keepFreedMemory()
        if Profiler.isEnabled {
            atexit { FileHandle.standardError.write(Data((Profiler.report() + "\n").utf8)) }
        }
        do {
            let arguments = try PluginArguments(Array(CommandLine.arguments.dropFirst()))
            Registry.current = try arguments.registry(environment: ProcessInfo.processInfo.environment)
            main(arguments.remaining)
        } catch {
            exit(withError: error)
        }
    }
}
