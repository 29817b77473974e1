import Glossa

extension BertConfiguration: ParameterCountEstimating {
    /// Embedding tables, attention and feed-forward weights (`ModelSize` checks it before building).
    public var estimatedParameterCount: Double {
        let d = Double(hiddenSize)
        let embeddings = (Double(vocabSize) + Double(maxPositionEmbeddings) + Double(typeVocabSize)) * d
        return embeddings + Double(numHiddenLayers) * (4 * d * d + 2 * d * Double(intermediateSize))
    }
}
