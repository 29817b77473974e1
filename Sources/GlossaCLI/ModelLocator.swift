import Foundation

/// Finds the shipped default model when `--model` is not given, both in a checkout (`swift run`,
/// `.build/release/glossa`) and in an installed layout (`bin/glossa` beside `share/glossa/models`).
enum ModelLocator {
    /// The default model's folder name under `models/`.
    static let defaultModel = "en-de"

    /// `--model` if given, else `$GLOSSA_MODEL`, else the first default-model folder found.
    static func resolve(_ explicit: String?, name: String = defaultModel) throws -> URL {
        if let explicit { return try checked(URL(fileURLWithPath: explicit)) }
        if let fromEnvironment = ProcessInfo.processInfo.environment["GLOSSA_MODEL"], !fromEnvironment.isEmpty {
            return try checked(URL(fileURLWithPath: fromEnvironment))
        }
        let candidates = searchPaths(name: name)
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }) {
            return found
        }
        throw CommandError(description: "no model given and the default model was not found; looked in:\n"
                           + candidates.map { "  \($0.path)" }.joined(separator: "\n")
                           + "\nPass --model DIR or set GLOSSA_MODEL.")
    }

    static func searchPaths(name: String) -> [URL] {
        var paths: [URL] = []
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        paths.append(executable.deletingLastPathComponent().appendingPathComponent("share/glossa/models/\(name)"))
        var folder = executable
        for _ in 0..<6 {
            paths.append(folder.appendingPathComponent("models/\(name)"))
            folder = folder.deletingLastPathComponent()
        }
        paths.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("models/\(name)"))
        return paths
    }

    static func checked(_ url: URL) throws -> URL {
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("config.json").path) else {
            throw CommandError(description: "\(url.path) is not a model directory (it has no config.json)")
        }
        return url
    }
}
