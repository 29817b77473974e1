import Foundation
import GlossaNN

/// What a sentence-transformers directory asks for around its transformer: read from `modules.json`,
/// the pooling module's `config.json` (`pooling_mode_*` flags) and `sentence_bert_config.json`, so such a
/// directory (all-MiniLM-L6-v2 as published) works as it is.
public struct SentenceTransformersPipeline: Sendable, Equatable {
    /// The pooling modes that are on, in the order sentence-transformers concatenates them.
    public var modes: [PoolingMode]
    /// Whether a `Normalize` module follows the pooling.
    public var normalize: Bool
    /// `max_seq_length` of the transformer module, when given.
    public var maxSequenceLength: Int?
    /// The transformer module's folder relative to the directory (`""` for the directory itself).
    public var transformerPath: String

    /// A pipeline.
    public init(modes: [PoolingMode], normalize: Bool, maxSequenceLength: Int? = nil, transformerPath: String = "") {
        self.modes = modes
        self.normalize = normalize
        self.maxSequenceLength = maxSequenceLength
        self.transformerPath = transformerPath
    }

    /// The pooler the pipeline describes (with L2 normalisation when it has a `Normalize` module).
    public var pooler: any Pooler {
        let base: any Pooler = ConcatenatedPooler(modes.map(\.pooler))
        return normalize ? NormalizedPooler(base) : base
    }

    /// The order in which sentence-transformers concatenates several pooled vectors.
    static let concatenationOrder: [PoolingMode] = [.cls, .max, .mean, .meanSqrtLength, .weightedMean, .lastToken]

    /// Reads the pipeline of `directory`; `nil` when it has no `modules.json` (not a sentence-transformers model).
    public static func read(_ directory: URL) throws -> SentenceTransformersPipeline? {
        let modulesFile = directory.appendingPathComponent("modules.json")
        guard FileManager.default.fileExists(atPath: modulesFile.path) else { return nil }
        struct Entry: Decodable { var path: String?; var type: String }
        let entries = try decodeJSON([Entry].self, from: modulesFile)
        var pipeline = SentenceTransformersPipeline(modes: [], normalize: false)
        var sawTransformer = false, sawPooling = false
        for entry in entries {
            // Match the class name only: `sentence_transformers.models.Pooling` and newer module paths
            // (`sentence_transformers.sentence_transformer.modules.pooling.Pooling`) are the same module.
            let kind = entry.type.split(separator: ".").last.map(String.init) ?? entry.type
            let folder = directory.appendingPathComponent(entry.path ?? "")
            switch kind {
            case "Transformer":
                sawTransformer = true
                pipeline.transformerPath = entry.path ?? ""
                pipeline.maxSequenceLength = try readMaxSequenceLength(folder)
            case "Pooling":
                sawPooling = true
                pipeline.modes = try readPoolingModes(folder.appendingPathComponent("config.json"))
            case "Normalize":
                pipeline.normalize = true
            default:
                throw GlossaError.invalidConfiguration(
                    "modules.json: the sentence-transformers module \"\(entry.type)\" is not supported (Glossa reads Transformer, Pooling and Normalize)")
            }
        }
        guard sawTransformer else { throw GlossaError.invalidConfiguration("modules.json lists no Transformer module") }
        if !sawPooling { pipeline.modes = [.mean] }
        return pipeline
    }

    /// `max_seq_length` from `sentence_bert_config.json` in the transformer's folder, if any.
    static func readMaxSequenceLength(_ folder: URL) throws -> Int? {
        let file = folder.appendingPathComponent("sentence_bert_config.json")
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        struct Settings: Decodable { var max_seq_length: Int? }
        let length = try decodeJSON(Settings.self, from: file).max_seq_length
        if let length, length < 2 {
            throw GlossaError.invalidConfiguration("\(file.lastPathComponent): max_seq_length must be at least 2, got \(length)")
        }
        return length
    }

