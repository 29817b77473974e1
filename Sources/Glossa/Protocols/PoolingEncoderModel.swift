/// An encoder network that brings its own trained pooler (attention pooling with a learned query, say).
///
/// Embedders built on such a model pool with it: `glossa train --recipe` trains it together with the encoder
/// (it belongs to the model's parameter tree, so it is saved too), and `Embedder.load` uses it unless the
/// caller asks for a pooling mode.
public protocol PoolingEncoderModel: EncoderModel {
    /// The pooler, or `nil` for the embedder's default pooling.
    var sentencePooler: (any Pooler)? { get }
}
