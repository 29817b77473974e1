import Foundation
import Testing

/// The contract every subcommand keeps, one table row per case (issue 18): whatever the input — empty, invalid
/// UTF-8, a flag at or past its documented bound, standard output on a full disk, standard error closed — `glossa`
/// ends with an exit status below 128 (never a death by signal) and, when it fails, a message on standard error.
/// The next finding of that kind becomes one more row.
@Suite struct CLIContractTests {
    /// How a row runs `glossa`.
    enum Stream: Sendable { case captured, devFull, closed }

    /// One case: the arguments, standard input, where stdout/stderr go, and what must come out.
    struct Row: Sendable, CustomStringConvertible {
        var args: [String]
        var stdin: String = ""
        var stdinBytes: [UInt8]? = nil
        var stdout: Stream = .captured
        var stderr: Stream = .captured
        /// The exit status expected (`nil`: any status below 128).
        var status: Int32?
        /// Text the message must contain (checked when stderr is captured).
        var message: String?

        var description: String { "glossa " + args.joined(separator: " ") }
    }

    static let root = GlossaRunner.repositoryRoot
    static let marian = root.appendingPathComponent("Tests/Fixtures/marian-tiny").path
    static let bert = root.appendingPathComponent("Tests/Fixtures/bert-tiny").path
    static let spm = GlossaRunner.tokenizerModel
    static let corpus = root.appendingPathComponent("corpora/en-de.dev.en").path
    static let invalid: [UInt8] = Array("good line\n".utf8) + [0x61, 0xFF, 0xFE, 0x62, 0x0A]

    /// A flag past its bound is a usage error (64) naming the flag.
    static func bound(_ args: [String], _ flag: String) -> Row { Row(args: args, status: 64, message: flag) }

