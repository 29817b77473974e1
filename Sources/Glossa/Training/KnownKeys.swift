import Foundation

/// A coding key for any name, to list the keys a JSON object actually has.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Swift.Decoder {
    /// Throws on a key of this JSON object that is not in `known` — a typo such as `learning_rat` would otherwise be
    /// ignored silently — naming the nearest known key.
    public func rejectUnknownKeys(_ known: [String]) throws {
        let container = try self.container(keyedBy: AnyCodingKey.self)
        for key in container.allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                   debugDescription: unknownKeyMessage(key.stringValue, known: known))
        }
    }
}

/// "unknown key "learning_rat" (did you mean "learning_rate"?)", or the known keys when none is near.
public func unknownKeyMessage(_ key: String, known: [String]) -> String {
    let nearest = known.map { (name: $0, distance: editDistance(key, $0)) }.min { $0.distance < $1.distance }
    if let nearest, nearest.distance <= Swift.max(2, key.count / 3) {
        return "unknown key \"\(key)\" (did you mean \"\(nearest.name)\"?)"
    }
    return "unknown key \"\(key)\"; known keys: \(known.sorted().joined(separator: ", "))"
}

/// Levenshtein distance over characters.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
