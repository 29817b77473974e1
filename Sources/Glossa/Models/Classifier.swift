import Foundation
import GlossaNN
import GlossaTensor

/// Sequence classification: a tokenizer, an encoder, a pooler and a linear head; `classify` gives each text's
/// labels with their softmax probabilities, most probable first.
public final class Classifier {
    /// The network (encoder, pooler, head) the trainer updates.
    public let network: SequenceClassificationModel
    /// Reads the text.
    public let tokenizer: any Tokenizer
    /// Tokenises and batches as an embedder does (boundary tokens, cut to `maxLength`, length-sorted batches).
    let reader: Embedder

    /// A classifier around a network; `maxLength` is capped at the encoder's position limit.
    public init(network: SequenceClassificationModel, tokenizer: any Tokenizer, maxLength: Int = 512) {
        self.network = network
        self.tokenizer = tokenizer
        reader = Embedder(model: network.base, tokenizer: tokenizer, pooler: network.pooler, normalize: false, maxLength: maxLength)
    }

    /// A fresh head (PyTorch's default initialisation, seeded) on `model`, pooling with `pooling` (`nil`: the
    /// encoder's own classification pooler, or mean pooling when it has none).
    public convenience init(model: any EncoderModel, tokenizer: any Tokenizer, labels: [String], pooling: [PoolingMode]? = nil,
                            dropout: Float = 0.1, maxLength: Int = 512, seed: UInt64 = 0) throws {
        let (pooler, modes) = SequenceClassificationModel.pooler(for: model, modes: pooling)
        var generator = SeededGenerator(seed: seed)
        let head = Linear(SequenceClassificationModel.pooledWidth(model, pooler), labels.count, generator: &generator)
        let network = try SequenceClassificationModel(base: model, head: head, labels: labels, pooler: pooler, poolingModes: modes, dropout: dropout)
        self.init(network: network, tokenizer: tokenizer, maxLength: maxLength)
    }

    /// The labels, in logit order.
    public var labels: [String] { network.labels }
    /// The longest token sequence the encoder reads, boundary tokens included.
    public var maxLength: Int { reader.maxLength }

    /// The ids the encoder reads for `text`.
    public func tokenize(_ text: String) throws -> [Int] { try reader.tokenize(text) }

    /// `[B, labels]` logits of already-tokenised texts, recorded for backward when gradients are on.
    public func logits(tokenized sequences: [[Int]], context: ForwardContext) throws -> Tensor {
        try network.logits(TokenBatch(sequences, padId: tokenizer.specialTokens.pad ?? 0), context: context)
    }

    /// Each text's probability for every label (softmax of the logits), in the order given.
    public func probabilities(tokenized sequences: [[Int]], batchSize: Int = 32) throws -> [[Float]] {
        var out = [[Float]](repeating: [], count: sequences.count)
        let context = ForwardContext(), k = labels.count
        for rows in Embedder.plan(lengths: sequences.map(\.count), batchSize: batchSize) {
            let p = try withoutGrad { try logits(tokenized: rows.map { sequences[$0] }, context: context).softmax() }.scalars
            for (i, row) in rows.enumerated() { out[row] = Array(p[(i * k)..<((i + 1) * k)]) }
        }
        return out
    }

    /// Each text's `topK` most probable labels with their probabilities, most probable first (ties by label order).
    public func classify(_ texts: [String], topK: Int = 1, batchSize: Int = 32) throws -> [[(label: String, probability: Double)]] {
        let sequences = try tokenizer.encodeBatch(texts).map(reader.frame)
        return try probabilities(tokenized: sequences, batchSize: batchSize).map { p in
            let order = p.indices.sorted { (p[$0], -$0) > (p[$1], -$1) }
            return order.prefix(Swift.max(1, topK)).map { (labels[$0], Double(p[$0])) }
        }
    }

    /// The most probable label index of each tokenised text.
    public func predict(tokenized sequences: [[Int]], batchSize: Int = 32) throws -> [Int] {
        try probabilities(tokenized: sequences, batchSize: batchSize).map { p in
            p.indices.max { (p[$0], -$0) < (p[$1], -$1) } ?? 0
        }
    }
}

