/// The `13a` tokenizer of mteval-v13a.pl as sacreBLEU 2.x applies it before BLEU (`tokenizer_13a.py`):
/// unescapes a few HTML entities, then splits off punctuation, keeping `.` and `,` inside numbers.
///
/// Works on Unicode code points, like Python; named apart from Glossa's subword `Tokenizer` protocol.
public struct Tokenizer13a: Sendable, Equatable {
    /// Makes the tokenizer; it has no settings.
    public init() {}

    /// The tokens of one line, joined by single spaces (what sacreBLEU's `Tokenizer13a()(line)` returns).
    public func callAsFunction(_ line: String) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: tokenize(Array(line.unicodeScalars)).text)
        return String(out)
    }

    /// The tokens of one line.
    public func tokens(_ line: String) -> [String] {
        let (text, words) = tokenize(Array(line.unicodeScalars))
        return words.map { range in
            var word = String.UnicodeScalarView()
            word.append(contentsOf: text[range])
            return String(word)
        }
    }

    /// Tokenized text with single spaces between tokens, and each token's range in it.
    func tokenize(_ line: [Unicode.Scalar]) -> (text: [Unicode.Scalar], words: [Range<Int>]) {
        var s = PythonText.replace("<skipped>", with: "", in: line)
        s = PythonText.replace("-\n", with: "", in: s)
        s = PythonText.replace("\n", with: " ", in: s)
        if s.contains("&") {
            s = PythonText.replace("&quot;", with: "\"", in: s)
            s = PythonText.replace("&amp;", with: "&", in: s)
            s = PythonText.replace("&lt;", with: "<", in: s)
            s = PythonText.replace("&gt;", with: ">", in: s)
        }
        // The four substitutions of sacreBLEU's `TokenizerRegexp`, applied in order; each two-character
        // pattern is matched left to right without overlap, exactly as `re.sub` does.
        var spaced: [Unicode.Scalar] = [" "]
        spaced.reserveCapacity(s.count * 2 + 2)
        for c in s {
            if Self.isSplitSymbol(c) {
                spaced.append(" ")
                spaced.append(c)
                spaced.append(" ")
            } else {
                spaced.append(c)
            }
        }
        spaced.append(" ")
        // ([^0-9])([.,]) -> "\1 \2 "
        s = Self.substitutePairs(spaced, first: { !Self.isDigit($0) }, second: Self.isPeriodOrComma) { a, b in [a, " ", b, " "] }
        // ([.,])([^0-9]) -> " \1 \2"
        s = Self.substitutePairs(s, first: Self.isPeriodOrComma, second: { !Self.isDigit($0) }) { a, b in [" ", a, " ", b] }
        // ([0-9])(-) -> "\1 \2 "
        s = Self.substitutePairs(s, first: Self.isDigit, second: { $0 == "-" }) { a, b in [a, " ", b, " "] }
        return PythonText.splitJoined(s)
    }

    /// The class `[\{-\~\[-\` -\&\(-\+\:-\@\/]`: ASCII symbols other than `'`, `,`, `-`, `.`.
    private static func isSplitSymbol(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: true
        default: false
        }
    }

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    private static func isPeriodOrComma(_ c: Unicode.Scalar) -> Bool { c == "." || c == "," }

    /// `re.sub` for a pattern of two single-character classes.
    private static func substitutePairs(
        _ s: [Unicode.Scalar], first: (Unicode.Scalar) -> Bool, second: (Unicode.Scalar) -> Bool,
        replacement: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]
    ) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count + s.count / 2)
        var i = 0
        while i < s.count {
            if i + 1 < s.count, first(s[i]), second(s[i + 1]) {
                out.append(contentsOf: replacement(s[i], s[i + 1]))
                i += 2
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}
