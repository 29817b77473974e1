import ArgumentParser
import Foundation
import Glossa
import GlossaNN
import GlossaSentencePiece

/// `glossa tokenizer`: train, encode and decode with SentencePiece.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Train and apply SentencePiece tokenizers.",
        subcommands: [TokenizerTrain.self, TokenizerEncode.self, TokenizerDecode.self])
}

extension SentencePieceTrainer.ModelType: ExpressibleByArgument {}

/// How `glossa tokenizer encode` prints each line.
enum TokenizerOutputFormat: String, ExpressibleByArgument, CaseIterable {
    /// Space-separated ids, as `spm_encode --output_format=id`.
    case id
    /// Space-separated pieces, as `spm_encode --output_format=piece`.
    case piece
}

/// Options for reading raw input lines, shared by the subcommands that read text.
struct HygieneOptions: ParsableArguments {
    @Flag(help: "Replace invalid UTF-8 with U+FFFD instead of stopping with an error.")
    var replaceInvalid = false

    @Flag(help: "Keep control characters (they are removed by default; tab is always kept).")
    var keepControlCharacters = false

    @Flag(help: "Apply Unicode NFKC normalisation before the model's own normaliser.")
    var nfkc = false

    /// The hygiene policy these flags describe.
    var hygiene: TextHygiene {
        TextHygiene(invalidUTF8: replaceInvalid ? .replace : .reject, stripControlCharacters: !keepControlCharacters, nfkc: nfkc)
    }
}

/// `glossa tokenizer train`: one joint model over all inputs.
struct TokenizerTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train one joint SentencePiece model over all input files.")

    @Option(name: .customLong("input"), help: "A training text file, one sentence per line (repeat for several).")
    var inputs: [String] = []

    @Option(help: "Write <prefix>.model and <prefix>.vocab.")
    var modelPrefix: String

    @Option(help: "Number of pieces, special and user-defined ones included.")
    var vocabSize = 8000

    @Option(help: "Segmentation algorithm.")
    var modelType: SentencePieceTrainer.ModelType = .unigram

    @Option(help: "Share of characters the vocabulary must cover (0.98...1).")
    var characterCoverage = 0.9995

    @Option(help: "Comma-separated pieces always kept whole, e.g. '<2de>,<2en>'.")
    var userDefinedSymbols: String?

    @Option(help: "Train on a random sample of this many sentences (default: all).")
    var inputSentenceSize: Int?

    @Option(help: "Id of <unk>.") var unkId = 0
    @Option(help: "Id of <s>, or -1 for none.") var bosId = 1
    @Option(help: "Id of </s>, or -1 for none.") var eosId = 2
    @Option(help: "Id of <pad>, or -1 for none.") var padId = 3

    @Option(help: "Training threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Show libsentencepiece's training log.")
    var verbose = false

    @OptionGroup var hygiene: HygieneOptions

    /// The trainer options these flags describe.
    var options: SentencePieceTrainer.Options {
        var options = SentencePieceTrainer.Options()
        options.modelType = modelType
        options.vocabularySize = vocabSize
        options.characterCoverage = characterCoverage
        options.userDefinedSymbols = userDefinedSymbols.map { $0.split(separator: ",").map(String.init) } ?? []
        options.inputSentenceSize = inputSentenceSize
        func optional(_ id: Int) -> Int? { id < 0 ? nil : id }
        options.specialTokens = SpecialTokens(pad: optional(padId), unk: unkId, bos: optional(bosId), eos: optional(eosId))
        if let threads { options.threads = threads }
        options.hygiene = hygiene.hygiene
        options.verbose = verbose
        return options
    }

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("Give at least one --input file.") }
        guard unkId >= 0 else { throw ValidationError("--unk-id must be >= 0; SentencePiece needs an unknown piece.") }
        // Checked before training, which can take long, rather than when the files are written.
        let folder = (modelPrefix as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        guard !modelPrefix.isEmpty, folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue) else {
            throw ValidationError("--model-prefix '\(modelPrefix)' must name a file in an existing folder")
        }
        try FlagBounds.check(vocabSize, 1...1_000_000, "--vocab-size")
        try FlagBounds.check(finite: characterCoverage, 0.98...1.0, "--character-coverage")
        try FlagBounds.check(inputSentenceSize, 1...Int(Int32.max), "--input-sentence-size")
        try FlagBounds.check(threads, FlagBounds.threads, "--threads")
        for (flag, id) in [("--unk-id", unkId), ("--bos-id", bosId), ("--eos-id", eosId), ("--pad-id", padId)] {
            try FlagBounds.check(id, -1...(vocabSize - 1), flag)
        }
        do {
            try SentencePieceTrainer.validate(inputs: inputs, options: options)
        } catch let error as TokenizerError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let start = Date()
        // libsentencepiece writes its files without reporting write errors; train into a scratch folder, check the
        // model loads, then put both files in place atomically (a full disk is an error, an old model stays intact).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-spm-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let scratchPrefix = scratch.appendingPathComponent("model").path
        try SentencePieceTrainer.train(inputs: inputs, modelPrefix: scratchPrefix, options: options)
        let model = try InputFile.read(scratchPrefix + ".model", purpose: "the trained model", limit: InputFile.tokenizerLimit)
        let vocabulary = try InputFile.read(scratchPrefix + ".vocab", purpose: "the trained vocabulary", limit: InputFile.tokenizerLimit)
        do {
            _ = try SentencePieceTokenizer(modelData: model, source: "the trained model")
        } catch {
            throw CommandError(description: "training wrote no usable model (is the temporary folder full?): \(error)")
        }
        guard !vocabulary.isEmpty else { throw CommandError(description: "training wrote an empty vocabulary (is the temporary folder full?)") }
        let path = modelPrefix + ".model"
        for (suffix, bytes) in [(".model", model), (".vocab", vocabulary)] {
            let sink = try OutputSink(path: modelPrefix + suffix, inputs: inputs)
            try sink.write(bytes)
            try sink.close()
        }
        let seconds = Date().timeIntervalSince(start)
        StandardStreams.writeError("wrote \(path) in \(String(format: "%.1f", seconds)) s\n")
    }
}

