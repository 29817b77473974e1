import Foundation
import Glossa
import GlossaNN

/// What a model directory holds, and so which API serves it.
public enum ModelKind: String, Sendable, CaseIterable {
    /// An encoder-decoder: `POST /translate`.
    case translator
    /// An encoder with pooling: `POST /v1/embeddings`.
    case embedder
    /// A decoder-only network: `POST /v1/completions`.
    case languageModel = "language-model"

    /// The kind of `directory`: a sentence-transformers pipeline (`modules.json`) is an embedder; otherwise the kind of
    /// the plugin its `config.json` names.
    public static func detect(_ directory: URL, registry: PluginRegistry) throws -> ModelKind {
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("modules.json").path) { return .embedder }
        let plugin = try ModelDirectory(directory).plugin(in: registry)
        switch plugin.factory {
        case .encoderDecoder: return .translator
        case .encoder: return .embedder
        case .decoderOnly: return .languageModel
        default:
            throw GlossaError.invalidConfiguration(
                "\(directory.path): plugin \(plugin.name) is a \(plugin.factory.kind), which `glossa serve` cannot serve")
        }
    }
}

/// `--model NAME=DIR`: a name clients use and the directory it is loaded from.
public struct ModelSpec: Sendable, Equatable {
    /// The name in requests (`model`) and in metrics.
    public var name: String
    /// The model directory.
    public var directory: URL

    /// Parses `NAME=DIR`; the name is letters, digits and `-_.:` (it appears in URLs, JSON and metric labels).
    public init(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex, text.index(after: equals) != text.endIndex else {
            throw ServerConfigurationError("--model must be NAME=DIR, not '\(text)'")
        }
        let name = String(text[..<equals])
        guard name.count <= 64, name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-_.:".unicodeScalars.contains($0) }),
              name.unicodeScalars.allSatisfy(\.isASCII) else {
            throw ServerConfigurationError("--model name '\(name)' may hold only ASCII letters, digits and - _ . : (64 at most)")
        }
        self.name = name
        self.directory = URL(fileURLWithPath: String(text[text.index(after: equals)...]))
    }
}

/// A loaded model as the routes see it: its name, kind and the language pair a translator declares.
public enum LoadedModel: @unchecked Sendable {
    // Unchecked: the SDK's models are classes; each is only ever run from its scheduler's thread (on the compute lane),
    // and request threads use only their Sendable tokenizers.
    case translator(Translator)
    case embedder(Embedder)
    case languageModel(LanguageModel)

    /// Loads `spec`, detecting its kind, and readies it with `prepare` (the compute type).
    public static func load(_ spec: ModelSpec, registry: PluginRegistry,
                            prepare: (any SavableModel, URL) throws -> Void) throws -> LoadedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: spec.directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ServerConfigurationError("--model \(spec.name)=\(spec.directory.path): not a directory")
        }
        switch try ModelKind.detect(spec.directory, registry: registry) {
        case .translator:
            let translator = try Translator.load(spec.directory, registry: registry)
            try prepare(translator.model, spec.directory)
            return .translator(translator)
        case .embedder:
            let embedder = try Embedder.load(spec.directory, registry: registry)
            try prepare(embedder.model, spec.directory)
            return .embedder(embedder)
        case .languageModel:
            let language = try LanguageModel.load(spec.directory, registry: registry)
            try prepare(language.model, spec.directory)
            return .languageModel(language)
        }
    }

    /// The model's kind.
    public var kind: ModelKind {
        switch self {
        case .translator: .translator
        case .embedder: .embedder
        case .languageModel: .languageModel
        }
    }
}

/// Why the server's settings or models cannot be used; reported before anything listens.
public struct ServerConfigurationError: Error, CustomStringConvertible {
    /// The sentence shown to the user.
    public let description: String

    /// An error with this message.
    public init(_ description: String) { self.description = description }
}

/// The language pair of a translator, read from its name or its directory's name when either is `xx-yy`
/// (`--model en-de=…` or `models/en-de`); `nil` when neither is, and then it serves any `source`/`target`.
func languagePair(name: String, directory: URL) -> (source: String, target: String)? {
    for candidate in [name, directory.standardizedFileURL.lastPathComponent] {
        let parts = candidate.lowercased().split(separator: "-").map(String.init)
        if parts.count == 2, parts.allSatisfy({ (2...3).contains($0.count) && $0.allSatisfy(\.isLetter) }) {
            return (parts[0], parts[1])
        }
    }
    return nil
}

/// English names of the languages `/languages` is most likely to list; other codes are shown as the code.
let languageNames: [String: String] = [
    "ar": "Arabic", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "fi": "Finnish", "fr": "French", "hi": "Hindi", "hu": "Hungarian", "it": "Italian", "ja": "Japanese", "ko": "Korean",
    "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "sv": "Swedish", "tr": "Turkish", "uk": "Ukrainian", "zh": "Chinese",
]
