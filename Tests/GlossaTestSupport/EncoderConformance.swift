import Testing
import Glossa
import GlossaNN
import GlossaTensor

/// Checks what every `Encoder` promises: `[B, T, C]` output with C = `hiddenSize`, real positions that do not
/// depend on padding or on the other sequences of the batch, and the same output on a second call.
/// `ids` are valid token ids of the encoder; `padId` its padding id.
public func checkEncoderConformance(
    _ encoder: any Encoder, ids: [[Int]], padId: Int, tolerance: Float = 1e-5, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let batch = TokenBatch(ids, padId: padId)
    let states = try withoutGrad { try encoder.encode(batch, context: ForwardContext()) }
    #expect(states.shape == [ids.count, batch.length, encoder.hiddenSize], "output shape", sourceLocation: sourceLocation)
    let again = try withoutGrad { try encoder.encode(batch, context: ForwardContext()) }
    assertClose(again.scalars, states.scalars, rtol: 0, atol: 0, "two calls differ", sourceLocation: sourceLocation)
    let c = encoder.hiddenSize
    for (row, sequence) in ids.enumerated() {
        let alone = try withoutGrad { try encoder.encode(TokenBatch([sequence], padId: padId), context: ForwardContext()) }
        let inBatch = states.slice(axis: 0, row..<(row + 1)).slice(axis: 1, 0..<sequence.count)
        #expect(alone.count == sequence.count * c, sourceLocation: sourceLocation)
        assertClose(inBatch.scalars, alone.scalars, rtol: tolerance, atol: tolerance,
                    "row \(row) changes with padding or batch-mates", sourceLocation: sourceLocation)
    }
}

/// Checks what every `Pooler` promises: one vector per sequence, unchanged by what the padded positions hold
/// and by the other sequences of the batch.
public func checkPoolerConformance(_ pooler: any Pooler, width: Int = 6, sourceLocation: SourceLocation = #_sourceLocation) {
    let lengths = [2, 5, 1, 4]
    let t = lengths.max() ?? 0
    let batch = TokenBatch(lengths.map { [Int](repeating: 1, count: $0) }, padId: 0)
    func states(padding value: Float) -> Tensor {
        var scalars = randomTensor([lengths.count, t, width], seed: 21).scalars
        for (b, n) in lengths.enumerated() { for p in n..<t { for j in 0..<width { scalars[(b * t + p) * width + j] = value } } }
        return Tensor(shape: [lengths.count, t, width], scalars: scalars)
    }
    let reference = pooler.pool(states(padding: 0), batch: batch)
    #expect(reference.rank == 2 && reference.shape[0] == lengths.count, "one vector per sequence", sourceLocation: sourceLocation)
    for value: Float in [-1e4, 7, 1e4] {
        assertClose(pooler.pool(states(padding: value), batch: batch).scalars, reference.scalars, rtol: 0, atol: 0,
                    "padding holding \(value) changed a pooled vector", sourceLocation: sourceLocation)
    }
    let full = states(padding: 0)
    let d = reference.shape[1]
    for (b, n) in lengths.enumerated() {
        let alone = pooler.pool(full.slice(axis: 0, b..<(b + 1)).slice(axis: 1, 0..<n), batch: TokenBatch([[Int](repeating: 1, count: n)], padId: 0))
        assertClose(alone.scalars, Array(reference.scalars[(b * d)..<((b + 1) * d)]), rtol: 1e-5, atol: 1e-6,
                    "sequence \(b) pooled differently alone", sourceLocation: sourceLocation)
    }
}
