import Glossa

extension CausalLMConfiguration: ParameterCountEstimating {
    /// Embeddings, output projection, attention and SwiGLU weights, and a learned position table when there is one
    /// (`ModelSize` checks it before building).
    public var estimatedParameterCount: Double {
        let d = Double(hiddenSize)
        let embeddings = Double(vocabSize) * d * (tieWordEmbeddings ? 1 : 2)
        let positions = positionEmbeddingType == .rotary ? 0 : Double(maxPositionEmbeddings) * d
        return embeddings + positions + Double(numHiddenLayers) * (4 * d * d + 3 * d * Double(intermediateSize))
    }
}
