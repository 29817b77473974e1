import ArgumentParser
import Foundation
import Glossa
import GlossaSentencePiece
import GlossaTensor

/// The `glossa` command: translate, embed, train and benchmark sequence models on the CPU.
@main
struct GlossaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glossa",
        abstract: "Sequence models on the CPU: translate, embed, generate, train.",
        subcommands: [
            TranslateCommand.self, EvalCommand.self, EmbedCommand.self, ClassifyCommand.self, SimilarCommand.self, GenerateCommand.self, TrainCommand.self,
            TokenizerCommand.self, ScoreCommand.self, PluginsCommand.self, BenchCommand.self, CompareCommand.self, AlignCommand.self,
            RunCommand.self, QuantizeCommand.self, ServeCommand.self,
        ])

    // Documents the option for --help; main() takes it out of the command line before parsing.
    @Option(name: .customLong("plugin"),
            help: "Load plugins from a library (libName.so); repeatable, anywhere on the line. GLOSSA_PLUGIN_PATH (colon-separated files or folders) adds more.")
    var plugins: [String] = []

    static func main() {
        StandardStreams.prepare()
        Allocator.keepFreedMemory()
        if Profiler.isEnabled {
            atexit { StandardStreams.writeError(Profiler.report() + "\n") }
        }
        do {
            let arguments = try PluginArguments(Array(CommandLine.arguments.dropFirst()))
            let plugins = try arguments.registry(environment: ProcessInfo.processInfo.environment)
            var command = try parseAsRoot(arguments.remaining)
            do {
                if let needsPlugins = command as? any PluginCommand {
                    try needsPlugins.run(plugins: plugins)
                } else {
                    try command.run()
                }
            } catch let error as ValidationError {
                // Found while running (files that disagree): the message alone, not the top-level usage.
                StandardStreams.writeError("Error: \(error.message)\n")
                Foundation.exit(64)
            }
            // Exit 0 only once everything printed has reached standard output.
            try StandardStreams.finishStandardOutput()
        } catch let error as TokenizerError {
            if case .invalidUTF8 = error {
                exit(withError: CommandError(description: "\(error); pass --replace-invalid to replace invalid bytes with U+FFFD"))
            }
            exit(withError: error)
        } catch {
            exit(withError: error)
        }
    }
}

/// A subcommand that uses the plugins (built-ins, `--plugin` libraries, `GLOSSA_PLUGIN_PATH`), given to it as a
/// value rather than read from a global.
protocol PluginCommand: ParsableCommand {
    /// Runs the command with the plugins of this invocation.
    func run(plugins: PluginRegistry) throws
}
