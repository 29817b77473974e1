import GlossaTensor

/// Where layer normalisation sits in a residual block: after the residual sum (the original
/// Transformer, Marian, BERT) or before the sublayer (GPT-2 and most decoders since).
public enum NormPlacement: String, Codable, Sendable {
    case post, pre
}

/// A transformer encoder layer with Hugging Face Marian/BART parameter names
/// (`self_attn`, `self_attn_layer_norm`, `fc1`, `fc2`, `final_layer_norm`).
public final class TransformerEncoderLayer: Module {
    /// Self-attention and its norm.
    public let selfAttention: MultiHeadAttention
    public let selfAttentionNorm: LayerNorm
    /// The feed-forward projections.
    public let fc1, fc2: Linear
    /// The norm of the feed-forward block.
    public let finalNorm: LayerNorm
    /// The feed-forward activation.
    public let activation: Activation
    /// Post- or pre-norm.
    public let placement: NormPlacement
    /// Dropout after each sublayer, on attention weights, and after the activation.
    public let dropout, attentionDropout, activationDropout: Float

    /// A layer of width `dimension` with a feed-forward of width `feedForward`.
    public init(
        dimension: Int, heads: Int, feedForward: Int, activation: Activation, placement: NormPlacement = .post,
        dropout: Float = 0, attentionDropout: Float = 0, activationDropout: Float = 0, eps: Float = 1e-5,
        generator: inout SeededGenerator
    ) {
        selfAttention = MultiHeadAttention(dimension: dimension, heads: heads, dropout: attentionDropout, generator: &generator)
        selfAttentionNorm = LayerNorm(dimension, eps: eps)
        fc1 = Linear(dimension, feedForward, generator: &generator)
        fc2 = Linear(feedForward, dimension, generator: &generator)
        finalNorm = LayerNorm(dimension, eps: eps)
        self.activation = activation
        self.placement = placement
        self.dropout = dropout
        self.attentionDropout = attentionDropout
        self.activationDropout = activationDropout
    }

    public var children: [(name: String, module: any Module)] {
        [("self_attn", selfAttention), ("self_attn_layer_norm", selfAttentionNorm),
         ("fc1", fc1), ("fc2", fc2), ("final_layer_norm", finalNorm)]
    }

    /// `[B, T, C]` → `[B, T, C]`; `mask` is additive (see `AttentionMask`).
    public func callAsFunction(_ x: Tensor, mask: Tensor?, context: ForwardContext = ForwardContext()) -> Tensor {
        // Tape parts only (a decoding profile times the whole encoder as one part).
        let h = Profiler.within("encoder self-attention") {
            residual(x, norm: selfAttentionNorm, context: context) { selfAttention($0, mask: mask, context: context) }
        }
        return Profiler.within("encoder feed-forward") {
            residual(h, norm: finalNorm, context: context) { feedForward($0, context: context) }
        }
    }

    func feedForward(_ x: Tensor, context: ForwardContext) -> Tensor {
        fc2(context.dropout(activation(fc1(x)), activationDropout))
    }

    func residual(_ x: Tensor, norm: LayerNorm, context: ForwardContext, _ sublayer: (Tensor) -> Tensor) -> Tensor {
        switch placement {
        case .post: return norm(context.residual(x, plus: sublayer(x), dropout: dropout))
        case .pre: return context.residual(x, plus: sublayer(norm(x)), dropout: dropout)
        }
    }
}

/// A transformer decoder layer with Hugging Face Marian/BART names: self-attention, cross-attention
/// (`encoder_attn`, `encoder_attn_layer_norm`) and the feed-forward.
public final class TransformerDecoderLayer: Module {
    /// Self-attention and feed-forward, shared with the encoder layer.
    public let base: TransformerEncoderLayer
    /// Attention over the encoder output and its norm.
    public let crossAttention: MultiHeadAttention
    public let crossAttentionNorm: LayerNorm

    /// A layer of width `dimension` with a feed-forward of width `feedForward`.
    public init(
        dimension: Int, heads: Int, feedForward: Int, activation: Activation, placement: NormPlacement = .post,
        dropout: Float = 0, attentionDropout: Float = 0, activationDropout: Float = 0, eps: Float = 1e-5,
        generator: inout SeededGenerator
    ) {
        base = TransformerEncoderLayer(
            dimension: dimension, heads: heads, feedForward: feedForward, activation: activation, placement: placement,
            dropout: dropout, attentionDropout: attentionDropout, activationDropout: activationDropout, eps: eps,
            generator: &generator)
        crossAttention = MultiHeadAttention(dimension: dimension, heads: heads, dropout: attentionDropout, generator: &generator)
        crossAttentionNorm = LayerNorm(dimension, eps: eps)
    }

    public var children: [(name: String, module: any Module)] {
        [("self_attn", base.selfAttention), ("self_attn_layer_norm", base.selfAttentionNorm),
         ("encoder_attn", crossAttention), ("encoder_attn_layer_norm", crossAttentionNorm),
         ("fc1", base.fc1), ("fc2", base.fc2), ("final_layer_norm", base.finalNorm)]
    }

    /// One decoder layer. `selfMask` is causal (plus padding); `memoryMask` masks encoder padding.
    /// With caches, `x` holds only the new positions.
    public func callAsFunction(
        _ x: Tensor, memory: Tensor?, selfMask: Tensor?, memoryMask: Tensor?,
        selfCache: KeyValueCache? = nil, crossCache: KeyValueCache? = nil, context: ForwardContext = ForwardContext()
    ) -> Tensor {
        var h = context.measure(.selfAttention) {
            base.residual(x, norm: base.selfAttentionNorm, context: context) {
                base.selfAttention($0, mask: selfMask, cache: selfCache, context: context)
            }
        }
        if let memory {
            h = context.measure(.crossAttention) {
                base.residual(h, norm: crossAttentionNorm, context: context) {
                    crossAttention($0, memory: memory, mask: memoryMask, cache: crossCache, context: context)
                }
            }
        }
        return context.measure(.feedForward) {
            base.residual(h, norm: base.finalNorm, context: context) { base.feedForward($0, context: context) }
        }
    }
}
