import Testing
import Glossa
import GlossaNN
import GlossaTensor

/// Checks what every `Decoder` promises, for a translator's decoder (`memory` from its encoder, one row per
/// sequence of `tokens`) or a language model's (`memory` nil):
/// - teacher-forced logits are `[B, T, V]` and repeat on a second call;
/// - incremental decoding with a state, one position per call, gives the teacher-forced logits;
/// - causality: the logits at t do not change when a later token changes;
/// - padding and batch invariance: each row alone gives its in-batch logits;
/// - determinism under a seed: two training-mode passes with one seed agree.
/// `tokens` are valid ids, at least two per row; `padId` pads them.
public func checkDecoderConformance(
    _ decoder: any Decoder, tokens: [[Int]], padId: Int, memory: EncoderMemory? = nil, tolerance: Float = 1e-4,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let batch = TokenBatch(tokens, padId: padId)
    let v = decoder.vocabularySize
    func full(_ batch: TokenBatch, memory: EncoderMemory?, context: ForwardContext = ForwardContext()) throws -> Tensor {
        try withoutGrad { try decoder.decode(batch, memory: memory, state: nil, context: context) }
    }
    let logits = try full(batch, memory: memory)  // [B, T, V]
    #expect(logits.shape == [tokens.count, batch.length, v], "teacher-forced logits shape", sourceLocation: sourceLocation)
    assertClose(try full(batch, memory: memory).scalars, logits.scalars, rtol: 0, atol: 0, "two calls differ", sourceLocation: sourceLocation)

    for (row, sequence) in tokens.enumerated() {
        let rowMemory = memory?.selecting(rows: [row])
        let inBatch = logits.slice(axis: 0, row..<(row + 1)).slice(axis: 1, 0..<sequence.count)  // [1, n, V]
        let alone = try full(TokenBatch([sequence], padId: padId), memory: rowMemory)
        assertClose(alone.scalars, inBatch.scalars, rtol: tolerance, atol: tolerance,
                    "row \(row) changes with padding or batch-mates", sourceLocation: sourceLocation)

        let state = decoder.makeState()
        var steps: [Float] = []
        for position in sequence.indices {
            let step = try withoutGrad {
                try decoder.decode(TokenBatch([[sequence[position]]], padId: padId), memory: rowMemory, state: state, context: ForwardContext())
            }
            #expect(step.shape == [1, 1, v], "one position per incremental call", sourceLocation: sourceLocation)
            steps += step.scalars
        }
        #expect(state.length == sequence.count, "the state counts the positions it consumed", sourceLocation: sourceLocation)
        assertClose(steps, alone.scalars, rtol: tolerance, atol: tolerance,
                    "row \(row): incremental decoding differs from teacher forcing", sourceLocation: sourceLocation)

        if sequence.count >= 2 {
            var changed = sequence
            changed[changed.count - 1] = sequence.last == 0 ? 1 : 0
            let other = try full(TokenBatch([changed], padId: padId), memory: rowMemory)
            let prefix = (sequence.count - 1) * v
            assertClose(Array(other.scalars.prefix(prefix)), Array(alone.scalars.prefix(prefix)), rtol: tolerance, atol: tolerance,
                        "row \(row): logits depend on a later token (not causal)", sourceLocation: sourceLocation)
        }
    }

    let first = try full(batch, memory: memory, context: ForwardContext(training: true, seed: 11))
    let second = try full(batch, memory: memory, context: ForwardContext(training: true, seed: 11))
    assertClose(second.scalars, first.scalars, rtol: 0, atol: 0, "training-mode passes with one seed differ", sourceLocation: sourceLocation)
}