    static let rows: [Row] = [
        // Empty input: empty output, exit 0.
        Row(args: ["translate", "--model", marian, "--threads", "1"], status: 0),
        Row(args: ["embed", "--model", bert, "--threads", "1"], status: 0),
        Row(args: ["tokenizer", "encode", "--model", spm], status: 0),
        Row(args: ["tokenizer", "decode", "--model", spm], status: 0),
        Row(args: ["similar", "--model", bert, "--corpus", corpus, "--threads", "1"], status: 0),
        // Invalid UTF-8: refused the same way everywhere, naming the line and the flag that would replace it.
        Row(args: ["translate", "--model", marian, "--threads", "1"], stdinBytes: invalid, status: 1, message: "--replace-invalid"),
        Row(args: ["embed", "--model", bert, "--threads", "1"], stdinBytes: invalid, status: 1, message: "--replace-invalid"),
        Row(args: ["similar", "--model", bert, "--corpus", corpus, "--threads", "1"], stdinBytes: invalid, status: 1, message: "--replace-invalid"),
        Row(args: ["tokenizer", "encode", "--model", spm], stdinBytes: invalid, status: 1, message: "--replace-invalid"),
        Row(args: ["embed", "--model", bert, "--threads", "1", "--replace-invalid"], stdinBytes: invalid, status: 0),
        // Standard output on a full disk: an error, never exit 0 with the output lost.
        Row(args: ["plugins"], stdout: .devFull, status: 1),
        Row(args: ["plugins", "--json"], stdout: .devFull, status: 1),
        Row(args: ["translate", "--model", marian, "--threads", "1", "Hello."], stdout: .devFull, status: 1),
        Row(args: ["embed", "--model", bert, "--threads", "1", "Hello."], stdout: .devFull, status: 1),
        Row(args: ["tokenizer", "encode", "--model", spm], stdin: "hello world\n", stdout: .devFull, status: 1),
        Row(args: ["score", "--hypotheses", corpus, "--references", corpus], stdout: .devFull, status: 1),
        Row(args: ["bench", "softmax", "--seconds", "0.01", "--threads", "1"], stdout: .devFull, status: 1),
        // A closed standard error never kills the process.
        Row(args: ["plugins"], stderr: .closed, status: 0),
        Row(args: ["translate", "--model", "/nonexistent"], stderr: .closed, status: 1),
        Row(args: ["tokenizer", "encode", "--model", spm], stdinBytes: invalid, stderr: .closed, status: 1),
        // Inputs: a folder, a missing file, an endless device, each one sentence naming the path.
        Row(args: ["score", "--hypotheses", "/tmp", "--references", corpus], status: 1, message: "'/tmp': it is a folder"),
        Row(args: ["score", "--hypotheses", "/nonexistent/h.txt", "--references", corpus], status: 1, message: "no such file"),
        Row(args: ["tokenizer", "encode", "--model", "/dev/zero"], stdin: "x\n", status: 1, message: "/dev/zero"),
        Row(args: ["train", "--recipe", "/tmp"], status: 1, message: "'/tmp': it is a folder"),
        Row(args: ["tokenizer", "encode", "--model", "/tmp"], stdin: "x\n", status: 1, message: "folder"),
        // Numeric flags at their bounds.
        bound(["translate", "--model", marian, "--compute-type", "int4", "x"], "--compute-type"),
        bound(["quantize", "--model", "/nonexistent", "--output", "/tmp/x"], "--model"),
        bound(["quantize", "--model", marian, "--output", ""], "--output"),
        Row(args: ["quantize", "--model", marian, "--output", marian], status: 1, message: "another folder"),
        bound(["translate", "--model", marian, "--threads", "2147483648", "x"], "--threads"),
        bound(["translate", "--model", marian, "--threads", "0", "x"], "--threads"),
        bound(["translate", "--model", marian, "--beam-size", "9223372036854775807", "x"], "--beam-size"),
        bound(["translate", "--model", marian, "--batch-size", "0", "x"], "--batch-size"),
        bound(["translate", "--model", marian, "--temperature", "nan", "x"], "--temperature"),
        bound(["translate", "--model", marian, "--temperature", "inf", "x"], "--temperature"),
        bound(["translate", "--model", marian, "--length-penalty", "nan", "x"], "--length-penalty"),
        bound(["translate", "--model", marian, "--top-k", "-1", "x"], "--top-k"),
        bound(["translate", "--model", marian, "--n-best", "2", "--temperature", "1", "x"], "--n-best"),
        bound(["eval", "--model", marian, "--source", corpus, "--references", corpus, "--threads", "2147483648"], "--threads"),
        bound(["embed", "--model", bert, "--batch-size", "9223372036854775807", "x"], "--batch-size"),
        bound(["embed", "--model", bert, "--threads", "2147483648", "x"], "--threads"),
        bound(["similar", "--model", bert, "--corpus", corpus, "--top-k", "0", "x"], "--top-k"),
        bound(["generate", "--max-new-tokens", "0", "x"], "--max-new-tokens"),
        bound(["generate", "--num-samples", "9223372036854775807", "x"], "--num-samples"),
        bound(["generate", "--temperature", "nan", "x"], "--temperature"),
        bound(["generate", "--threads", "2147483648", "x"], "--threads"),
        bound(["tokenizer", "encode", "--model", spm, "--jobs", "9223372036854775807"], "--jobs"),
        bound(["tokenizer", "train", "--input", corpus, "--model-prefix", "/tmp/x", "--threads", "2147483648"], "--threads"),
        bound(["tokenizer", "train", "--input", corpus, "--model-prefix", "/tmp/x", "--character-coverage", "nan"], "--character-coverage"),
        bound(["tokenizer", "train", "--input", corpus, "--model-prefix", "/tmp/x", "--vocab-size", "9223372036854775807"], "--vocab-size"),
        bound(["tokenizer", "train", "--input", corpus, "--model-prefix", "/nonexistent/folder/spm"], "--model-prefix"),
        bound(["train", "--recipe", "r.json", "--steps", "0"], "--steps"),
        bound(["train", "--recipe", "r.json", "--minutes", "nan"], "--minutes"),
        bound(["train", "--recipe", "r.json", "--output", ""], "--output"),
        bound(["train", "--recipe", "r.json", "--threads", "2147483648"], "--threads"),
        bound(["bench", "softmax", "--seconds", "nan"], "--seconds"),
        bound(["bench", "softmax", "--seconds", "inf"], "--seconds"),
        bound(["bench", "generate", "--positions", "0"], "--positions"),
        bound(["bench", "--threads", "2147483648"], "--threads"),
        bound(["align", "sft-data", "--source", corpus, "--target", corpus, "--limit=-1", "--output", "/tmp/x.jsonl"], "--limit"),
        bound(["align", "arithmetic-data", "--count", "2", "--max-operand", "9223372036854775807", "--output", "/tmp/x.jsonl"], "--max-operand"),
        bound(["align", "arithmetic-data", "--count", "0", "--output", "/tmp/x.jsonl"], "--count"),
        bound(["align", "arithmetic-data", "--count", "2", "--untagged-fraction", "nan", "--output", "/tmp/x.jsonl"], "--untagged-fraction"),
        bound(["align", "dpo-data", "--model", "m", "--source", corpus, "--references", corpus, "--samples", "9223372036854775807", "--output", "o"], "--samples"),
        bound(["align", "dpo-data", "--model", "m", "--source", corpus, "--references", corpus, "--limit=-5", "--output", "o"], "--limit"),
        bound(["align", "dpo-data", "--model", "m", "--source", corpus, "--references", corpus, "--length-tolerance", "inf", "--output", "o"], "--length-tolerance"),
        bound(["align", "eval", "--model", "m", "--data", "d", "--limit=-1"], "--limit"),
        bound(["align", "eval", "--model", "m", "--data", "d", "--max-new-tokens", "0"], "--max-new-tokens"),
        bound(["align", "preference", "--model", "m", "--reference", "r", "--data", "d", "--beta", "nan"], "--beta"),
        bound(["compare", "--recipe", "a", "--recipe", "b", "--threads", "2147483648"], "--threads"),
        bound(["compare", "--recipe", "a", "--recipe", "b", "--budget-minutes", "nan"], "--budget-minutes"),
        bound(["compare", "--recipe", "a", "--recipe", "b", "--beam-size", "100000"], "--beam-size"),
        bound(["serve"], "--model"),
        bound(["serve", "--model", "no-directory-given"], "--model"),
        bound(["serve", "--model", "a=\(marian)", "--port", "65536"], "--port"),
        bound(["serve", "--model", "a=\(marian)", "--max-batch-tokens", "0"], "--max-batch-tokens"),
        bound(["serve", "--model", "a=\(marian)", "--max-wait-ms=-1"], "--max-wait-ms"),
        bound(["serve", "--model", "a=\(marian)", "--max-request-bytes", "9223372036854775807"], "--max-request-bytes"),
        bound(["serve", "--model", "a=\(marian)", "--max-items", "0"], "--max-items"),
        bound(["serve", "--model", "a=\(marian)", "--max-queue", "0"], "--max-queue"),
        bound(["serve", "--model", "a=\(marian)", "--timeout", "nan"], "--timeout"),
        bound(["serve", "--model", "a=\(marian)", "--threads", "2147483648"], "--threads"),
        Row(args: ["serve", "--model", "a=/nonexistent"], status: 1, message: "not a directory"),
        Row(args: ["serve", "--model", "a=\(marian)", "--api-key-file", "/nonexistent"], status: 1, message: "--api-key-file"),
    ]

