import CSentencePiece
import Foundation
import Glossa
import GlossaNN

/// Trains SentencePiece models with libsentencepiece's own trainer, after checking the input with `TextHygiene`.
public enum SentencePieceTrainer {
    /// The segmentation algorithm.
    public enum ModelType: String, Sendable, CaseIterable, Codable {
        /// Unigram language model (Kudo 2018); supports n-best and lattice sampling.
        case unigram
        /// Byte-pair encoding (Sennrich et al. 2016); supports BPE-dropout sampling.
        case bpe
    }

    /// Everything the trainer can be told; defaults follow `spm_train` except that a pad id is reserved.
    public struct Options: Sendable, Equatable {
        /// The segmentation algorithm.
        public var modelType: ModelType = .unigram
        /// The number of pieces, special and user-defined ones included.
        public var vocabularySize: Int = 8000
        /// The share of characters the vocabulary must cover; rarer ones become unk (0.98...1).
        public var characterCoverage: Double = 0.9995
        /// Pieces always kept whole, such as language tags (`<2de>`); no commas or whitespace.
        public var userDefinedSymbols: [String] = []
        /// Ids of the special pieces; unk is required, a `nil` id leaves that piece out.
        public var specialTokens = SpecialTokens(pad: 3, unk: 0, bos: 1, eos: 2)
        /// Train on a random sample of this many sentences, or on all when `nil`; libsentencepiece 0.1.97 offers no
        /// reliable seed for this sample, so such runs need not repeat.
        public var inputSentenceSize: Int?
        /// Worker threads for training.
        public var threads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
        /// The check applied to every input line first; `nil` hands files to SentencePiece unread.
        public var hygiene: TextHygiene? = TextHygiene()
        /// Let libsentencepiece log its progress to stderr.
        public var verbose = false
        /// Further `spm_train` flags by name without `--` (e.g. `"max_sentence_length": "8192"`); they win over the above.
        public var extraFlags: [String: String] = [:]

        /// Makes the default options.
        public init() {}
    }

    /// Trains one joint model over all `inputs` and writes `<modelPrefix>.model` and `.vocab`; returns the `.model` path.
    @discardableResult
    public static func train(inputs: [String], modelPrefix: String, options: Options = Options()) throws -> String {
        guard !modelPrefix.isEmpty else {
            throw TokenizerError.invalidOption(name: "model prefix", reason: "must not be empty")
        }
        try run(inputs: inputs, options: options, destination: ["model_prefix": modelPrefix], output: nil)
        return modelPrefix + ".model"
    }

    /// Trains one joint model over all `inputs` and returns the bytes of its `.model` file, writing no files.
    public static func trainModel(inputs: [String], options: Options = Options()) throws -> [UInt8] {
        guard let output = csp_bytes_create() else { throw TokenizerError.trainingFailed(reason: "out of memory") }
        defer { csp_bytes_free(output) }
        try run(inputs: inputs, options: options, destination: [:], output: output)
        return Array(UnsafeRawBufferPointer(start: csp_bytes_data(output), count: csp_bytes_count(output)))
    }

