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
            TokenizerCommand.self, ScoreCommand.self, PluginsCommand.self, BenchCommand.self, AlignCommand.self,
        ])

    static func main() {
        Allocator.keepFreedMemory()
        if Profiler.isEnabled {
            atexit { FileHandle.standardError.write(Data((Profiler.report() + "\n").utf8)) }
        }
        main(nil)
    }
}
