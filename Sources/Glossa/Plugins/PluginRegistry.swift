import Foundation
import GlossaNN

/// What a plugin is given to build itself: its `config.json` (as raw JSON) and, when it is loaded
/// from disk, the directory with its weights and tokenizer files.
public struct PluginConfiguration: Sendable {
    /// The configuration JSON.
    public var json: Data
    /// The model directory, or `nil` for a fresh model built from a recipe.
    public var directory: URL?

    /// A configuration from JSON bytes.
    public init(json: Data, directory: URL? = nil) {
        self.json = json
        self.directory = directory
    }

    /// Decodes the JSON into a plugin's own `Configuration` type, with errors that name the field.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let value: T
        do {
            value = try JSONDecoder().decode(T.self, from: json)
        } catch let error as DecodingError {
            throw GlossaError.invalidConfiguration(describe(error, json: json, as: T.self))
        }
        // Before the plugin allocates anything: the sizes must fit the machine and the checkpoint.
        if let sized = value as? any ParameterCountEstimating {
            try ModelSize.check(parameters: sized.estimatedParameterCount, directory: directory)
        }
        return value
    }
}

/// What kind of thing a plugin makes, with the factory that makes it.
public enum PluginFactory: Sendable {
    /// A translator network (encoder, decoder, special ids).
    case encoderDecoder(@Sendable (PluginConfiguration) throws -> any EncoderDecoderModel)
    /// A language model network (causal decoder).
    case decoderOnly(@Sendable (PluginConfiguration) throws -> any DecoderOnlyModel)
    /// An encoder network (sentence embeddings with a pooler).
    case encoder(@Sendable (PluginConfiguration) throws -> any EncoderModel)
    /// A pooler: states to one vector per sequence.
    case pooler(@Sendable (PluginConfiguration) throws -> any Pooler)
    /// A sampler for the generation loop.
    case sampler(@Sendable (PluginConfiguration) throws -> any Sampler)
    /// A tokenizer (text to ids and back).
    case tokenizer(@Sendable (PluginConfiguration) throws -> any Tokenizer)
    /// A command the host runs on the plugin's behalf (`glossa run NAME ARGUMENTS…`): for work no stock
    /// subcommand covers, such as a training objective or an output format of the plugin's own.
    case command(@Sendable (PluginCommandContext) throws -> Void)

    /// A short name of the kind, as `glossa plugins` prints it.
    public var kind: String {
        switch self {
        case .encoderDecoder: return "translator"
        case .decoderOnly: return "language-model"
        case .encoder: return "encoder"
        case .pooler: return "pooler"
        case .sampler: return "sampler"
        case .tokenizer: return "tokenizer"
        case .command: return "command"
        }
    }
}

/// What a plugin command is given: the arguments after its name, and the registry the host built (the
/// built-ins plus every loaded library), so the command can make tokenizers and models by name.
/// The command reads standard input and writes standard output and error itself; a thrown error is reported
/// by the host with exit status 1.
public struct PluginCommandContext: Sendable {
    /// The arguments after the command's name, as given.
    public var arguments: [String]
    /// The host's plugins.
    public var registry: PluginRegistry

    /// A context.
    public init(arguments: [String], registry: PluginRegistry) {
        self.arguments = arguments
        self.registry = registry
    }
}

/// One plugin: its name, the Hugging Face `model_type` values it reads, a line about it, and its factory.
public struct Plugin: Sendable {
    /// The name used in `config.json` (`glossa_plugin`) and recipes.
    public var name: String
    /// Hugging Face `model_type` values this plugin reads (`marian`, `bert`).
    public var modelTypes: [String]
    /// One line for `glossa plugins`.
    public var summary: String
    /// What it makes.
    public var factory: PluginFactory

    /// A plugin entry.
    public init(name: String, modelTypes: [String] = [], summary: String, factory: PluginFactory) {
        self.name = name
        self.modelTypes = modelTypes
        self.summary = summary
        self.factory = factory
    }
}

/// A value-type registry of plugins by name. The built-ins are one literal (`GlossaBuiltins`);
/// third-party plugins are added with `adding(_:)`.
public struct PluginRegistry: Sendable {
    /// Every plugin, in listing order.
    public private(set) var plugins: [Plugin]

    /// A registry of the given plugins.
    public init(_ plugins: [Plugin]) { self.plugins = plugins }

    /// This registry plus `more` (a later plugin with a taken name replaces the earlier one).
    public func adding(_ more: [Plugin]) -> PluginRegistry {
        let names = Set(more.map(\.name))
        return PluginRegistry(plugins.filter { !names.contains($0.name) } + more)
    }

    /// The plugin called `name`, or one that reads Hugging Face `model_type` `name`.
    public func plugin(named name: String) throws -> Plugin {
        if let p = plugins.first(where: { $0.name == name }) ?? plugins.first(where: { $0.modelTypes.contains(name) }) {
            return p
        }
        throw GlossaError.unknownPlugin(name, known: plugins.map(\.name))
    }
}
