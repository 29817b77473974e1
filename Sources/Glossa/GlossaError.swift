import Foundation

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
