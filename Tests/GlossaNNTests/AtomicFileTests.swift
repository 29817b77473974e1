import Foundation
import GlossaTensor
import Testing
@testable import GlossaNN

@Suite struct AtomicFileTests {
    @Test func replacesTheFileAndLeavesNoTemporaries() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("state.bin")
        try AtomicFile.write(Data("old".utf8), to: url)
        try AtomicFile.write(Data("new contents".utf8), to: url)
        #expect(try Data(contentsOf: url) == Data("new contents".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["state.bin"])
    }

    @Test func failureAfterTheTemporaryIsWrittenKeepsTheOldFile() throws {
        struct Interrupted: Error {}
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try Safetensors.write(["w": Tensor(shape: [1], scalars: [1])], to: url)
        let before = try Data(contentsOf: url)

        let replacement = try Safetensors.encode(["w": Tensor(shape: [1], scalars: [2])])
        #expect(throws: Interrupted.self) {
            try AtomicFile.write(replacement, to: url, beforeRename: {
                // The new bytes are complete and flushed beside the target at this point.
                let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
                #expect(names.count == 2)
                throw Interrupted()
            })
        }
        #expect(try Data(contentsOf: url) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
        #expect(try Safetensors.read(contentsOf: url).tensor(named: "w").scalars == [1])
    }

    @Test func failedRenameRemovesTheTemporary() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A non-empty directory where the file should go: rename(2) must fail.
        let target = directory.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try Data("x".utf8).write(to: target.appendingPathComponent("inside"))

        let error = #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("y".utf8), to: target) }
        #expect(error?.step == "rename")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["occupied"])
        #expect(try Data(contentsOf: target.appendingPathComponent("inside")) == Data("x".utf8))
    }

    @Test func missingDirectoryThrowsAndCreatesNothing() throws {
        let directory = try makeScratchDirectory()
        try FileManager.default.removeItem(at: directory)
        let url = directory.appendingPathComponent("gone.bin")
        let error = #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("z".utf8), to: url) }
        #expect(error?.step == "create")
        #expect(error?.description.contains("unchanged") == true)
        #expect(!FileManager.default.fileExists(atPath: directory.path))
    }
}
