import GlossaTensor

/// Training losses built from differentiable primitives.
public enum Losses {
    /// Mean token cross-entropy from `logits` `[N, V]` and integer `targets` `[N]`.
    ///
    /// With `labelSmoothing` ε the target distribution puts 1−ε on the target and ε spread evenly over
    /// the vocabulary (PyTorch's `CrossEntropyLoss(label_smoothing:)`). Targets equal to `ignoreIndex`
    /// count for nothing; the mean is over the others. Returns the loss and the number of counted tokens.
    public static func crossEntropy(
        logits: Tensor, targets: [Int], labelSmoothing: Float = 0, ignoreIndex: Int? = nil
    ) -> (loss: Tensor, tokens: Int) {
        precondition(logits.rank == 2 && logits.shape[0] == targets.count, "crossEntropy needs logits [N, V] and N targets")
        let vocabulary = logits.shape[1]
        let keep = targets.map { $0 != ignoreIndex }
        let counted = keep.filter { $0 }.count
        let logProbabilities = logits.logSoftmax()  // [N, V]
        let flatIndices = targets.enumerated().map { i, t in i * vocabulary + (keep[i] ? t : 0) }
        let picked = logProbabilities.reshaped([-1]).indexSelect(axis: 0, flatIndices)  // [N]
        let weights = Tensor(keep.map { $0 ? Float(1) : 0 })
        var perToken = -picked
        if labelSmoothing > 0 {
            let smooth = -logProbabilities.mean(axis: 1)  // [N]
            perToken = perToken * (1 - labelSmoothing) + smooth * labelSmoothing
        }
        return ((perToken * weights).sum() * (1 / Float(Swift.max(counted, 1))), counted)
    }
}
