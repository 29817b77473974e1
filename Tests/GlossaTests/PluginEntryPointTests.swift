import Foundation
import Testing
@testable import Glossa

/// The plugin handshake in process: what `PluginEntryPoint.register` leaves in the registrar, and how the host
/// reads it. (Loading real libraries is covered by the CLI tests and Examples/ConvEncoder.)
@Suite struct PluginEntryPointTests {
    struct Broken: Error, CustomStringConvertible { var description: String { "the weights file is missing" } }

    let pooler = Plugin(name: "test-pooler", summary: "test", factory: .pooler { _ in MeanPooler() })

    func register(hostABI: UInt32, _ make: () throws -> [Plugin]) -> (answered: UInt32, registrar: PluginRegistrar) {
        let registrar = PluginRegistrar()
        let answered = withExtendedLifetime(registrar) {
            PluginEntryPoint.register(hostABI: hostABI, registrar: Unmanaged.passUnretained(registrar).toOpaque(), make)
        }
        return (answered, registrar)
    }

    @Test func matchingABIHandsOverThePlugins() throws {
        let (answered, registrar) = register(hostABI: PluginEntryPoint.abiVersion) { [pooler] }
        #expect(answered == PluginEntryPoint.abiVersion)
        let plugins = try PluginLibrary.plugins(answered: answered, registrar: registrar, path: "libTest.so")
        #expect(plugins.map(\.name) == ["test-pooler"])
    }

    @Test func aThrowingEntryPointIsReportedWithItsError() throws {
        let (answered, registrar) = register(hostABI: PluginEntryPoint.abiVersion) { throw Broken() }
        #expect(answered == PluginEntryPoint.abiVersion && registrar.plugins.isEmpty)
        #expect(throws: PluginLoadError(path: "libTest.so", reason: "its entry point failed: the weights file is missing")) {
            try PluginLibrary.plugins(answered: answered, registrar: registrar, path: "libTest.so")
        }
    }

    @Test func anotherABIRegistersNothingAndIsRefused() throws {
        var called = false
        let (answered, registrar) = register(hostABI: PluginEntryPoint.abiVersion + 1) { called = true; return [pooler] }
        #expect(!called && registrar.plugins.isEmpty && answered == PluginEntryPoint.abiVersion)
        // The host compares the answer with its own number: a library of ABI n + 1 seen from an ABI n host.
        let error = #expect(throws: PluginLoadError.self) {
            try PluginLibrary.plugins(answered: PluginEntryPoint.abiVersion + 1, registrar: registrar, path: "libTest.so")
        }
        #expect(error?.description.contains("libTest.so") == true && error?.reason.contains("ABI") == true)
    }

    @Test func anEmptyListIsRefused() throws {
        let (answered, registrar) = register(hostABI: PluginEntryPoint.abiVersion) { [] }
        #expect(throws: PluginLoadError(path: "libTest.so", reason: "its entry point registered no plugins")) {
            try PluginLibrary.plugins(answered: answered, registrar: registrar, path: "libTest.so")
        }
    }
}