    static func run(inputs: [String], options: Options, destination: [String: String], output: OpaquePointer?) throws {
        try validate(inputs: inputs, options: options)
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("glossa-spm-\(UInt64.random(in: 0...UInt64.max))", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var paths = [String]()
        for (index, input) in inputs.enumerated() {
            paths.append(try checkedInput(input, index: index, hygiene: options.hygiene, scratch: scratch))
        }
        var flags = flags(options: options)
        flags["input"] = paths.joined(separator: ",")
        flags.merge(destination) { _, new in new }
        flags.merge(options.extraFlags) { _, new in new }

        let keys = flags.keys.sorted()
        let values = keys.map { flags[$0] ?? "" }
        let status = withCStrings(keys) { keyPointers in
            withCStrings(values) { valuePointers in
                csp_train_kv(keyPointers, valuePointers, keys.count, output)
            }
        }
        guard status == CSP_OK else { throw TokenizerError.trainingFailed(reason: lastShimError()) }
    }

    static func flags(options: Options) -> [String: String] {
        var flags: [String: String] = [
            "model_type": options.modelType.rawValue,
            "vocab_size": String(options.vocabularySize),
            "character_coverage": String(options.characterCoverage),
            "num_threads": String(options.threads),
            "minloglevel": options.verbose ? "0" : "1",
            "unk_id": String(options.specialTokens.unk ?? -1),
            "bos_id": String(options.specialTokens.bos ?? -1),
            "eos_id": String(options.specialTokens.eos ?? -1),
            "pad_id": String(options.specialTokens.pad ?? -1),
        ]
        if !options.userDefinedSymbols.isEmpty {
            flags["user_defined_symbols"] = options.userDefinedSymbols.joined(separator: ",")
        }
        if let size = options.inputSentenceSize {
            flags["input_sentence_size"] = String(size)
            flags["shuffle_input_sentence"] = "true"
        }
        return flags
    }

    /// Throws `TokenizerError.invalidOption` for options libsentencepiece would refuse.
    ///
    /// Checked here because some of libsentencepiece's checks end the process instead of returning.
    public static func validate(inputs: [String], options: Options) throws {
        func invalid(_ name: String, _ reason: String) -> TokenizerError { .invalidOption(name: name, reason: reason) }
        guard !inputs.isEmpty else { throw invalid("input", "give at least one input file") }
        for input in inputs where input.contains(",") {
            throw invalid("input", "'\(input)': SentencePiece separates input files with commas, so a path cannot contain one")
        }
        guard options.vocabularySize > 0 else { throw invalid("vocabulary size", "must be positive, got \(options.vocabularySize)") }
        guard (0.98...1.0).contains(options.characterCoverage) else {
            throw invalid("character coverage", "must be between 0.98 and 1.0, got \(options.characterCoverage)")
        }
        guard options.threads >= 1, options.threads <= 128 else { throw invalid("threads", "must be in 1...128, got \(options.threads)") }
        if let size = options.inputSentenceSize, size <= 100 {
            throw invalid("input sentence size", "must be more than 100 sentences, got \(size)")
        }
        for symbol in options.userDefinedSymbols
        where symbol.isEmpty || symbol.contains(",") || symbol.contains(where: \.isWhitespace) {
            throw invalid("user-defined symbol", "'\(symbol)' must be non-empty with no commas or whitespace")
        }
        guard Set(options.userDefinedSymbols).count == options.userDefinedSymbols.count else {
            throw invalid("user-defined symbols", "each symbol may appear only once")
        }
        let special = options.specialTokens
        guard let unk = special.unk else { throw invalid("unk id", "SentencePiece needs an unknown-piece id") }
        let ids = [unk] + [special.bos, special.eos, special.pad].compactMap { $0 }
        guard Set(ids).count == ids.count else { throw invalid("special ids", "unk, bos, eos and pad ids must differ, got \(ids)") }
        let reserved = ids.count + options.userDefinedSymbols.count
        // Any id inside the vocabulary works (Marian puts <pad> last), as libsentencepiece allows.
        for id in ids where id < 0 || id >= options.vocabularySize {
            throw invalid("special ids", "id \(id) must be in 0..<\(options.vocabularySize), the vocabulary")
        }
        guard options.vocabularySize > reserved else {
            throw invalid("vocabulary size", "\(options.vocabularySize) leaves no room beside \(reserved) special and user-defined pieces")
        }
    }

    /// The path to train on for one input: the file itself when every line is clean, else a cleaned copy in `scratch`.
    static func checkedInput(_ path: String, index: Int, hygiene: TextHygiene?, scratch: URL) throws -> String {
        guard let hygiene else {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw TokenizerError.unreadableFile(path: path, reason: "no such readable file")
            }
            return path
        }
        let data: Data
        do {
            data = try InputFile.read(path, purpose: "the training text", limit: InputFile.textLimit)
        } catch let error as InputFileError {
            throw TokenizerError.unreadableFile(path: path, reason: error.reason)
        }
        do {
            let cleaned: [UInt8]? = try data.withUnsafeBytes { raw in
                let bytes = raw.bindMemory(to: UInt8.self)
                var allClean = true
                try TextHygiene.forEachLine(in: bytes) { line, number in
                    if try !hygiene.isCleanForTraining(line, lineNumber: number) { allClean = false }
                }
                if allClean { return nil }
                var output = [UInt8]()
                output.reserveCapacity(bytes.count)
                try TextHygiene.forEachLine(in: bytes) { line, number in
                    try hygiene.withCleanLine(line, lineNumber: number) { output.append(contentsOf: $0) }
                    output.append(0x0A)
                }
                return output
            }
            guard let cleaned else { return path }
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            let copy = scratch.appendingPathComponent("input-\(index).txt")
            try Data(cleaned).write(to: copy)
            return copy.path
        } catch let error as TokenizerError {
            throw TokenizerError.inFile(path: path, error: error)
        }
    }

    /// Calls `body` with a C array of NUL-terminated copies of `strings`, valid only during the call.
    static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { buffer in
            // An empty array may have no storage; hand the shim a valid pointer anyway.
            guard let base = buffer.baseAddress else {
                var none: UnsafePointer<CChar>? = nil
                return withUnsafePointer(to: &none) { body($0) }
            }
            return body(base)
        }
    }
}

extension TextHygiene {
    /// Whether a line can go to the trainer unchanged (NFKC is applied through the cleaned copy when asked for).
    func isCleanForTraining(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws -> Bool {
        try !nfkc && isClean(line, lineNumber: lineNumber)
    }
}
