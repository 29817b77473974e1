/// Every differentiable primitive of GlossaTensor, with what its backward rule needs saved.
/// `Gradients.backward` switches over this enum exhaustively, so a primitive without a rule does not compile.
enum Primitive {
    case add, sub, mul, div, neg
    case exp, log, sqrt, rsqrt, tanh, sigmoid, relu, silu, geluTanh, geluErf
    case pow(Float)
    case clamp(Float, Float)
    /// `inputs[0]` where the broadcast mask is non-zero, `inputs[1]` elsewhere.
    case select(mask: [Float])
    case sum(axis: Int, keepDims: Bool)
    case max(axis: Int, keepDims: Bool, argmax: [Int])
    case logSumExp(axis: Int, keepDims: Bool)
    case matmul(transposeSelf: Bool, transposeOther: Bool)
    case reshape
    case permute([Int])
    case slice(axis: Int, start: Int)
    case concat(axis: Int, sizes: [Int])
    case indexSelect(axis: Int, indices: [Int])
    case indexAdd(axis: Int, indices: [Int])
    case pad(axis: Int, before: Int)
    /// Per-element gather along an axis: one source index for every output element.
    case takeAlong(axis: Int, indices: [Int])
    /// Per-element scatter-add along an axis (the adjoint of `takeAlong`).
    case scatterAddAlong(axis: Int, indices: [Int])
    case softmax(scale: Float)
    case logSoftmax(scale: Float)
    /// Inputs: x, weight, bias.
    case layerNorm(mean: [Float], rstd: [Float])
    /// Inputs: x, weight.
    case rmsNorm(rstd: [Float])
    case dropout(mask: [Float])
    /// inputs[0] + inputs[1] · mask (a residual sum with dropout on the branch).
    case addDropped(mask: [Float])
    /// Per-row label-smoothed cross-entropy of logits; saves each row's log-sum-exp.
    case crossEntropy(targets: [Int], smoothing: Float, ignoreIndex: Int?, logSumExp: [Float])
    /// Inputs: queries, keys, values `[B, T, H·D]`; saves the attention weights `[B, H, Tq, Tk]` and the dropout mask.
    case attention(heads: Int, scale: Float, probabilities: [Float], dropMask: [Float]?)
    /// Inputs: gi, gh, h; saves the gates r, z, n of each row.
    case gruCell(gates: [Float])
    /// Inputs: pre-activations, c; saves σ(i), σ(f), tanh(g), σ(o), tanh(c') of each row.
    case lstmCell(gates: [Float])
}
