/// Text helpers with Python `str` semantics, so metrics count exactly what sacreBLEU counts:
/// code points rather than grapheme clusters, and `str.split()`'s notion of whitespace.
enum PythonText {
    /// Whether Python's `str.isspace()` holds for this code point (what `str.split()` splits on).
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            true
        default:
            false
        }
    }

    /// Python's `line.rstrip()`.
    static func rstrip(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var end = scalars.endIndex
        while end > scalars.startIndex, isWhitespace(scalars[end - 1]) { end -= 1 }
        return Array(scalars[..<end])
    }

    /// The words of Python's `line.split()`, re-joined with single spaces, and each word's range in
    /// that joined text (so an n-gram is one contiguous, hashable slice).
    static func splitJoined(_ scalars: some Sequence<Unicode.Scalar>) -> (text: [Unicode.Scalar], words: [Range<Int>]) {
        var text: [Unicode.Scalar] = []
        var words: [Range<Int>] = []
        var start: Int? = nil
        for scalar in scalars {
            if isWhitespace(scalar) {
                if let s = start {
                    words.append(s..<text.count)
                    start = nil
                }
            } else {
                if start == nil {
                    if !text.isEmpty { text.append(" ") }
                    start = text.count
                }
                text.append(scalar)
            }
        }
        if let s = start { words.append(s..<text.count) }
        return (text, words)
    }

    /// Python's `text.replace(old, new)`: non-overlapping, left to right, on code points.
    static func replace(_ old: String, with new: String, in text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let pattern = Array(old.unicodeScalars)
        let replacement = Array(new.unicodeScalars)
        guard !pattern.isEmpty, text.count >= pattern.count else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if i + pattern.count <= text.count, text[i..<(i + pattern.count)].elementsEqual(pattern) {
                out.append(contentsOf: replacement)
                i += pattern.count
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    /// Counts every contiguous slice of `length` code points in `text` (keys compare code point by code point).
    static func countSlices(of text: [Unicode.Scalar], length: Int) -> [ArraySlice<Unicode.Scalar>: Int] {
        var counts: [ArraySlice<Unicode.Scalar>: Int] = [:]
        guard length > 0, text.count >= length else { return counts }
        for i in 0...(text.count - length) {
            counts[text[i..<(i + length)], default: 0] += 1
        }
        return counts
    }

    /// Counts word n-grams, each the slice of `text` from its first word's start to its last word's end.
    static func countWordNGrams(text: [Unicode.Scalar], words: [Range<Int>], order: Int) -> [ArraySlice<Unicode.Scalar>: Int] {
        var counts: [ArraySlice<Unicode.Scalar>: Int] = [:]
        guard order > 0, words.count >= order else { return counts }
        for i in 0...(words.count - order) {
            counts[text[words[i].lowerBound..<words[i + order - 1].upperBound], default: 0] += 1
        }
        return counts
    }
}
