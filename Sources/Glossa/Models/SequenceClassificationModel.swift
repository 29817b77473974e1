import Foundation
import GlossaNN
import GlossaTensor

/// An encoder whose Hugging Face task model for sequence classification has a known layout, so a classifier on it
/// is saved as that class (BERT: `BertForSequenceClassification`, pooling with its tanh `pooler.dense`).
public protocol SequenceClassificationLayout: EncoderModel {
    /// The transformers class written to `architectures`.
    var sequenceClassificationArchitecture: String { get }
    /// The pooling that class applies before its `classifier` (BERT's `pooler_output`), or `nil` for mean pooling.
    var classificationPooler: (any Pooler)? { get }
}

/// The trainable network of a classifier: an encoder, a pooler and a linear head over the labels, with the
/// encoder's tensors under its plugin's name (`bert.`) and the head as `classifier.`, as transformers names them.
public final class SequenceClassificationModel: SavableModel {
    /// The encoder network.
    public let base: any EncoderModel
    /// Pooled vector → one logit per label (`classifier.weight` `[labels, C]`, `classifier.bias`).
    public let head: Linear
    /// The label of each logit, in order.
    public let labels: [String]
    /// Token states → one vector per text.
    public let pooler: any Pooler
    /// The pooling modes the directory records, or `nil` when `pooler` is the encoder's own classification pooler.
    public let poolingModes: [PoolingMode]?
    /// Dropout on the pooled vector in training.
    public let dropout: Float

    /// A network from its parts; `poolingModes` must describe `pooler` (or be `nil` for the encoder's own).
    public init(base: any EncoderModel, head: Linear, labels: [String], pooler: any Pooler, poolingModes: [PoolingMode]?, dropout: Float) throws {
        guard labels.count >= 2 else { throw GlossaError.invalidInput("a classifier needs at least 2 labels, not \(labels.count)") }
        guard Set(labels).count == labels.count else { throw GlossaError.invalidInput("the labels of a classifier must be distinct") }
        guard head.weight.shape[0] == labels.count else {
            throw GlossaError.invalidInput("the classifier head has \(head.weight.shape[0]) outputs for \(labels.count) labels")
        }
        guard (0..<1).contains(dropout) else { throw GlossaError.invalidInput("classifier dropout must be in [0, 1), not \(dropout)") }
        self.base = base
        self.head = head
        self.labels = labels
        self.pooler = pooler
        self.poolingModes = poolingModes
        self.dropout = dropout
    }

    /// The prefix of the encoder's tensors: its plugin name, which is transformers' `base_model_prefix` for BERT.
    var prefix: String { base.pluginName }

    public var children: [(name: String, module: any Module)] { [(prefix, base), ("classifier", head)] }

    /// The encoder's plugin: the directory opens with it, and `Classifier.load` adds the head.
    public var pluginName: String { base.pluginName }

    /// The encoder's `config.json` with the label maps transformers reads, the task class when the layout is
    /// known and the pooler is the encoder's own, and otherwise the pooling modes as `glossa_pooling`.
    public func configurationJSON() throws -> Data {
        guard var object = try JSONSerialization.jsonObject(with: try base.configurationJSON()) as? [String: Any] else {
            throw GlossaError.invalidConfiguration("the \(pluginName) plugin's config.json is not a JSON object")
        }
        object["id2label"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), $0.element) })
        object["label2id"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
        object["problem_type"] = "single_label_classification"
        object["classifier_dropout"] = Double(dropout)
        if let poolingModes {
            object["glossa_pooling"] = poolingModes.map(\.rawValue)
        } else if let layout = base as? any SequenceClassificationLayout {
            object["architectures"] = [layout.sequenceClassificationArchitecture]
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// The head from `classifier.*`; the encoder from the rest, its prefix dropped (a checkpoint without the prefix
    /// is read as the encoder's own layout).
    public func loadCheckpoint(_ tensors: [String: Tensor]) throws {
        let (classifier, encoder) = splitHeadCheckpoint(tensors, head: "classifier.", encoder: prefix, bareEncoder: true)
        guard classifier["weight"]?.shape == head.weight.shape else {
            throw GlossaError.invalidConfiguration(
                "the checkpoint has no classifier.weight of shape \(head.weight.shape) (\(labels.count) labels × the pooled width)")
        }
        try head.load(classifier, strict: true)
        try base.loadCheckpoint(encoder)
    }

    /// The encoder's tensors under the prefix, then the head's.
    public func checkpointTensors() -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in base.checkpointTensors() { tensors[prefix + "." + name] = tensor }
        for (name, tensor) in head.stateDictionary() { tensors["classifier." + name] = tensor }
        return tensors
    }

    public func didUpdateParameters() { base.didUpdateParameters() }
    public func extraFiles() throws -> [String: Data] { try base.extraFiles() }
    public func prepareInference(_ computeType: ComputeType) throws { try base.prepareInference(computeType) }

    /// `[B, labels]` logits of a batch (dropout on the pooled vector when `context` trains).
    public func logits(_ batch: TokenBatch, context: ForwardContext) throws -> Tensor {
        let states = try base.encoder.encode(batch, context: context)  // [B, T, C]
        return head(context.dropout(pooler.pool(states, batch: batch), dropout))
    }
}

extension SequenceClassificationModel {
    /// The pooler a classifier on `base` uses for `modes`: `nil` asks for the encoder's own classification pooler
    /// (mean pooling when it has none, recorded as such); returns the pooler and the modes to record.
    public static func pooler(for base: any EncoderModel, modes: [PoolingMode]?) -> (any Pooler, [PoolingMode]?) {
        if let modes, !modes.isEmpty { return (ConcatenatedPooler(modes.map(\.pooler)), modes) }
        if let own = (base as? any SequenceClassificationLayout)?.classificationPooler { return (own, nil) }
        return (MeanPooler(), [.mean])
    }

    /// The width of the pooled vector `pooler` makes from `base`'s states.
    static func pooledWidth(_ base: any EncoderModel, _ pooler: any Pooler) -> Int {
        let probe = TokenBatch([[0]], padId: 0)
        return withoutGrad { pooler.pool(Tensor.zeros([1, 1, base.encoder.hiddenSize]), batch: probe).shape[1] }
    }
}

/// A head model's checkpoint split into the head's tensors (under `head`, e.g. `classifier.`) and the encoder's (under
/// `encoder` + "."), each with its prefix dropped; with `bareEncoder`, a checkpoint with nothing under the encoder's
/// prefix is read as the encoder's own layout. Other tensors are left out.
func splitHeadCheckpoint(_ tensors: [String: Tensor], head: String, encoder prefix: String, bareEncoder: Bool)
    -> (head: [String: Tensor], encoder: [String: Tensor]) {
    let marker = prefix + "."
    let bare = bareEncoder && !tensors.keys.contains { $0.hasPrefix(marker) }
    var headTensors: [String: Tensor] = [:], encoder: [String: Tensor] = [:]
    for (name, tensor) in tensors {
        if name.hasPrefix(head) {
            headTensors[String(name.dropFirst(head.count))] = tensor
        } else if name.hasPrefix(marker) {
            encoder[String(name.dropFirst(marker.count))] = tensor
        } else if bare {
            encoder[name] = tensor
        }
    }
    return (headTensors, encoder)
}
