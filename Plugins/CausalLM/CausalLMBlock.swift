import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// The SwiGLU feed-forward of a Llama block: down(silu(gate(x)) · up(x)).
final class SwiGLUFeedForward: Module {
    let gate, up, down: Linear

    init(dimension: Int, hidden: Int) {
        gate = Linear(zeros: dimension, hidden, bias: false)
        up = Linear(zeros: dimension, hidden, bias: false)
        down = Linear(zeros: hidden, dimension, bias: false)
    }

    var children: [(name: String, module: any Module)] { [("gate_proj", gate), ("up_proj", up), ("down_proj", down)] }

    /// `[B, T, C]` → `[B, T, C]`.
    func callAsFunction(_ x: Tensor) -> Tensor { down(gate(x).silu() * up(x)) }
}

/// One pre-norm Llama block: x + attn(norm(x)), then h + mlp(norm(h)), with Hugging Face's names
/// (`self_attn`, `mlp`, `input_layernorm`, `post_attention_layernorm`).
final class CausalLMBlock: Module {
    let attention: MultiHeadAttention
    let feedForward: SwiGLUFeedForward
    let inputNorm, postAttentionNorm: RMSNorm
    let dropout: Float

    init(_ c: CausalLMConfiguration) {
        let width = c.hiddenSize
        func projection() -> Linear { Linear(zeros: width, width, bias: false) }
        attention = MultiHeadAttention(query: projection(), key: projection(), value: projection(), output: projection(),
                                       heads: c.numAttentionHeads, dropout: c.attentionDropout, outputName: "o_proj")
        feedForward = SwiGLUFeedForward(dimension: width, hidden: c.intermediateSize)
        inputNorm = RMSNorm(width, eps: c.rmsNormEps)
        postAttentionNorm = RMSNorm(width, eps: c.rmsNormEps)
        dropout = c.hiddenDropout
    }

    var children: [(name: String, module: any Module)] {
        [("self_attn", attention), ("mlp", feedForward), ("input_layernorm", inputNorm), ("post_attention_layernorm", postAttentionNorm)]
    }

    /// `[B, T, C]` → `[B, T, C]`; `mask` is additive (see `AttentionMask`), `rotate` applies the
    /// rotary positions of the new tokens (nil with learned positions).
    func callAsFunction(
        _ x: Tensor, mask: Tensor?, cache: KeyValueCache?, rotate: ((Tensor) -> Tensor)?, context: ForwardContext
    ) -> Tensor {
        let h = context.measure(.selfAttention) {
            context.residual(x, plus: attention(inputNorm(x), mask: mask, cache: cache, rotate: rotate, context: context), dropout: dropout)
        }
        return context.measure(.feedForward) { context.residual(h, plus: feedForward(postAttentionNorm(h)), dropout: dropout) }
    }
}

/// Key/value caches of every block, plus what each row has seen: its next position (rows that
/// began with a shorter prompt are behind) and which cached slots hold padding.
final class CausalLMState: DecoderState {
    let caches: [KeyValueCache]
    /// The position the next real token of each row takes; empty until the first call.
    var nextPositions: [Int] = []
    /// Per row, whether each cached slot holds a real token.
    var realSlots: [[Bool]] = []

    init(layers: Int) { caches = (0..<layers).map { _ in KeyValueCache() } }

    var length: Int { caches.first?.length ?? 0 }

    func select(rows: [Int]) {
        for cache in caches { cache.select(rows: rows) }
        if !nextPositions.isEmpty { nextPositions = rows.map { nextPositions[$0] } }
        if !realSlots.isEmpty { realSlots = rows.map { realSlots[$0] } }
    }

    func append(rowsOf other: any DecoderState) throws {
        guard let other = other as? CausalLMState, other.caches.count == caches.count else {
            throw GlossaError.invalidInput("a decoder state from another model was joined to a causal LM one")
        }
        guard other.length > 0 else { return }
        for (mine, theirs) in zip(caches, other.caches) { mine.append(rowsOf: theirs) }
        nextPositions += other.nextPositions
        realSlots += other.realSlots
    }
}