    @Test(arguments: rows)
    func keepsTheContract(_ row: Row) throws {
        let run = try runContract(row)
        #expect(run.status < 128, "\(row) died by signal \(run.status - 128):\n\(run.stderr)")
        if let status = row.status { #expect(run.status == status, "\(row): status \(run.status), stderr:\n\(run.stderr)") }
        if run.status != 0 && row.stderr == .captured {
            #expect(!run.stderr.isEmpty, "\(row) failed without a message")
        }
        if let message = row.message { #expect(run.stderr.contains(message), "\(row): stderr lacks '\(message)':\n\(run.stderr)") }
        if row.stdout == .devFull && row.stderr == .captured { #expect(run.stderr.contains("No space left on device"), "\(run.stderr)") }
    }

    /// Runs a row through `/bin/sh`, which can point stdout at /dev/full and close stderr for the child.
    func runContract(_ row: Row) throws -> (status: Int32, stderr: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-contract-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("stdin"), errors = folder.appendingPathComponent("stderr")
        try Data(row.stdinBytes ?? Array(row.stdin.utf8)).write(to: input)
        func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        var line = "exec " + ([try GlossaRunner.binary().path] + row.args).map(quoted).joined(separator: " ")
        line += " <" + quoted(input.path)
        switch row.stdout {
        case .captured: line += " >/dev/null"
        case .devFull: line += " >/dev/full"
        case .closed: line += " >&-"
        }
        switch row.stderr {
        case .captured: line += " 2>" + quoted(errors.path)
        case .devFull: line += " 2>/dev/full"
        case .closed: line += " 2>&-"
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", line]
        process.currentDirectoryURL = folder
        try process.run()
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return (status, (try? String(contentsOf: errors, encoding: .utf8)) ?? "")
    }
}
