import Foundation
import Glossa
import GlossaNN
import GlossaSentencePiece

extension TokenizerRecipe {
    /// The recipe's SentencePiece model, trained first on both sides of `data`'s training text when its file does not
    /// exist yet (Marian's conventions: `</s>` = 0, `<unk>` = 1, `<pad>` the last id, no `<s>`).
    func prepare(training data: DataFiles, log: (String) -> Void) throws -> SentencePieceTokenizer {
        if !FileManager.default.fileExists(atPath: model) {
            guard let type = SentencePieceTrainer.ModelType(rawValue: modelType) else {
                throw GlossaError.invalidConfiguration("tokenizer model_type must be one of "
                    + "\(SentencePieceTrainer.ModelType.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(modelType)\"")
            }
            var options = SentencePieceTrainer.Options()
            options.modelType = type
            options.vocabularySize = vocabSize
            options.characterCoverage = characterCoverage
            options.specialTokens = SpecialTokens(pad: vocabSize - 1, unk: 1, bos: nil, eos: 0)
            let destination = URL(fileURLWithPath: model)
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            let start = Date()
            let bytes = try SentencePieceTrainer.trainModel(inputs: [data.train.source, data.train.target], options: options)
            try AtomicFile.write(Data(bytes), to: destination)
            log(String(format: "tokenizer: trained %@ (%d pieces) in %.1f s", model, vocabSize, Date().timeIntervalSince(start)))
        }
        return try SentencePieceTokenizer(modelPath: model)
    }
}

extension JSONValue {
    /// The plugin configuration with the tokenizer's vocabulary size and special ids filled in; `bos` also sets
    /// `bos_token_id` (with no `<s>` piece, `</s>` starts each sentence: GPT-2's convention), `decoderStart` sets
    /// `decoder_start_token_id` to the pad id (Marian's convention).
    func filled(from tokenizer: any Tokenizer, eos: Bool = true, bos: Bool = false, decoderStart: Bool = false) throws -> JSONValue {
        let special = tokenizer.specialTokens
        guard let pad = special.pad else { throw GlossaError.invalidConfiguration("the tokenizer needs a <pad> piece") }
        var value = setting("vocab_size", .number(Double(tokenizer.vocabularySize))).setting("pad_token_id", .number(Double(pad)))
        if eos || bos || decoderStart {
            guard let end = special.eos else { throw GlossaError.invalidConfiguration("the tokenizer needs a </s> piece") }
            if eos { value = value.setting("eos_token_id", .number(Double(end))) }
            if bos { value = value.setting("bos_token_id", .number(Double(special.bos ?? end))) }
        }
        if decoderStart { value = value.setting("decoder_start_token_id", .number(Double(pad))) }
        return value
    }
}
