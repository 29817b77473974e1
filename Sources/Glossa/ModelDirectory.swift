import Foundation
import GlossaNN
import GlossaTensor

/// A model on disk: `config.json` naming its plugin (`glossa_plugin`, or a Hugging Face
/// `model_type` such as `marian` or `bert`), `model.safetensors`, and tokenizer files.
public struct ModelDirectory: Sendable {
    /// The directory.
    public let url: URL

    /// A directory; nothing is read until asked.
    public init(_ url: URL) { self.url = url }

    /// `config.json`'s bytes.
    public func configuration() throws -> Data {
        let file = url.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw GlossaError.missingFile(file, purpose: "every model directory needs config.json naming its plugin")
        }
        return try InputFile.read(file.path, purpose: "the model's config.json", limit: InputFile.configurationLimit)
    }

    /// The plugin name the configuration asks for.
    public func pluginName() throws -> String {
        struct Header: Decodable {
            var glossa_plugin: String?
            var model_type: String?
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: try configuration())
        } catch let error as DecodingError {
            throw GlossaError.invalidConfiguration("config.json: \(describe(error))")
        }
        guard let name = header.glossa_plugin ?? header.model_type else {
            throw GlossaError.invalidConfiguration("config.json names no plugin (add \"glossa_plugin\" or \"model_type\")")
        }
        return name
    }

    /// The plugin that reads this directory.
    public func plugin(in registry: PluginRegistry) throws -> Plugin {
        try registry.plugin(named: try pluginName())
    }

    /// The plugin's configuration with this directory attached.
    public func pluginConfiguration() throws -> PluginConfiguration {
        PluginConfiguration(json: try configuration(), directory: url)
    }

    /// The weights in `model.safetensors`.
    public func weights() throws -> [String: Tensor] {
        let file = url.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw GlossaError.missingFile(file, purpose: "the model's weights")
        }
        let tensors = try Int8Checkpoint.dequantized(try Safetensors.read(contentsOf: file))
        // NaN or infinite weights give empty or garbage output, never an error later: refuse them here.
        for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
            if let bad = tensor.scalars.firstIndex(where: { !$0.isFinite }) {
                throw GlossaError.invalidConfiguration(
                    "\(file.path): tensor \(name) holds \(tensor.scalars[bad]) at element \(bad); the weights are corrupt (NaN or infinite)")
            }
        }
        return tensors
    }

    /// Writes a model: `config.json`, its extra files, and `model.safetensors` (atomically, each file).
    public static func save(_ model: any SavableModel, to url: URL, dtype: SafetensorsDType = .f32, metadata: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try AtomicFile.write(try model.configurationJSON(), to: url.appendingPathComponent("config.json"))
        for (name, data) in try model.extraFiles() {
            try AtomicFile.write(data, to: url.appendingPathComponent(name))
        }
        try Safetensors.write(model.checkpointTensors(), metadata: ["format": "pt"].merging(metadata) { $1 },
                              to: url.appendingPathComponent("model.safetensors"), dtype: dtype)
    }
}

extension ModelDirectory {
    /// Writes `files` (names relative to `url`, folders made as needed) atomically, each, and removes `stale`:
    /// files a loader would read in preference to the ones just written, left by an earlier save.
    static func write(_ files: [String: Data], to url: URL, removing stale: [String] = []) throws {
        let manager = FileManager.default
        for (name, data) in files.sorted(by: { $0.key < $1.key }) {
            let target = url.appendingPathComponent(name)
            try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(data, to: target)
        }
        for name in stale where files[name] == nil {
            let target = url.appendingPathComponent(name)
            if manager.fileExists(atPath: target.path) { try manager.removeItem(at: target) }
        }
    }
}
