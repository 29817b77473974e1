import Foundation
// BLEU and chrF live in GlossaMetrics so that scoring alone links no BLAS; re-exported so `import Glossa` code that
// scores translations keeps compiling unchanged.
@_exported import GlossaMetrics

/// Errors of the SDK face, each a sentence a user can act on.
public enum GlossaError: Error, CustomStringConvertible, Equatable {
    /// No plugin has this name or Hugging Face model type; `known` lists the names there are.
    case unknownPlugin(String, known: [String])
    /// The plugin makes another kind of thing than the caller needs.
    case wrongPluginKind(String, expected: String, found: String)
    /// A configuration (config.json, a recipe) is malformed or impossible; the message names the field.
    case invalidConfiguration(String)
    /// A file a model needs is missing; `purpose` says what it is for.
    case missingFile(URL, purpose: String)
    /// Input data (ids, text, shapes) that the model cannot take.
    case invalidInput(String)
    /// A training run that cannot go on (a loss that turned NaN, an output folder holding another run).
    case training(String)

    /// The sentence shown to users.
    public var description: String {
        switch self {
        case .unknownPlugin(let name, let known):
            return "no plugin is called \"\(name)\"; known plugins: \(known.joined(separator: ", "))"
        case .wrongPluginKind(let name, let expected, let found):
            return "plugin \"\(name)\" makes a \(found), but a \(expected) is needed here"
        case .invalidConfiguration(let message):
            return "invalid configuration: \(message)"
        case .missingFile(let url, let purpose):
            return "\(url.path) is missing (\(purpose))"
        case .invalidInput(let message):
            return message
        case .training(let message):
            return message
        }
    }
}

/// A readable path for a decoding error: "config.json: d_model: expected Int, found a string".
func describe(_ error: DecodingError) -> String {
    func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let context):
        return "missing field \"\(path(context.codingPath + [key]))\""
    case .typeMismatch(let type, let context):
        return "field \"\(path(context.codingPath))\" should be \(type)"
    case .valueNotFound(let type, let context):
        return "field \"\(path(context.codingPath))\" should be \(type), found null"
    case .dataCorrupted(let context):
        let where_ = context.codingPath.isEmpty ? "" : "field \"\(path(context.codingPath))\": "
        return where_ + context.debugDescription
    @unknown default:
        return "\(error)"
    }
}

/// `describe(error)`, made specific where Foundation's decoder is vague: it reports a number that does not fit its
/// field (`"d_model": 256.5` for an `Int`) as "not valid JSON". When `json` does parse, each number that is not a
/// whole `Int` is tried as one; the first whose change makes the vagueness go away is the field named.
func describe<T: Decodable>(_ error: DecodingError, json: Data, as type: T.Type) -> String {
    guard case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
          let object = try? JSONSerialization.jsonObject(with: json) else { return describe(error) }
    func candidates(_ value: Any, _ path: [String]) -> [(path: [String], number: NSNumber)] {
        if let dictionary = value as? [String: Any] {
            return dictionary.keys.sorted().flatMap { candidates(dictionary[$0] as Any, path + [$0]) }
        }
        if let number = value as? NSNumber, !(value is Bool), !number.doubleValue.isWholeInt { return [(path, number)] }
        return []
    }
    func replacing(_ value: Any, _ path: ArraySlice<String>) -> Any {
        guard let key = path.first, var dictionary = value as? [String: Any] else { return 0 }
        dictionary[key] = replacing(dictionary[key] as Any, path.dropFirst())
        return dictionary
    }
    for (path, number) in candidates(object, []) {
        guard let changed = try? JSONSerialization.data(withJSONObject: replacing(object, path[...])) else { continue }
        var stillVague = false
        do { _ = try JSONDecoder().decode(T.self, from: changed) } catch let DecodingError.dataCorrupted(context) {
            stillVague = context.codingPath.isEmpty
        } catch {}
        if !stillVague {
            return "field \"\(path.joined(separator: "."))\" must be a whole number that fits, not \(number)"
        }
    }
    return "the JSON is valid, but a value does not fit its field (a number too large, or of the wrong kind)"
}

extension Double {
    /// Whether this is a whole number that fits an `Int`.
    fileprivate var isWholeInt: Bool { rounded() == self && abs(self) < 9.2e18 }
}
