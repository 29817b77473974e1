import ArgumentParser

/// `glossa tokenizer`: train, encode and decode with SentencePiece.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenizer", abstract: "Train and apply SentencePiece tokenizers.")
}
