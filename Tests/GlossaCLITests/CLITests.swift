import Foundation
import Testing

/// The `glossa` command line, run as a subprocess: help, exit codes and messages, and `glossa plugins`.
@Suite struct CLITests {
    @Test func helpListsTheSubcommands() throws {
        let run = try runGlossa(["--help"])
        #expect(run.status == 0)
        let subcommands = try #require(run.stdout.range(of: "SUBCOMMANDS:")).upperBound
        let listed = run.stdout[subcommands...]
        for name in ["tokenizer", "bench", "score", "plugins", "embed", "similar"] {
            #expect(listed.contains("  \(name) "), "glossa --help does not list \(name)")
        }
    }

    @Test func unknownSubcommandFails() throws {
        let run = try runGlossa(["frobnicate"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("frobnicate"))
        #expect(run.stdout.isEmpty)
    }

    @Test func unknownOptionFails() throws {
        let run = try runGlossa(["plugins", "--no-such-option"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("--no-such-option"))
    }

    @Test func pluginsListsEveryBuiltinWithItsKind() throws {
        let run = try runGlossa(["plugins"])
        #expect(run.status == 0)
        let rows = outputLines(run.stdout).map { $0.split(separator: " ").map(String.init) }
        try #require(rows.count == 18, "expected a header and seventeen plugins, got:\n\(run.stdout)")
        #expect(rows[0] == ["name", "kind", "model_types", "summary"])
        let kinds = Dictionary(rows.dropFirst().map { ($0[0], $0[1]) }, uniquingKeysWith: { first, _ in first })
        #expect(kinds == ["marian": "translator", "causal-lm": "language-model", "sentencepiece": "tokenizer", "bert": "encoder", "wordpiece": "tokenizer",
                          "mean-pooling": "pooler", "max-pooling": "pooler", "cls-pooling": "pooler", "last-token-pooling": "pooler",
                          "weighted-mean-pooling": "pooler", "mean-sqrt-len-pooling": "pooler",
                          "greedy": "sampler", "beam": "sampler", "sampling": "sampler",
                          "rnn": "translator", "rnn-encoder": "encoder", "rnn-lm": "language-model"])
        #expect(rows[1][2] == "marian", "marian reads the Hugging Face model_type marian")
    }

    @Test func pluginsColumnsAreAligned() throws {
        let run = try runGlossa(["plugins"])
        let lines = outputLines(run.stdout)
        let header = try #require(lines.first)
        for column in ["kind", "model_types", "summary"] {
            let offset = header.distance(from: header.startIndex, to: try #require(header.range(of: column)).lowerBound)
            for line in lines.dropFirst() {
                try #require(line.count > offset, "line too short: '\(line)'")
                let index = line.index(line.startIndex, offsetBy: offset)
                #expect(line[line.index(before: index)] == " " && line[index] != " ", "column \(column) misaligned in '\(line)'")
            }
        }
    }

    @Test func pluginsJSON() throws {
        let run = try runGlossa(["plugins", "--json"])
        #expect(run.status == 0)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(objects.compactMap { $0["name"] as? String } == [
            "marian", "causal-lm", "sentencepiece", "bert", "wordpiece", "mean-pooling", "max-pooling", "cls-pooling", "last-token-pooling",
            "weighted-mean-pooling", "mean-sqrt-len-pooling", "greedy", "beam", "sampling", "rnn", "rnn-encoder", "rnn-lm",
        ])
        #expect(objects.compactMap { $0["kind"] as? String } == ["translator", "language-model", "tokenizer", "encoder", "tokenizer"]
            + [String](repeating: "pooler", count: 6) + ["sampler", "sampler", "sampler", "translator", "encoder", "language-model"])
        #expect(objects.first?["model_types"] as? [String] == ["marian"])
        #expect(objects.allSatisfy { !(($0["summary"] as? String) ?? "").isEmpty })
    }
}
