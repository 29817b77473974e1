import ArgumentParser
import Foundation
import Glossa

/// `glossa run NAME ARGUMENTS…`: runs a command that a plugin provides (kind `command` in `glossa plugins`).
struct RunCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a command that a plugin provides (kind \"command\" in `glossa plugins`).",
        discussion: """
            Everything after NAME goes to the plugin unchanged, options included: \
            glossa --plugin libConvEncoder.so run conv-tagger train --recipe FILE
            """)

    @Argument(help: "The plugin command's name.")
    var name: String

    @Argument(parsing: .captureForPassthrough, help: "Its arguments.")
    var arguments: [String] = []

    func run(plugins: PluginRegistry) throws {
        let plugin = try plugins.plugin(named: name)
        guard case .command(let body) = plugin.factory else {
            let commands = plugins.plugins.filter { if case .command = $0.factory { true } else { false } }.map(\.name)
            throw ValidationError("\(name) is a plugin of kind \(plugin.factory.kind), not a command; the commands loaded are: "
                                  + (commands.isEmpty ? "none" : commands.joined(separator: ", ")))
        }
        try body(PluginCommandContext(arguments: arguments, registry: plugins))
    }
}
