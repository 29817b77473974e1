import Testing
import Glossa

/// Checks what every `Tokenizer` promises on `texts`: ids in `0..<vocabularySize`, one piece per id,
/// `encodeBatch` equal to encoding one text after another, `id(for: piece(for: id))` giving the id back (or
/// the unknown id), and the round trip `decode(encode(text)) == expected(text)`; pass `expected` for a
/// tokenizer that normalises (lower-cases, say), or nil to skip the round trip.
public func checkTokenizerConformance(
    _ tokenizer: any Tokenizer, texts: [String], expected: ((String) -> String)? = { $0 },
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let ids = try texts.map { try tokenizer.encode($0) }
    #expect(try tokenizer.encodeBatch(texts) == ids, "encodeBatch differs from encode", sourceLocation: sourceLocation)
    for (text, sequence) in zip(texts, ids) {
        #expect(sequence.allSatisfy { (0..<tokenizer.vocabularySize).contains($0) },
                "'\(text)': an id is outside 0..<\(tokenizer.vocabularySize)", sourceLocation: sourceLocation)
        #expect(try tokenizer.pieces(text).count == sequence.count, "'\(text)': pieces and ids differ in count", sourceLocation: sourceLocation)
        for id in sequence {
            let back = tokenizer.id(for: tokenizer.piece(for: id))
            #expect(back == id || back == tokenizer.specialTokens.unk, "'\(text)': id \(id) → piece → \(String(describing: back))",
                    sourceLocation: sourceLocation)
        }
        if let expected {
            #expect(try tokenizer.decode(sequence) == expected(text), "'\(text)' does not survive encode → decode", sourceLocation: sourceLocation)
        }
    }
    #expect(try tokenizer.encode(texts.first ?? "") == (ids.first ?? []), "encode is deterministic", sourceLocation: sourceLocation)
}
