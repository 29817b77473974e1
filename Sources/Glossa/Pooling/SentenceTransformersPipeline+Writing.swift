import Foundation
import GlossaNN

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
