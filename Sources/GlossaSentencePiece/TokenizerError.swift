/// Everything that can go wrong while loading, training or applying a tokenizer, each with a sentence a user understands.
public indirect enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A line of input is not valid UTF-8; `line` is 1-based, `byteOffset` is 0-based within the line.
    case invalidUTF8(line: Int, byteOffset: Int)
    /// A file could not be opened or read.
    case unreadableFile(path: String, reason: String)
    /// The bytes are not a SentencePiece model (truncated, garbage, or another format).
    case invalidModel(source: String, reason: String)
    /// An id is outside `0..<vocabularySize`.
    case idOutOfRange(id: Int, vocabularySize: Int)
    /// libsentencepiece refused to encode or decode.
    case encodingFailed(reason: String)
    /// A trainer option or sampling setting is out of its valid range.
    case invalidOption(name: String, reason: String)
    /// libsentencepiece's trainer failed.
    case trainingFailed(reason: String)
    /// An error found while reading the file at `path`.
    case inFile(path: String, error: TokenizerError)

    /// The sentence shown to users.
    public var description: String {
        switch self {
        case let .invalidUTF8(line, byteOffset):
            return "line \(line) is not valid UTF-8 (first bad byte at offset \(byteOffset) of the line)"
        case let .unreadableFile(path, reason):
            return "cannot read '\(path)': \(reason)"
        case let .invalidModel(source, reason):
            return "'\(source)' is not a usable SentencePiece model: \(reason)"
        case let .idOutOfRange(id, vocabularySize):
            return "id \(id) is outside the vocabulary (valid ids are 0..<\(vocabularySize))"
        case let .encodingFailed(reason):
            return "SentencePiece failed: \(reason)"
        case let .invalidOption(name, reason):
            return "invalid \(name): \(reason)"
        case let .trainingFailed(reason):
            return "SentencePiece training failed: \(reason)"
        case let .inFile(path, error):
            return "\(path): \(error)"
        }
    }
}
