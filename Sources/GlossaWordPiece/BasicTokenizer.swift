import CUTF8Proc
import Foundation

/// BERT's basic tokenisation (Devlin et al. 2019, `BasicTokenizer` in google-research/bert, `BertNormalizer` +
/// `BertPreTokenizer` in Hugging Face tokenizers): control characters removed, whitespace unified, CJK
/// ideographs split into single words, optional accent stripping (NFD, then non-spacing marks dropped) and
/// lower-casing, then words split on whitespace and on every punctuation character.
public struct BasicTokenizer: Sendable, Equatable {
    /// Lower-case the text (`do_lower_case`).
    public var lowercase: Bool
    /// Strip accents; `nil` follows `lowercase`, as in transformers (`strip_accents`).
    public var stripAccents: Bool?
    /// Put spaces around CJK ideographs (`tokenize_chinese_chars`).
    public var splitCJK: Bool

    /// A basic tokenizer with BERT-uncased defaults.
    public init(lowercase: Bool = true, stripAccents: Bool? = nil, splitCJK: Bool = true) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents
        self.splitCJK = splitCJK
    }

    /// The words of `text`, normalised, each a run of scalars.
    public func words(_ text: String) -> [[Unicode.Scalar]] {
        var scalars = clean(text)
        if stripAccents ?? lowercase { scalars = Self.withoutAccents(scalars) }
        if lowercase { scalars = scalars.map(Self.lowercased) }
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for s in scalars {
            if s == " " {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
            } else if Self.isPunctuation(s) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
                words.append([s])
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Drops NUL, U+FFFD and control characters, turns whitespace into spaces, and isolates CJK ideographs.
    func clean(_ text: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            let v = s.value
            if v < 0x80 {
                if v == 0x20 || v == 0x09 || v == 0x0A || v == 0x0D { out.append(" ") } else if v >= 0x20 && v != 0x7F { out.append(s) }
                continue
            }
            if v == 0xFFFD { continue }
            let category = utf8proc_category(Int32(bitPattern: v))
            switch category {
            case UTF8PROC_CATEGORY_CC, UTF8PROC_CATEGORY_CF, UTF8PROC_CATEGORY_CS, UTF8PROC_CATEGORY_CO, UTF8PROC_CATEGORY_CN:
                continue
            case UTF8PROC_CATEGORY_ZS, UTF8PROC_CATEGORY_ZL, UTF8PROC_CATEGORY_ZP:
                out.append(" ")
            default:
                if splitCJK && Self.isCJK(v) { out += [" ", s, " "] } else { out.append(s) }
            }
        }
        return out
    }

    /// NFD through utf8proc, then every non-spacing mark (category Mn) removed.
    static func withoutAccents(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard scalars.contains(where: { $0.value >= 0x80 }) else { return scalars }
        let utf8 = Array(String(String.UnicodeScalarView(scalars)).utf8)
        let options = utf8proc_option_t(rawValue: UTF8PROC_STABLE.rawValue | UTF8PROC_DECOMPOSE.rawValue)
        var buffer = [Int32](repeating: 0, count: utf8.count * 2 + 8)
        var count = 0
        while true {
            let capacity = buffer.count
            count = utf8.withUnsafeBufferPointer { input in
                buffer.withUnsafeMutableBufferPointer { output in
                    utf8proc_decompose(input.baseAddress, input.count, output.baseAddress, capacity, options)
                }
            }
            if count < 0 { return scalars }  // not reachable for a Swift string (always valid Unicode)
            if count <= capacity { break }
            buffer = [Int32](repeating: 0, count: count)
        }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(count)
        for code in buffer[0..<count] where utf8proc_category(code) != UTF8PROC_CATEGORY_MN {
            if let s = Unicode.Scalar(UInt32(bitPattern: code)) { out.append(s) }
        }
        return out
    }

    /// The simple lower-case mapping (utf8proc), ASCII without a call.
    static func lowercased(_ s: Unicode.Scalar) -> Unicode.Scalar {
        let v = s.value
        if v < 0x80 { return v >= 0x41 && v <= 0x5A ? Unicode.Scalar(UInt8(v + 32)) : s }
        return Unicode.Scalar(UInt32(bitPattern: utf8proc_tolower(Int32(bitPattern: v)))) ?? s
    }

    /// BERT's punctuation: every non-alphanumeric printable ASCII character, and Unicode category P*.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        if v < 0x80 { return false }
        switch utf8proc_category(Int32(bitPattern: v)) {
        case UTF8PROC_CATEGORY_PC, UTF8PROC_CATEGORY_PD, UTF8PROC_CATEGORY_PS, UTF8PROC_CATEGORY_PE,
             UTF8PROC_CATEGORY_PI, UTF8PROC_CATEGORY_PF, UTF8PROC_CATEGORY_PO:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideograph blocks BERT splits (not Hangul, Hiragana or Katakana).
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