extension Classifier {
    /// Writes the classifier as a model directory transformers opens as the encoder's sequence-classification
    /// class (`BertForSequenceClassification` for BERT): `config.json` with `id2label`/`label2id`, `model.safetensors`
    /// (the encoder under its prefix, the head as `classifier.*`), and the tokenizer (`tokenizer.model` or `vocab.txt`).
    public func save(to directory: URL, dtype: SafetensorsDType = .f32) throws {
        let tokenizerData = try tokenizerFiles(tokenizer, named: "tokenizer.model", readable: ["tokenizer.model", "vocab.txt"],
                                               layout: "classifier")
        try ModelDirectory.save(network, to: directory, dtype: dtype)
        try ModelDirectory.write(tokenizerData, to: directory, removing: ["vocab.txt", "tokenizer.model"])
    }

    /// Loads a classifier directory: the encoder from the plugin `config.json` names, the labels from `id2label`,
    /// the pooling from `glossa_pooling` (or the encoder's own classification pooler), the weights from
    /// `model.safetensors` (a transformers-made `BertForSequenceClassification` reads as it is).
    public static func load(_ directory: URL, registry: PluginRegistry) throws -> Classifier {
        let modelDirectory = ModelDirectory(directory)
        let plugin = try modelDirectory.plugin(in: registry)
        guard case .encoder(let make) = plugin.factory else {
            throw GlossaError.wrongPluginKind(plugin.name, expected: "encoder", found: plugin.factory.kind)
        }
        let header = try ClassifierHeader.read(try modelDirectory.configuration())
        let model = try make(try modelDirectory.pluginConfiguration())
        let (pooler, modes) = SequenceClassificationModel.pooler(for: model, modes: header.pooling)
        let width = SequenceClassificationModel.pooledWidth(model, pooler)
        let network = try SequenceClassificationModel(base: model, head: Linear(zeros: width, header.labels.count), labels: header.labels,
                                                      pooler: pooler, poolingModes: modes, dropout: header.dropout)
        try network.loadCheckpoint(try modelDirectory.weights())
        let tokenizer = try Embedder.loadTokenizer(directory, registry: registry)
        try checkTokenizer(tokenizer, fits: model.encoder.vocabularySize, role: "classifier")
        return Classifier(network: network, tokenizer: tokenizer, maxLength: model.encoder.maxLength ?? 512)
    }
}

/// What `config.json` says about a classifier: its labels (`id2label`), pooling and dropout.
struct ClassifierHeader {
    var labels: [String]
    var pooling: [PoolingMode]?
    var dropout: Float

    static func read(_ data: Data) throws -> ClassifierHeader {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw GlossaError.invalidConfiguration("config.json is not a JSON object")
        }
        guard let map = object["id2label"] as? [String: Any], !map.isEmpty else {
            throw GlossaError.invalidConfiguration("config.json has no id2label: this directory is not a classifier")
        }
        var labels = [String?](repeating: nil, count: map.count)
        for (key, value) in map {
            guard let index = Int(key), labels.indices.contains(index), labels[index] == nil, let label = value as? String else {
                throw GlossaError.invalidConfiguration("config.json: id2label must map 0...\(map.count - 1) to label names; \"\(key)\" does not fit")
            }
            labels[index] = label
        }
        var pooling: [PoolingMode]?
        if let names = object["glossa_pooling"] {
            guard let names = names as? [String], !names.isEmpty else {
                throw GlossaError.invalidConfiguration("config.json: glossa_pooling must be a list of pooling mode names")
            }
            pooling = try names.map { name in
                guard let mode = PoolingMode(name: name) else {
                    throw GlossaError.invalidConfiguration("config.json: unknown pooling mode \"\(name)\" in glossa_pooling")
                }
                return mode
            }
        }
        let dropout = (object["classifier_dropout"] as? Double) ?? (object["hidden_dropout_prob"] as? Double) ?? 0.1
        return ClassifierHeader(labels: labels.compactMap { $0 }, pooling: pooling, dropout: Float((0..<1).contains(dropout) ? dropout : 0.1))
    }
}
