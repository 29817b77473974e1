import Foundation
import GlossaFuzzing
import Testing

/// Every committed fuzz input — the seeds in `Fuzz/Corpus/NAME` and each crash `make fuzz` found, fixed and kept in
/// `Fuzz/Regressions/NAME` — replayed through the same entry the libFuzzer target calls. Returning at all is the
/// assertion: a trap or a runaway allocation ends the test run.
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Seeds kept elsewhere in the repository (large fixtures not copied into `Fuzz/Corpus`).
    static let extraSeeds = ["sentencepiece-model": ["Tests/GlossaSentencePieceTests/Fixtures/tiny.model", "Tests/Fixtures/marian-tiny/source.spm"]]

    static func inputs(_ name: String) throws -> [URL] {
        var files: [URL] = []
        for folder in ["Fuzz/Corpus/\(name)", "Fuzz/Regressions/\(name)"] {
            let url = root.appendingPathComponent(folder)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { continue }
            files += names.filter { !$0.hasPrefix(".") }.sorted().map { url.appendingPathComponent($0) }
        }
        return files + (extraSeeds[name] ?? []).map { root.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzEntries.all.keys.sorted())
    func committedInputsRunCleanly(_ name: String) throws {
        let entry = try #require(FuzzEntries.all[name])
        let files = try Self.inputs(name)
        #expect(!files.isEmpty, "no seeds for \(name) in Fuzz/Corpus/\(name)")
        for file in files { entry(try Data(contentsOf: file)) }
    }

    @Test func everyTargetHasACorpusFolder() throws {
        for name in FuzzEntries.all.keys.sorted() + ["line-reader"] {
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent("Fuzz/Corpus/\(name)").path, isDirectory: &isDirectory)
                    && isDirectory.boolValue, "Fuzz/Corpus/\(name)")
        }
    }
}
