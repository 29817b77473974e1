import Foundation
@testable import GlossaCLI
import Testing

/// `LineReader`, the CLI's byte-line reader, against the property its fuzz target checks (`make fuzz`, target
/// `line-reader`): the lines it hands out, joined by newlines, are exactly the input, whatever the buffer size.
/// The committed fuzz inputs (`Fuzz/Corpus/line-reader`, `Fuzz/Regressions/line-reader`) run here too.
@Suite struct LineReaderTests {
    func lines(of input: [UInt8], capacity: Int) throws -> [[UInt8]] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-lines-\(UUID().uuidString)")
        try Data(input).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let reader = LineReader(fd: handle.fileDescriptor, capacity: capacity)
        var out: [[UInt8]] = []
        while let line = try reader.next() { out.append(Array(line)) }
        return out
    }

    func check(_ input: [UInt8], capacity: Int) throws {
        var joined = try lines(of: input, capacity: capacity).joined(separator: [0x0A]).map { $0 }
        if input.last == 0x0A { joined.append(0x0A) }
        #expect(joined == input, "capacity \(capacity): \(input.count) bytes in, \(joined.count) out")
    }

    @Test func linesJoinBackToTheInput() throws {
        let cases: [[UInt8]] = [[], [0x0A], [0x0A, 0x0A], Array("a\nbc\n\nd".utf8), Array(repeating: 0x78, count: 1000) + [0x0A, 0x79],
                                [0xFF, 0xFE, 0x0A, 0x00, 0x0D, 0x0A]]
        for input in cases {
            for capacity in [1, 2, 3, 7, 64, 1 << 16] { try check(input, capacity: capacity) }
        }
        #expect(try lines(of: Array("a\n\nb".utf8), capacity: 1).map { String(decoding: $0, as: UTF8.self) } == ["a", "", "b"])
    }

    @Test func committedFuzzInputsKeepTheProperty() throws {
        let root = GlossaRunner.repositoryRoot
        var count = 0
        for folder in ["Fuzz/Corpus/line-reader", "Fuzz/Regressions/line-reader"] {
            let url = root.appendingPathComponent(folder)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] where !name.hasPrefix(".") {
                let input = [UInt8](try Data(contentsOf: url.appendingPathComponent(name)))
                try check(input, capacity: 1 + Int(input.first ?? 0) % 64)
                count += 1
            }
        }
        #expect(count >= 3)
    }
}
