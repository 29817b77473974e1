import Foundation
import Glossa
import GlossaBuiltins

/// `--plugin PATH` options, taken out of the command line before swift-argument-parser sees it: the
/// parser hands root options to no subcommand, and the plugins must be loaded before a subcommand runs.
struct PluginArguments: Equatable {
    /// The library paths, in the order given.
    var libraries: [String] = []
    /// The command line without them.
    var remaining: [String] = []

    /// Splits `arguments` (without the program name); `--plugin PATH` and `--plugin=PATH` may stand anywhere
    /// before a `--` that ends the options.
    init(_ arguments: [String]) throws {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                remaining += arguments[index...]
                break
            }
            if argument == "--plugin" {
                guard index + 1 < arguments.count else {
                    throw CommandError(description: "--plugin needs the path of a plugin library (libName.so)")
                }
                libraries.append(arguments[index + 1])
                index += 2
                continue
            }
            if argument.hasPrefix("--plugin=") {
                libraries.append(String(argument.dropFirst("--plugin=".count)))
            } else {
                remaining.append(argument)
            }
            index += 1
        }
    }

    /// The built-ins plus the plugins of `GLOSSA_PLUGIN_PATH`'s libraries, then of `--plugin`'s (a later name
    /// replaces an earlier one).
    func registry(environment: [String: String]) throws -> PluginRegistry {
        let searched = environment["GLOSSA_PLUGIN_PATH"].map(PluginLibrary.paths(inSearchPath:)) ?? []
        let paths = searched + libraries
        if paths.isEmpty { return builtinPlugins }
        return builtinPlugins.adding(try PluginLibrary.load(paths))
    }
}
