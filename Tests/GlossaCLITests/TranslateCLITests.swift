import Foundation
import Testing

/// `glossa translate` on an OPUS-MT-layout fixture: the directory's generation settings, flags over
/// them, and outputs that depend neither on the read-ahead window, the batch limits nor the threads.
@Suite struct TranslateCLITests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/opus-finetuned").standardizedFileURL.path

    struct Expected: Decodable {
        struct Line: Decodable { var source: String; var text: String }
        struct Default: Decodable { var cases: [Line] }
        var greedy: [Line]
        var `default`: Default
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: fixture).appendingPathComponent("expected.json")))
    }

    static func translate(_ lines: [String], _ flags: [String]) throws -> [String] {
        let run = try runGlossa(["translate", "--model", fixture] + flags, stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(run.status == 0, "\(flags): \(run.stderr)")
        return run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    @Test func directorySettingsAreTheDefaultsAndFlagsOverrideThem() throws {
        let expected = try Self.expected()
        #expect(try Self.translate(expected.default.cases.map(\.source), []) == expected.default.cases.map(\.text))
        #expect(try Self.translate(expected.greedy.map(\.source), ["--beam-size", "1", "--max-length", "64"]) == expected.greedy.map(\.text))
    }

    @Test func outputDoesNotDependOnWindowBatchOrThreads() throws {
        let lines = try Self.expected().greedy.map(\.source).prefix(40) + [""]
        let reference = try Self.translate(Array(lines), ["--beam-size", "1", "--maxi-batch", "1", "--batch-size", "1", "--threads", "1"])
        #expect(reference.count == lines.count && reference.last == "")
        for flags in [["--maxi-batch", "100"], ["--batch-size", "7", "--threads", "2"], ["--batch-tokens", "40"], ["--batch-size", "32", "--maxi-batch", "2"]] {
            #expect(try Self.translate(Array(lines), ["--beam-size", "1"] + flags) == reference, "\(flags)")
        }
    }

    @Test func int8TranslatesEveryLine() throws {
        let lines = try Self.expected().greedy.map(\.source).prefix(20) + [""]
        let int8 = try Self.translate(Array(lines), ["--beam-size", "1", "--compute-type", "int8"])
        #expect(int8.count == lines.count && int8.last == "" && int8.dropLast().allSatisfy { !$0.isEmpty })
    }

    @Test func outOfRangeFlagsAreRefused() throws {
        for flags in [["--beam-size", "0"], ["--beam-size", "257"], ["--maxi-batch", "0"], ["--batch-tokens", "-1"],
                      ["--temperature", "nan"], ["--length-penalty", "inf"], ["--repetition-penalty", "0"],
                      ["--no-repeat-ngram-size", "-2"], ["--early-stopping", "sometimes"], ["--n-best", "2", "--temperature", "1"],
                      ["--compute-type", "int4"]] {
            let run = try runGlossa(["translate", "--model", Self.fixture] + flags + ["Hello."])
            #expect(run.status != 0 && run.status < 128 && !run.stderr.isEmpty, "\(flags)")
        }
    }
}