    /// The modes of a pooling `config.json`: the classic `pooling_mode_*` flags, or the newer `pooling_mode` name(s).
    static func readPoolingModes(_ file: URL) throws -> [PoolingMode] {
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw GlossaError.missingFile(file, purpose: "the sentence-transformers Pooling module's settings")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: try InputFile.read(file.path, purpose: "the pooling settings", limit: InputFile.configurationLimit))
        } catch let error as InputFileError {
            throw error
        } catch {
            throw GlossaError.invalidConfiguration("\(file.path) is not valid JSON")
        }
        guard let settings = object as? [String: Any] else {
            throw GlossaError.invalidConfiguration("\(file.path) should hold a JSON object")
        }
        var modes: Set<PoolingMode> = []
        for mode in PoolingMode.allCases where (settings[mode.sentenceTransformersFlag] as? Bool) == true { modes.insert(mode) }
        var names: [String] = []
        if let name = settings["pooling_mode"] as? String { names = [name] }
        if let list = settings["pooling_mode"] as? [String] { names = list }
        for name in names {
            guard let mode = PoolingMode(name: name) else {
                throw GlossaError.invalidConfiguration(
                    "\(file.path): unknown pooling_mode \"\(name)\"; known: \(PoolingMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            modes.insert(mode)
        }
        guard !modes.isEmpty else {
            throw GlossaError.invalidConfiguration("\(file.path) turns on no pooling mode (set one pooling_mode_* flag to true)")
        }
        return concatenationOrder.filter { modes.contains($0) }
    }
}

/// Decodes a JSON file, turning a decoding failure into a sentence that names the file and field.
func decodeJSON<T: Decodable>(_ type: T.Type, from file: URL) throws -> T {
    let data: Data
    data = try InputFile.read(file.path, purpose: "the settings file", limit: InputFile.configurationLimit)
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let error as DecodingError {
        throw GlossaError.invalidConfiguration("\(file.lastPathComponent): \(describe(error))")
    }
}

extension SentenceTransformersPipeline {
    /// The pipeline a pooler computes: its pooling modes (one, or a `ConcatenatedPooler` of several in
    /// sentence-transformers' order) and whether it normalises (a `NormalizedPooler` around them, or `normalize`).
    /// `nil` for any other pooler (a plugin's own, per-part normalisation, another order), which the modules cannot describe.
    public init?(pooler: any Pooler, normalize: Bool, maxSequenceLength: Int? = nil) {
        var base = pooler, normalized = normalize
        if let outer = pooler as? NormalizedPooler {
            base = outer.base
            normalized = true
        }
        let parts = (base as? ConcatenatedPooler)?.parts ?? [base]
        // A mode is recognised by its pooler's type, so every mode `PoolingMode.pooler` makes is covered.
        let modes = parts.compactMap { part in PoolingMode.allCases.first { type(of: $0.pooler) == type(of: part) } }
        guard !modes.isEmpty, modes.count == parts.count, modes == Self.concatenationOrder.filter(modes.contains) else { return nil }
        self.init(modes: modes, normalize: normalized, maxSequenceLength: maxSequenceLength)
    }

    /// The four flags every sentence-transformers version writes; newer modes are written only when on, so the
    /// files stay what older readers expect.
    static let classicModes: [PoolingMode] = [.mean, .cls, .max, .meanSqrtLength]

    /// Writes the pipeline's files into `directory`, the transformer being the directory itself: `modules.json`
    /// (Transformer, Pooling, and Normalize when on), `1_Pooling/config.json` for vectors of `embeddingDimension`
    /// token states, an empty `2_Normalize` folder when normalising, and `sentence_bert_config.json`.
    func write(to directory: URL, embeddingDimension: Int) throws {
        var modules: [[String: Any]] = [
            ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
            ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
        ]
        if normalize { modules.append(["idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"]) }
        var pooling: [String: Any] = ["word_embedding_dimension": embeddingDimension]
        for mode in PoolingMode.allCases where Self.classicModes.contains(mode) || modes.contains(mode) {
            pooling[mode.sentenceTransformersFlag] = modes.contains(mode)
        }
        var settings: [String: Any] = ["do_lower_case": false]
        if let maxSequenceLength { settings["max_seq_length"] = maxSequenceLength }
        var files: [String: Data] = [:]
        for (name, object) in [("modules.json", modules as Any), ("1_Pooling/config.json", pooling), ("sentence_bert_config.json", settings)] {
            files[name] = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        }
        try ModelDirectory.write(files, to: directory)
        if normalize {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("2_Normalize"), withIntermediateDirectories: true)
        }
    }
}
