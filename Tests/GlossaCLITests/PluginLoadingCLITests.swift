import Foundation
import Testing

/// `--plugin` and `GLOSSA_PLUGIN_PATH` with libraries `glossa` must refuse, each by name and with exit status 1.
/// Working plugins loaded end to end are tested by Examples/ConvEncoder (`make example-plugin`), whose library
/// links the SDK dynamically as a plugin must.
@Suite struct PluginLoadingCLITests {
    /// A library SwiftPM built beside `glossa`.
    func library(_ name: String) throws -> String {
        let url = try GlossaRunner.binary().deletingLastPathComponent().appendingPathComponent("lib\(name).so")
        try #require(FileManager.default.fileExists(atPath: url.path), "\(url.path) is missing; build with `swift build`")
        return url.path
    }

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-plugin-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func libraryWithItsOwnCopyOfTheSDKIsRefused() throws {
        let path = try library("GlossaTestStaticPlugin")
        let run = try runGlossa(["--plugin", path, "plugins"])
        #expect(run.status == 1)
        #expect(run.stderr.contains(path) && run.stderr.contains("own copy of the Glossa SDK"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func searchPathVariableNamesTheFailingLibrary() throws {
        let path = try library("GlossaTestWrongABIPlugin")
        let run = try runGlossa(["plugins"], environment: ["GLOSSA_PLUGIN_PATH": "::\(path)"])
        #expect(run.status == 1)
        #expect(run.stderr.contains(path), "\(run.stderr)")
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("libWrong.so").path, withDestinationPath: path)
        let byFolder = try runGlossa(["plugins"], environment: ["GLOSSA_PLUGIN_PATH": folder.path])
        #expect(byFolder.status == 1)
        #expect(byFolder.stderr.contains("libWrong.so"), "\(byFolder.stderr)")
    }

    @Test func pluginOptionIsTakenAnywhereAndEmptyPathChangesNothing() throws {
        let plain = try runGlossa(["plugins"], environment: ["GLOSSA_PLUGIN_PATH": ""])
        #expect(plain.status == 0, "\(plain.stderr)")
        let late = try runGlossa(["plugins", "--plugin=/nonexistent/libLate.so"])
        #expect(late.status == 1 && late.stderr.contains("/nonexistent/libLate.so"), "\(late.stderr)")
        let dangling = try runGlossa(["plugins", "--plugin"])
        #expect(dangling.status != 0 && dangling.stderr.contains("--plugin needs"), "\(dangling.stderr)")
    }

    /// `glossa run` with no command plugins loaded: an unknown name lists the known ones, a plugin of another kind
    /// is refused with a sentence; the plugin's arguments pass through, options included (see Examples/ConvEncoder).
    @Test func runRefusesWhatIsNotACommand() throws {
        let unknown = try runGlossa(["run", "no-such-tool", "--steps", "3"])
        #expect(unknown.status == 1 && unknown.stderr.contains("no-such-tool") && unknown.stderr.contains("greedy"), "\(unknown.stderr)")
        let sampler = try runGlossa(["run", "greedy"])
        #expect(sampler.status != 0 && sampler.stderr.contains("of kind sampler, not a command") && sampler.stderr.contains("none"), "\(sampler.stderr)")
    }

    @Test func missingLibraryIsNamed() throws {
        let run = try runGlossa(["--plugin", "/nonexistent/libNothing.so", "plugins"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("/nonexistent/libNothing.so") && run.stderr.contains("no such file"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test func libraryWithoutTheEntryPointIsRefused() throws {
        // The SDK's own shared library is a perfectly good .so that is not a plugin.
        let path = try library("GlossaSDK")
        let run = try runGlossa(["--plugin", path, "plugins"])
        #expect(run.status == 1)
        #expect(run.stderr.contains(path) && run.stderr.contains("glossa_plugin_register"), "\(run.stderr)")
    }

    @Test func libraryOfAnotherABIIsRefused() throws {
        let path = try library("GlossaTestWrongABIPlugin")
        let run = try runGlossa(["--plugin", path, "plugins"])
        #expect(run.status == 1)
        #expect(run.stderr.contains(path) && run.stderr.contains("ABI"), "\(run.stderr)")
    }

    @Test func fileThatIsNotALibraryIsRefused() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("libFake.so").path
        try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: path))
        let run = try runGlossa(["--plugin", path, "plugins"])
        #expect(run.status == 1)
        #expect(run.stderr.contains(path), "\(run.stderr)")
    }
}
