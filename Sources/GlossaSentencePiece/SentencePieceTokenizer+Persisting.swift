import Foundation
import Glossa

extension SentencePieceTokenizer: PersistableTokenizer {
    /// The `.model` file's bytes as `name`: the one file the `sentencepiece` plugin reads back.
    public func files(named name: String) throws -> [String: Data] { [name: modelData] }
}