/// `glossa tokenizer encode`: stdin lines to ids or pieces, one output line per input line.
struct TokenizerEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode", abstract: "Encode standard input, one line at a time, like spm_encode.",
        discussion: "Each output line is flushed as soon as it is made (with --jobs above 1, each batch of already buffered lines), so the command answers line by line in an interactive pipe.")

    @Option(help: "The SentencePiece .model file.")
    var model: String

    @Option(help: "What to print for each line.")
    var outputFormat: TokenizerOutputFormat = .id

    @Option(help: "Encode lines on this many threads (1 streams line by line; more batches buffered lines).")
    var jobs = 1

    @OptionGroup var hygiene: HygieneOptions

    func validate() throws {
        try FlagBounds.check(jobs, FlagBounds.threads, "--jobs")
    }

    func run() throws {
        let tokenizer = try SentencePieceTokenizer(modelPath: model)
        let encoder = LineEncoder(tokenizer: tokenizer, hygiene: hygiene.hygiene, format: outputFormat)
        do {
            if jobs == 1 {
                try encoder.stream(reader: LineReader(), writer: OutputWriter())
            } else {
                try encoder.streamBatched(reader: LineReader(), writer: OutputWriter(), jobs: jobs)
            }
        } catch let error as TokenizerError {
            if case .invalidUTF8 = error, !hygiene.replaceInvalid {
                throw CommandError(description: "\(error); pass --replace-invalid to replace invalid bytes with U+FFFD.")
            }
            throw error
        }
    }
}

/// `glossa tokenizer decode`: lines of space-separated ids to text.
struct TokenizerDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "Decode lines of space-separated ids from standard input, like spm_decode.")

    @Option(help: "The SentencePiece .model file.")
    var model: String

    func run() throws {
        let tokenizer = try SentencePieceTokenizer(modelPath: model)
        let reader = LineReader()
        let writer = OutputWriter()
        while let line = try reader.next(beforeBlocking: writer.flush) {
            var ids = [Int]()
            for field in line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                guard let text = String(validating: field, as: UTF8.self), let id = Int(text) else {
                    let shown = String(decoding: field, as: UTF8.self)
                    throw CommandError(description: "line \(reader.lineNumber): '\(shown)' is not an id.")
                }
                ids.append(id)
            }
            do {
                writer.write(Array(try tokenizer.decode(ids).utf8))
            } catch let error as TokenizerError {
                throw CommandError(description: "line \(reader.lineNumber): \(error).")
            }
            writer.write(byte: 0x0A)
            try writer.flush()
        }
        try writer.flush()
    }
}
