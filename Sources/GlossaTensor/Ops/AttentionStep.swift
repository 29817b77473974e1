import CGlossaKernels
import Foundation

/// Attention of one query per (row, head) over cached keys and values, the inner loop of incremental
/// decoding: no permutes and no per-head matrix products, each block independent of the others.
public enum AttentionStep {
    /// For each of `rows`·`heads` blocks r: p = softmax(q_r · K_rᵀ + mask[row]) and out_r = p · V_r.
    /// `query` and `output` are `[rows·heads, width]`; block r's keys and values start at r·`stride`
    /// and hold `positions` rows of `width`; `mask` is `[rows, maskStride]` (`maskStride` defaults to `positions`),
    /// additive, or nil. With `lengths` (one per row), a row attends only to its first `lengths[row]` positions.
    public static func run(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, rows: Int, heads: Int, positions: Int, width: Int, stride: Int,
        maskStride: Int? = nil, lengths: UnsafePointer<Int>? = nil
    ) {
        nonisolated(unsafe) let (q, k, v, o, m, l) = (query, keys, values, output, mask, lengths)
        let maskStride = maskStride ?? positions
        parallelChunks(rows, cost: heads * positions * width * 2) { range in
            // The scores of one block: the running thread's scratch (slot 3), kept across steps.
            let floats = Swift.max(positions, 1)
            func run(_ scores: UnsafeMutablePointer<Float>) {
                let first = range.lowerBound * heads
                gk_attention_step(q + first * width, k + first * stride, v + first * stride, m.map { $0 + range.lowerBound * maskStride },
                                  maskStride, l.map { $0 + range.lowerBound },
                                  o + first * width, scores, range.count * heads, heads, positions, width, stride)
            }
            if let scratch = gk_thread_scratch(3, 4 * floats) {
                run(scratch.bindMemory(to: Float.self, capacity: floats))
            } else {
                let owned = UnsafeMutablePointer<Float>.allocate(capacity: floats)
                defer { owned.deallocate() }
                run(owned)
            }
        }
    }

    /// The same as a plain loop, the test oracle.
    public static func reference(
        query: [Float], keys: [Float], values: [Float], mask: [Float]?, rows: Int, heads: Int, positions: Int, width: Int, stride: Int
    ) -> [Float] {
        var out = [Float](repeating: 0, count: rows * heads * width)
        for r in 0..<(rows * heads) {
            var scores = (0..<positions).map { j in
                (0..<width).reduce(Float(0)) { $0 + query[r * width + $1] * keys[r * stride + j * width + $1] } + (mask?[(r / heads) * positions + j] ?? 0)
            }
            let top = scores.max() ?? 0
            scores = scores.map { Foundation.exp($0 - top) }
            let total = scores.reduce(0, +)
            for j in 0..<positions {
                for i in 0..<width { out[r * width + i] += scores[j] / total * values[r * stride + j * width + i] }
            }
        }
        return out
    }
}
