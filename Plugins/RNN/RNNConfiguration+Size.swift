import Glossa

extension RNNConfiguration: ParameterCountEstimating {
    /// The shared embedding table and the recurrent layers' input and hidden weights, a lower bound that ignores
    /// attention and output layers (`ModelSize` checks it before building).
    public var estimatedParameterCount: Double {
        let e = Double(embeddingDim), h = Double(hiddenSize), g = Double(cell.gates)
        let encoder = Double(encoderLayers) * g * Double(encoderStateSize) * (e + Double(encoderStateSize)) * (bidirectional ? 2 : 1)
        let decoder = Double(decoderLayers) * g * h * (e + h)
        return Double(vocabSize) * e + encoder + decoder
    }
}
