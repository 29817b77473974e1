import ArgumentParser
import GlossaTensor

/// The `glossa` command: translate, embed, train and benchmark sequence models on the CPU.
@main
struct GlossaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glossa",
        abstract: "Sequence models on the CPU: translate, embed, generate, train.",
        subcommands: [
            TrainCommand.self, TokenizerCommand.self, ScoreCommand.self, PluginsCommand.self, BenchCommand.self,
            EmbedCommand.self, SimilarCommand.self,
        ])

    static func main() {
        Allocator.keepFreedMemory()
        main(nil)
    }
}
