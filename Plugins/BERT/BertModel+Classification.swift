import Glossa
import GlossaNN
import GlossaTensor

// transformers' BertForSequenceClassification: dropout(pooler_output) → classifier, where pooler_output is
// tanh(pooler.dense(state of [CLS])). A classifier on this plugin pools the same way, so its directory is one.

extension BertModel: SequenceClassificationLayout {
    /// "BertForSequenceClassification".
    public var sequenceClassificationArchitecture: String { "BertForSequenceClassification" }

    /// `pooler_output`, when the model has its `pooler.dense`.
    public var classificationPooler: (any Pooler)? { pooler.map { BertPoolerOutput(dense: $0) } }
}

/// tanh(dense(first token)): BERT's `pooler_output` as a `Pooler`, differentiable through `dense`.
struct BertPoolerOutput: Pooler {
    let dense: Linear

    func pool(_ states: Tensor, batch: TokenBatch) -> Tensor {
        dense(FirstTokenPooler().pool(states, batch: batch)).tanh()
    }
}
