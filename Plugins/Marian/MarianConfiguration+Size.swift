import Glossa

extension MarianConfiguration: ParameterCountEstimating {
    /// Embeddings, position tables, attention and feed-forward weights (`ModelSize` checks it before building).
    public var estimatedParameterCount: Double {
        let d = Double(dModel), positions = Double(maxPositionEmbeddings)
        let embeddings = Double(vocabSize) * d + (shareEncoderDecoderEmbeddings ? 0 : Double(decoderVocabSize) * d)
        let output = tieWordEmbeddings ? 0 : Double(decoderVocabSize) * d
        let encoder = Double(encoderLayers) * (4 * d * d + 2 * d * Double(encoderFfnDim))
        let decoder = Double(decoderLayers) * (8 * d * d + 2 * d * Double(decoderFfnDim))
        return embeddings + output + 2 * positions * d + encoder + decoder
    }
}
