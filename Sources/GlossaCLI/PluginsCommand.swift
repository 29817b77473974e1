import ArgumentParser
import Foundation
import Glossa
import GlossaBuiltins

/// `glossa plugins`: the built-in plugins, one per line, or as JSON.
struct PluginsCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins", abstract: "List the built-in plugins: name, kind, Hugging Face model types, summary.")

    @Flag(help: "Print a JSON array of objects with name, kind, model_types and summary.")
    var json = false

    func run(plugins: PluginRegistry) throws {
        let rows = plugins.plugins.map(PluginRow.init)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            print(PluginRow.table(rows))
        }
    }
}

/// One plugin as `glossa plugins` shows it.
struct PluginRow: Encodable, Equatable {
    var name: String
    var kind: String
    var modelTypes: [String]
    var summary: String

    enum CodingKeys: String, CodingKey { case name, kind, modelTypes = "model_types", summary }

    init(_ plugin: Plugin) {
        name = plugin.name
        kind = plugin.factory.kind
        modelTypes = plugin.modelTypes
        summary = plugin.summary
    }

    /// Columns padded to their widest cell; a plugin that reads no Hugging Face type shows `-`.
    static func table(_ rows: [PluginRow]) -> String {
        let header = ["name", "kind", "model_types", "summary"]
        let cells = [header] + rows.map { [$0.name, $0.kind, $0.modelTypes.isEmpty ? "-" : $0.modelTypes.joined(separator: ","), $0.summary] }
        var widths = [Int](repeating: 0, count: header.count)
        for line in cells {
            for (column, cell) in line.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        return cells.map { line in
            line.enumerated().map { column, cell in
                column == line.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
