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
        let counted = targets.filter { $0 != ignoreIndex }.count
        return Profiler.within("loss") {
            let perToken = logits.crossEntropyRows(targets: targets, labelSmoothing: labelSmoothing, ignoreIndex: ignoreIndex)
            return (perToken.sum() * (1 / Float(Swift.max(counted, 1))), counted)
        }
    }
}
