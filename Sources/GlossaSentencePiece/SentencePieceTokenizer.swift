import CSentencePiece
import Glossa
import GlossaNN
import Foundation

/// A `Tokenizer` backed by a SentencePiece `.model` file (ours or anyone's, e.g. Marian's `source.spm`).
///
/// `@unchecked Sendable` because the wrapped `SentencePieceProcessor` is never mutated after loading and its
/// encode, decode and vocabulary lookups are `const` and documented thread-safe; sampling draws from a
/// per-thread generator that the shim reseeds on every call, so no state is shared between threads.
public final class SentencePieceTokenizer: Tokenizer, @unchecked Sendable {
    let handle: OpaquePointer
    /// The number of ids this tokenizer can produce.
    public let vocabularySize: Int
    /// The model's pad, unk, bos and eos ids.
    public let specialTokens: SpecialTokens
    /// The bytes of the `.model` file it was loaded from, kept so a model directory can store the tokenizer
    /// exactly as it came (re-serialising through the library need not give the same bytes).
    public let modelData: Data

    /// Loads a model from a `.model` file.
    /// The file is read through `InputFile` (pipes work; folders, missing files and files over
    /// `InputFile.tokenizerLimit` are refused by name) and parsed from memory.
    public convenience init(modelPath: String) throws {
        let bytes: Data
        do {
            bytes = try InputFile.read(modelPath, purpose: "the SentencePiece model", limit: InputFile.tokenizerLimit)
        } catch let error as InputFileError {
            throw TokenizerError.unreadableFile(path: modelPath, reason: error.reason)
        }
        try self.init(modelData: bytes, source: modelPath)
    }

    /// Loads a model from the bytes of a `.model` file; `source` names them in errors.
    public convenience init(modelData: some Collection<UInt8>, source: String = "model bytes") throws {
        let bytes = Array(modelData)
        try SentencePieceModelCheck.validate(bytes, source: source)
        var raw: OpaquePointer?
        let status = bytes.withUnsafeBytes { csp_processor_load_bytes($0.baseAddress, $0.count, &raw) }
        guard status == CSP_OK, let raw else {
            throw TokenizerError.invalidModel(source: source, reason: lastShimError())
        }
        self.init(handle: raw, modelData: Data(bytes))
    }

    init(handle: OpaquePointer, modelData: Data) {
        self.handle = handle
        self.modelData = modelData
        vocabularySize = Int(csp_vocab_size(handle))
        func special(_ id: Int32) -> Int? { id >= 0 ? Int(id) : nil }
        specialTokens = SpecialTokens(
            pad: special(csp_pad_id(handle)), unk: special(csp_unk_id(handle)),
            bos: special(csp_bos_id(handle)), eos: special(csp_eos_id(handle)))
    }

    deinit { csp_processor_free(handle) }

    /// The ids of one line, exactly as `spm_encode --output_format=id` gives them.
    public func encode(_ text: String) throws -> [Int] {
        let buffer = try IDBuffer()
        try text.withUTF8Bytes { try encode(utf8: $0, into: buffer) }
        return buffer.ids
    }

    /// The pieces of one line, exactly as `spm_encode --output_format=piece` gives them.
    public func pieces(_ text: String) throws -> [String] {
        let buffer = try PieceBuffer()
        try text.withUTF8Bytes { try encodePieces(utf8: $0, into: buffer) }
        return buffer.pieces
    }

    /// The text of a sequence of ids; control ids (bos, eos, pad) are dropped.
    public func decode(_ ids: [Int]) throws -> String {
        var narrow = [Int32]()
        narrow.reserveCapacity(ids.count)
        for id in ids {
            guard id >= 0, id < vocabularySize else {
                throw TokenizerError.idOutOfRange(id: id, vocabularySize: vocabularySize)
            }
            narrow.append(Int32(id))
        }
        let buffer = try ByteBuffer()
        let status = narrow.withUnsafeBufferPointer { csp_decode_ids(handle, $0.baseAddress, $0.count, buffer.raw) }
        guard status == CSP_OK else { throw TokenizerError.encodingFailed(reason: lastShimError()) }
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    /// The piece for one id, or the empty string for an id outside the vocabulary.
    public func piece(for id: Int) -> String {
        guard id >= 0, id < vocabularySize else { return "" }
        var base: UnsafePointer<CChar>?
        var length = 0
        guard csp_id_to_piece(handle, Int32(id), &base, &length) == CSP_OK, let base else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: base, count: length), as: UTF8.self)
    }

    /// The id of a piece, or `nil` if the vocabulary lacks it (unknown pieces do not map to unk here).
    public func id(for piece: String) -> Int? {
        let id = piece.withUTF8Bytes { bytes in
            bytes.withMemoryRebound(to: CChar.self) { csp_piece_to_id(handle, $0.baseAddress, $0.count) }
        }
        return id >= 0 ? Int(id) : nil
    }

    /// Whether `id` is a control symbol such as bos, eos or pad.
    public func isControl(_ id: Int) -> Bool {
        id >= 0 && id < vocabularySize && csp_is_control(handle, Int32(id)) != 0
    }

    /// Encodes UTF-8 bytes into `buffer` without going through `String`; the fast path of the CLI and batches.
    public func encode(utf8 bytes: UnsafeBufferPointer<UInt8>, into buffer: IDBuffer) throws {
        let status = bytes.withMemoryRebound(to: CChar.self) { csp_encode_ids(handle, $0.baseAddress, $0.count, buffer.raw) }
        guard status == CSP_OK else { throw TokenizerError.encodingFailed(reason: lastShimError()) }
    }

    /// Encodes UTF-8 bytes into pieces in `buffer` without going through `String`.
    public func encodePieces(utf8 bytes: UnsafeBufferPointer<UInt8>, into buffer: PieceBuffer) throws {
        let status = bytes.withMemoryRebound(to: CChar.self) { csp_encode_pieces(handle, $0.baseAddress, $0.count, buffer.raw) }
        guard status == CSP_OK else { throw TokenizerError.encodingFailed(reason: lastShimError()) }
    }
}

extension SentencePieceTokenizer: PersistableTokenizer {
    /// The `.model` file's bytes as `name`: the one file the `sentencepiece` plugin reads back.
    public func files(named name: String) throws -> [String: Data] { [name: modelData] }
}
