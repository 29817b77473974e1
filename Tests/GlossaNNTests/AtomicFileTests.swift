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

    @Test func aFolderAtTheTargetIsRefusedAndLeftAlone() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try Data("x".utf8).write(to: target.appendingPathComponent("inside"))

        let error = #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("y".utf8), to: target) }
        #expect(error?.step == "target")
        #expect(error?.description.contains("folder") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["occupied"])
        #expect(try Data(contentsOf: target.appendingPathComponent("inside")) == Data("x".utf8))
    }

    @Test func aSymbolicLinkIsFollowedAndStaysALink() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let real = directory.appendingPathComponent("real.txt"), link = directory.appendingPathComponent("link.txt")
        try Data("old".utf8).write(to: real)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "real.txt")
        try AtomicFile.write(Data("new".utf8), to: link)
        #expect(try Data(contentsOf: real) == Data("new".utf8))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "real.txt")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)) == ["real.txt", "link.txt"])
    }

    @Test func aDeviceIsWrittenThroughNotReplaced() throws {
        try AtomicFile.write(Data("discarded".utf8), to: URL(fileURLWithPath: "/dev/null"))
        let attributes = try FileManager.default.attributesOfItem(atPath: "/dev/null")
        #expect(attributes[.type] as? FileAttributeType == .typeCharacterSpecial)
        let full = #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("x".utf8), to: URL(fileURLWithPath: "/dev/full")) }
        #expect(full?.description.contains("/dev/full") == true)
    }

    @Test func aDescriptorPathIsWrittenThrough() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let file = try OutputFile(path: "/dev/fd/\(fds[1])")
        #expect(file.isStream)
        try file.write(Data("through\n".utf8))
        try file.commit()
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fds[0], &buffer, buffer.count)
        #expect(String(decoding: buffer[0..<max(count, 0)], as: UTF8.self) == "through\n")
    }

    @Test func anUncommittedOutputFileLeavesTheOldOneAndNoTemporary() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("out.txt")
        try Data("old".utf8).write(to: url)
        do {
            let file = try OutputFile(path: url.path)
            try file.write(Data("half".utf8))
            try file.flush()
        }
        #expect(try Data(contentsOf: url) == Data("old".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.txt"])
        #expect(throws: AtomicFileError.self) { try OutputFile(path: "") }
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
