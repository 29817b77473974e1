import Foundation
import Testing
import Glossa

@Suite struct RegistryTests {
    let registry = PluginRegistry([
        Plugin(name: "greedy", summary: "greedy", factory: .sampler { _ in GreedySampler() }),
        Plugin(name: "beam", modelTypes: ["beam-search"], summary: "beam", factory: .sampler { _ in BeamSampler(beamSize: 2) }),
    ])

    @Test func lookupByNameAndModelType() throws {
        #expect(try registry.plugin(named: "greedy").factory.kind == "sampler")
        #expect(try registry.plugin(named: "beam-search").name == "beam")
    }

    @Test func unknownNamesListTheKnownOnes() {
        #expect(throws: GlossaError.unknownPlugin("xl", known: ["greedy", "beam"])) { try registry.plugin(named: "xl") }
        #expect(GlossaError.unknownPlugin("xl", known: ["greedy", "beam"]).description.contains("greedy, beam"))
    }

    /// A command plugin is called with its context; the kind is "command".
    @Test func commandPluginsGetTheirArgumentsAndTheRegistry() throws {
        let command = Plugin(name: "echo", summary: "echo", factory: .command { context in
            guard context.arguments == ["--x", "1"], (try? context.registry.plugin(named: "greedy")) != nil else {
                throw GlossaError.invalidInput("echo: wrong context")
            }
        })
        let all = registry.adding([command])
        let plugin = try all.plugin(named: "echo")
        #expect(plugin.factory.kind == "command")
        guard case .command(let body) = plugin.factory else { return }
        try body(PluginCommandContext(arguments: ["--x", "1"], registry: all))
        #expect(throws: GlossaError.self) { try body(PluginCommandContext(arguments: [], registry: all)) }
    }

    @Test func addingReplacesByName() throws {
        let more = registry.adding([Plugin(name: "greedy", summary: "mine", factory: .sampler { _ in GreedySampler() })])
        #expect(more.plugins.count == 2)
        #expect(try more.plugin(named: "greedy").summary == "mine")
    }

    @Test func modelDirectoriesNameTheirPlugin() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-dir-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: GlossaError.self) { try ModelDirectory(dir).pluginName() }
        try Data(#"{"model_type": "marian"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect(try ModelDirectory(dir).pluginName() == "marian")
        try Data(#"{"model_type": "marian", "glossa_plugin": "mine"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect(try ModelDirectory(dir).pluginName() == "mine")
        try Data("{not json".utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect(throws: GlossaError.self) { try ModelDirectory(dir).pluginName() }
    }

    @Test func configurationErrorsNameTheField() throws {
        struct Config: Decodable { var d_model: Int }
        let bad = PluginConfiguration(json: Data(#"{"d_model": "wide"}"#.utf8))
        #expect(throws: GlossaError.invalidConfiguration("field \"d_model\" should be Int")) { try bad.decode(Config.self) }
    }
}
