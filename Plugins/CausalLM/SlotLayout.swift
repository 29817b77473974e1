import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// Where each fed token sits: its position (rows count only their real tokens, so a row padded
/// after a short prompt continues at the right place) and which cache slots are padding, from
/// which the attention mask follows.
///
/// Padded slots stay in the cache but are masked as keys; training batches, padded only at the
/// end, need nothing beyond the causal mask, so none is built for them.
struct SlotLayout {
    /// The number of rows and of new tokens per row.
    let rows: Int, newLength: Int
    /// The number of cached slots before these tokens.
    let offset: Int
    /// `[B·T]` positions of the new tokens (padding takes its slot index; it is never attended).
    private(set) var positions: [Int]
    /// Per row, whether each slot (cached, then new) holds a real token.
    private(set) var realSlots: [[Bool]]
    /// Per row, the position the next real token takes.
    private(set) var nextPositions: [Int]
    /// Whether some padding slot precedes a real token, so causality alone would let it be seen.
    private(set) var needsPaddingMask = false
    /// Whether every row's new tokens have the same positions (one rotary table serves all rows).
    private(set) var rowsShareOrigin = true

    init(tokens: TokenBatch, cache: CausalLMState?) {
        rows = tokens.batchSize
        newLength = tokens.length
        let cached = cache.map { $0.length > 0 } ?? false
        offset = cached ? (cache?.length ?? 0) : 0
        positions = [Int](repeating: 0, count: rows * newLength)
        realSlots = []
        nextPositions = []
        realSlots.reserveCapacity(rows)
        for r in 0..<rows {
            var slots = cached ? (cache?.realSlots[r] ?? []) : []
            var next = cached ? (cache?.nextPositions[r] ?? 0) : 0
            var seenPadding = slots.contains(false)
            for j in 0..<newLength {
                let real = tokens.mask[r * newLength + j]
                if real {
                    positions[r * newLength + j] = next
                    next += 1
                    if seenPadding { needsPaddingMask = true }
                } else {
                    positions[r * newLength + j] = offset + j
                    seenPadding = true
                }
                slots.append(real)
            }
            realSlots.append(slots)
            nextPositions.append(next)
        }
        for r in 1..<Swift.max(rows, 1) where rowsShareOrigin {
            for j in 0..<newLength where positions[r * newLength + j] != positions[j] {
                rowsShareOrigin = false
                break
            }
        }
    }

    /// The additive mask `[B or 1, 1, T, offset + T]`, or nil when a single real token per row may see everything cached.
    func mask(queries t: Int) -> Tensor? {
        let keys = offset + t
        guard needsPaddingMask else {
            return t > 1 ? AttentionMask.causal(queries: t, keys: keys, offset: offset) : nil
        }
        var values = [Float](repeating: AttentionMask.dropped, count: rows * t * keys)
        for r in 0..<rows {
            for i in 0..<t {
                let base = (r * t + i) * keys
                for j in 0...(offset + i) where realSlots[r][j] { values[base + j] = 0 }
            }
        }
        return Tensor(shape: [rows, 1, t, keys], scalars: values)
    }

    /// Records the new slots in the state (after the blocks have appended their keys and values).
    func commit(_ state: CausalLMState) {
        state.realSlots = realSlots
        state.nextPositions = nextPositions
    }
}
