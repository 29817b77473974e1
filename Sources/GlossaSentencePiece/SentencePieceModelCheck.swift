/// Checks what libsentencepiece loads without checking: the normalization tables (`precompiled_charsmap` of the
/// model's `normalizer_spec` and `denormalizer_spec`). libsentencepiece 0.1.97 accepts a damaged table and then
/// reads past it on the first encode (found by `make fuzz`, target `sentencepiece-model`; the input is kept in
/// `Fuzz/Regressions/sentencepiece-model`), so a table is refused unless every offset in it stays inside it.
///
/// The table layout is SentencePiece's `normalizer.cc` (`DecodePrecompiledCharsMap`): a little-endian `UInt32` trie
/// size, a darts-clone double array of that many bytes, then NUL-terminated replacement strings the trie's values
/// point into. The protobuf fields are those of `sentencepiece_model.proto`.
enum SentencePieceModelCheck {
    /// Throws `TokenizerError.invalidModel` when a normalization table in the serialized model is damaged.
    /// Bytes that are not a well-formed protobuf are left to libsentencepiece, which refuses them itself.
    static func validate(_ bytes: [UInt8], source: String) throws {
        guard let tables = charsmaps(in: bytes) else {
            throw TokenizerError.invalidModel(source: source, reason: "its protobuf encoding is malformed or holds groups, which no SentencePiece model has")
        }
        for table in tables {
            if let problem = problem(inCharsmap: table) {
                throw TokenizerError.invalidModel(source: source, reason: "its normalization table is damaged (\(problem))")
            }
        }
    }

    /// The `precompiled_charsmap` bytes of every `normalizer_spec` (field 3) and `denormalizer_spec` (field 5);
    /// nil when the encoding is one this reader cannot follow as protobuf would (then it is refused, not trusted).
    static func charsmaps(in model: [UInt8]) -> [ArraySlice<UInt8>]? {
        var tables: [ArraySlice<UInt8>] = []
        guard let top = fields(model[...]) else { return nil }
        for (field, value) in top where field == 3 || field == 5 {
            guard let inner = fields(value) else { return nil }
            for (number, table) in inner where number == 2 { tables.append(table) }
        }
        return tables
    }

    /// The length-delimited fields of a protobuf message; nil at a malformed byte or a group.
    static func fields(_ message: ArraySlice<UInt8>) -> [(Int, ArraySlice<UInt8>)]? {
        var out: [(Int, ArraySlice<UInt8>)] = []
        var index = message.startIndex
        func varint() -> UInt64? {
            var result: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                guard index < message.endIndex else { return nil }
                let byte = message[index]
                index += 1
                result |= UInt64(byte & 0x7F) << UInt64(shift)
                if byte & 0x80 == 0 { return result }
            }
            return nil
        }
        while index < message.endIndex {
            guard let tag = varint() else { return nil }
            switch tag & 7 {
            case 0: guard varint() != nil else { return nil }
            case 1: guard message.endIndex - index >= 8 else { return nil }; index += 8
            case 5: guard message.endIndex - index >= 4 else { return nil }; index += 4
            case 2:
                guard let length = varint(), length <= UInt64(message.endIndex - index) else { return nil }
                let end = index + Int(length)
                out.append((Int(tag >> 3), message[index..<end]))
                index = end
            default: return nil
            }
        }
        return out
    }

    /// Why a charsmap is unsafe to use, or nil when every trie offset and value stays inside it.
    static func problem(inCharsmap table: ArraySlice<UInt8>) -> String? {
        if table.isEmpty { return nil }  // no table: identity normalization
        guard table.count > 4 else { return "the table is \(table.count) bytes" }
        let start = table.startIndex
        let trieBytes = Int(table[start]) | Int(table[start + 1]) << 8 | Int(table[start + 2]) << 16 | Int(table[start + 3]) << 24
        guard trieBytes % 4 == 0, trieBytes >= 4, 4 + trieBytes < table.count else {
            return "a trie of \(trieBytes) bytes does not fit a table of \(table.count)"
        }
        let strings = table[(start + 4 + trieBytes)...]
        guard strings.last == 0 else { return "the replacement strings do not end with NUL" }
        let units = trieBytes / 4
        func unit(_ position: Int) -> UInt32 {
            let o = start + 4 + 4 * position
            return UInt32(table[o]) | UInt32(table[o + 1]) << 8 | UInt32(table[o + 2]) << 16 | UInt32(table[o + 3]) << 24
        }
        for position in 0..<units {
            let u = unit(position)
            if u & (1 << 31) != 0 { continue }  // a value unit, read only through its parent below
            // darts-clone's offset(): the children sit at (position ^ offset) ^ label for labels 0...255.
            let children = position ^ Int((u >> 10) << ((u & (1 << 9)) >> 6))
            guard children | 0xFF < units else { return "a trie offset points past the trie" }
            // has_leaf(): commonPrefixSearch reads the value of the label-0 child, whatever that unit holds, and
            // Normalizer uses it as an offset into the NUL-terminated replacement strings.
            if u & (1 << 8) != 0, Int(unit(children) & 0x7FFF_FFFF) >= strings.count {
                return "a value points past the replacement strings"
            }
        }
        return nil
    }
}
