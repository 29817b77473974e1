import GlossaTensor

/// Keys and values already computed for an attention layer during incremental decoding:
/// self-attention appends one step at a time; cross-attention computes them once from the encoder.
///
/// Stored as `[B, H, capacity, D]` with room to grow, so a step appends in place instead of copying
/// the whole history, and the decode kernel reads it where it lies.
public final class KeyValueCache {
    private var keyStorage: [Float] = []
    private var valueStorage: [Float] = []
    private var rows = 0, heads = 0, width = 0, capacity = 0
    /// Rows the storage has room for: a continuous batch's joining rows are copied into the room left after the live
    /// ones (the room is kept when rows leave), so a join copies only the new rows, not the whole cache.
    private var rowCapacity = 0
    /// The positions cached in each row. Rows of a continuous batch joined at different times hold different
    /// numbers; each appends at its own end and attends only to its own positions.
    public private(set) var rowLengths: [Int] = []
    /// The number of cached positions of the longest row.
    public private(set) var length = 0
    // Scratch of `select(rows:)`, kept across steps: rows set aside, where each row went, the new row lengths.
    private var stash: [Float] = []
    private var stashSlot: [Int] = []
    private var lengthScratch: [Int] = []

    /// An empty cache.
    public init() {}

    /// `[B, H, T, D]` (T the longest row's positions; shorter rows end in zeros), or `nil` before the first step.
    public var keys: Tensor? { materialize(keyStorage) }
    /// `[B, H, T, D]`, or `nil` before the first step.
    public var values: Tensor? { materialize(valueStorage) }

    private func materialize(_ storage: [Float]) -> Tensor? {
        guard length > 0 else { return nil }
        if capacity == length && rowCapacity == rows && rowLengths.allSatisfy({ $0 == length }) {
            return Tensor(shape: [rows, heads, length, width], scalars: storage)
        }
        let block = capacity * width, used = length * width
        var out = [Float](repeating: 0, count: rows * heads * used)
        // Each row's own positions only: past them the storage may hold what a row that left there had.
        for r in 0..<(rows * heads) {
            let own = rowLengths[r / heads] * width
            out[(r * used)..<(r * used + own)] = storage[(r * block)..<(r * block + own)]
        }
        return Tensor(shape: [rows, heads, length, width], scalars: out)
    }

    /// Replaces the contents with `keys` and `values` `[B, H, T, D]` (cross-attention's, computed once).
    func set(keys: Tensor, values: Tensor) {
        (rows, heads, length, width) = (keys.shape[0], keys.shape[1], keys.shape[2], keys.shape[3])
        capacity = length
        rowCapacity = rows
        rowLengths = [Int](repeating: length, count: rows)
        keyStorage = keys.scalars
        valueStorage = values.scalars
    }

    /// Appends `keys` and `values` `[B, H, T', D]` after each row's own cached positions, growing the room geometrically.
    func append(keys: Tensor, values: Tensor) {
        guard length > 0 else {
            set(keys: keys, values: values)
            return
        }
        let added = keys.shape[2]
        precondition(keys.shape[0] == rows && keys.shape[1] == heads && keys.shape[3] == width, "cache append of \(keys.shape) onto [\(rows), \(heads), \(length), \(width)]")
        if length + added > capacity { grow(to: Swift.max(2 * capacity, length + added, 16)) }
        let block = capacity * width, step = added * width
        func write(_ storage: inout [Float], _ source: [Float]) {
            storage.withUnsafeMutableBufferPointer { o in source.withUnsafeBufferPointer { s in rowLengths.withUnsafeBufferPointer { lengths in
                guard let op = o.baseAddress, let sp = s.baseAddress, let lp = lengths.baseAddress else { return }
                for r in 0..<(rows * heads) { (op + r * block + lp[r / heads] * width).update(from: sp + r * step, count: step) }
            } } }
        }
        write(&keyStorage, keys.scalars)
        write(&valueStorage, values.scalars)
        for r in rowLengths.indices { rowLengths[r] += added }
        length += added
    }

    private func grow(to newCapacity: Int) {
        let oldBlock = capacity * width, newBlock = newCapacity * width, used = length * width
        func regrow(_ storage: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: rowCapacity * heads * newBlock)
            for r in 0..<(rows * heads) { out[(r * newBlock)..<(r * newBlock + used)] = storage[(r * oldBlock)..<(r * oldBlock + used)] }
            return out
        }
        keyStorage = regrow(keyStorage)
        valueStorage = regrow(valueStorage)
        capacity = newCapacity
    }

    /// Keeps only the batch rows `rows` (beam search reorders and prunes hypotheses); rows that stay
    /// where they are cost nothing.
    public func select(rows selected: [Int]) {
        guard length > 0, !(selected.count == rows && selected.indices.allSatisfy { selected[$0] == $0 }) else { return }
        if selected.count <= rowCapacity {
            selectInPlace(selected)
            return
        }
        let block = capacity * width, used = length * width, batchBlock = heads * block
        // The room for rows is kept (joins fill it); what lies past a row's own positions is never read.
        let room = Swift.max(selected.count, rowCapacity)
        func gather(_ storage: [Float]) -> [Float] {
            var out = [Float](unsafeUninitializedCapacity: room * batchBlock) { _, count in count = room * batchBlock }
            out.withUnsafeMutableBufferPointer { o in storage.withUnsafeBufferPointer { s in
                guard let op = o.baseAddress, let sp = s.baseAddress else { return }
                for (i, r) in selected.enumerated() {
                    for h in 0..<heads { (op + i * batchBlock + h * block).update(from: sp + r * batchBlock + h * block, count: used) }
                }
            } }
            return out
        }
        keyStorage = gather(keyStorage)
        valueStorage = gather(valueStorage)
        rows = selected.count
        rowCapacity = room
        rowLengths = selected.map { rowLengths[$0] }
        // The longest row may have left; what it held past the others' ends is zeros or never read again.
        length = rowLengths.max() ?? 0
        if length == 0 { (keyStorage, valueStorage, capacity, rowCapacity) = ([], [], 0, 0) }
    }

    /// `select(rows:)` within the storage there is: each row that changes is copied once from its source row, in
    /// order, and a source that an earlier destination overwrites is copied aside first. Beam search's reorders and
    /// a batch's departures then cost copies of the moved rows only, each of its own positions (in a continuous
    /// batch most rows hold fewer than the longest), and no allocation once the buffers have grown.
    private func selectInPlace(_ selected: [Int]) {
        let block = capacity * width, batchBlock = heads * block
        // Row s must be set aside when some destination i > s reads it and s itself is overwritten (at destination s).
        stashSlot.removeAll(keepingCapacity: true)
        stashSlot.append(contentsOf: repeatElement(-1, count: rows))
        var stashed = 0
        for (i, s) in selected.enumerated() where s < i && s < selected.count && selected[s] != s && stashSlot[s] < 0 {
            stashSlot[s] = stashed
            stashed += 1
        }
        if stash.count < stashed * batchBlock { stash = [Float](repeating: 0, count: stashed * batchBlock) }
        func move(_ storage: inout [Float]) {
            storage.withUnsafeMutableBufferPointer { o in stash.withUnsafeMutableBufferPointer { t in stashSlot.withUnsafeBufferPointer { slot in
                rowLengths.withUnsafeBufferPointer { lengths in
                    guard let op = o.baseAddress else { return }
                    let tp = t.baseAddress ?? op  // the stash is read only when something was set aside
                    for s in 0..<rows where slot[s] >= 0 {
                        let own = lengths[s] * width
                        for h in 0..<heads { (tp + slot[s] * batchBlock + h * block).update(from: op + s * batchBlock + h * block, count: own) }
                    }
                    for (i, s) in selected.enumerated() where s != i {
                        let own = lengths[s] * width
                        for h in 0..<heads {
                            let source = slot[s] >= 0 ? UnsafePointer(tp + slot[s] * batchBlock + h * block) : UnsafePointer(op + s * batchBlock + h * block)
                            (op + i * batchBlock + h * block).update(from: source, count: own)
                        }
                    }
                }
            } } }
        }
        move(&keyStorage)
        move(&valueStorage)
        lengthScratch.removeAll(keepingCapacity: true)
        for s in selected { lengthScratch.append(rowLengths[s]) }
        swap(&rowLengths, &lengthScratch)
        rows = selected.count
        // The longest row may have left; what it held past the others' ends is zeros or never read again.
        length = rowLengths.max() ?? 0
        if length == 0 { (keyStorage, valueStorage, capacity, rowCapacity) = ([], [], 0, 0) }
    }

    /// Appends the rows of `other` (a cache of the same layer, its rows at their own positions) after these rows.
    public func append(rowsOf other: KeyValueCache) {
        guard other.length > 0 else { return }
        guard length > 0 else {
            (keyStorage, valueStorage, rows, heads, width, capacity) = (other.keyStorage, other.valueStorage, other.rows, other.heads, other.width, other.capacity)
            (rowLengths, length, rowCapacity) = (other.rowLengths, other.length, other.rowCapacity)
            return
        }
        precondition(other.heads == heads && other.width == width, "joining a cache of [\(other.heads), \(other.width)] to one of [\(heads), \(width)]")
        let total = rows + other.rows
        if other.capacity > capacity || total > rowCapacity {
            // No room: a larger store, with room for as many rows again, so the next joins fit.
            let newCapacity = Swift.max(capacity, other.capacity), newRows = total > rowCapacity ? Swift.max(total, 2 * rowCapacity) : rowCapacity
            let newBlock = newCapacity * width
            func regrow(_ mine: [Float]) -> [Float] {
                var out = [Float](repeating: 0, count: newRows * heads * newBlock)
                out.withUnsafeMutableBufferPointer { o in mine.withUnsafeBufferPointer { m in
                    guard let op = o.baseAddress, let mp = m.baseAddress else { return }
                    for r in 0..<(rows * heads) { (op + r * newBlock).update(from: mp + r * capacity * width, count: length * width) }
                } }
                return out
            }
            keyStorage = regrow(keyStorage)
            valueStorage = regrow(valueStorage)
            (capacity, rowCapacity) = (newCapacity, newRows)
        }
        let block = capacity * width, base = rows * heads
        func place(_ storage: inout [Float], _ theirs: [Float]) {
            storage.withUnsafeMutableBufferPointer { o in theirs.withUnsafeBufferPointer { t in
                guard let op = o.baseAddress, let tp = t.baseAddress else { return }
                for r in 0..<(other.rows * heads) { (op + (base + r) * block).update(from: tp + r * other.capacity * width, count: other.length * width) }
            } }
        }
        place(&keyStorage, other.keyStorage)
        place(&valueStorage, other.valueStorage)
        rows = total
        rowLengths += other.rowLengths
        length = Swift.max(length, other.length)
    }

    /// Attention of one query per row and head, `query` `[B, H, 1, D]` (already scaled), over each row's own
    /// cached positions, with an additive `mask` `[B, maskStride]` or none → `[B, 1, H·D]`. Rows and heads are
    /// independent, so the result does not depend on the batch.
    func attendOne(_ query: Tensor, mask: [Float]?, maskStride: Int) -> Tensor {
        let d = width
        let uniform = rowLengths.allSatisfy { $0 == length }
        // Every output scalar is written by the kernel.
        return Tensor.writing([rows, 1, heads * d]) { o in
            query.scalars.withUnsafeBufferPointer { q in keyStorage.withUnsafeBufferPointer { k in valueStorage.withUnsafeBufferPointer { v in
                rowLengths.withUnsafeBufferPointer { l in
                    guard let qp = q.baseAddress, let kp = k.baseAddress, let vp = v.baseAddress, let op = o.baseAddress else { return }
                    func run(_ mp: UnsafePointer<Float>?) {
                        AttentionStep.run(query: qp, keys: kp, values: vp, mask: mp, output: op, rows: rows, heads: heads, positions: length,
                                          width: d, stride: capacity * d, maskStride: maskStride, lengths: uniform ? nil : l.baseAddress)
                    }
                    if let mask { mask.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                }
            } } }
        }
    }
}

/// Multi-head scaled dot-product attention with Hugging Face's projection names
/// (`q_proj`, `k_proj`, `v_proj`, `out_proj`), for self- and cross-attention.
public final class MultiHeadAttention: Module {
    /// The query, key, value and output projections.
    public let queryProjection, keyProjection, valueProjection, outputProjection: Linear
    /// The number of heads; the width divides evenly among them.
    public let heads: Int
    /// Dropout on the attention weights.
    public let dropout: Float
    /// The checkpoint name of the output projection: `out_proj` (Marian, BART) or `o_proj` (Llama).
    public let outputName: String

    /// A layer of width `dimension` split into `heads` heads.
    public init(
        dimension: Int, heads: Int, bias: Bool = true, dropout: Float = 0, outputName: String = "out_proj",
        generator: inout SeededGenerator
    ) {
        precondition(heads > 0 && dimension % heads == 0, "width \(dimension) does not split into \(heads) heads")
        queryProjection = Linear(dimension, dimension, bias: bias, generator: &generator)
        keyProjection = Linear(dimension, dimension, bias: bias, generator: &generator)
        valueProjection = Linear(dimension, dimension, bias: bias, generator: &generator)
        outputProjection = Linear(dimension, dimension, bias: bias, generator: &generator)
        self.heads = heads
        self.dropout = dropout
        self.outputName = outputName
    }

    /// A layer over the given projections (zero ones for weights that are about to be loaded).
    public init(query: Linear, key: Linear, value: Linear, output: Linear, heads: Int, dropout: Float = 0, outputName: String = "out_proj") {
        precondition(heads > 0 && query.weight.shape[0] % heads == 0, "width \(query.weight.shape[0]) does not split into \(heads) heads")
        (queryProjection, keyProjection, valueProjection, outputProjection) = (query, key, value, output)
        self.heads = heads
        self.dropout = dropout
        self.outputName = outputName
    }

    public var children: [(name: String, module: any Module)] {
        [("q_proj", queryProjection), ("k_proj", keyProjection), ("v_proj", valueProjection), (outputName, outputProjection)]
    }

    /// Attends from `query` `[B, Tq, C]` to `memory` `[B, Tk, C]` (itself when `nil`).
    ///
    /// - `mask`: additive, broadcastable to `[B, H, Tq, Tk]` (0 to keep, a large negative number to drop).
    /// - `cache`: with self-attention, the new keys/values are appended and the whole history is attended;
    ///   with cross-attention (`memory` given) keys/values are computed on the first call and reused.
    /// - `rotate`: applied to the new queries and keys `[B, H, T, D]` before they are cached (rotary positions).
    public func callAsFunction(
        _ query: Tensor, memory: Tensor? = nil, mask: Tensor? = nil, cache: KeyValueCache? = nil,
        rotate: ((Tensor) -> Tensor)? = nil, context: ForwardContext = ForwardContext()
    ) -> Tensor {
        let (b, tq, c) = (query.shape[0], query.shape[1], query.shape[2])
        let d = c / heads
        if cache == nil, rotate == nil, mask.map({ $0.rank == 4 }) ?? true {
            // Training and whole-sequence passes: one primitive over the projections' layout, no head permutes.
            let source = memory ?? query
            let mixed = queryProjection(query).attention(
                keys: keyProjection(source), values: valueProjection(source), heads: heads, scale: 1 / Float(d).squareRoot(),
                mask: mask, dropout: context.training ? dropout : 0, using: &context.generator)
            return outputProjection(mixed)
        }
        func split(_ x: Tensor) -> Tensor {  // [B, T, C] → [B, H, T, D]
            x.shape[1] == 1 ? x.reshaped([b, heads, 1, d]) : x.reshaped([b, x.shape[1], heads, d]).permuted([0, 2, 1, 3])
        }
        var q = split(queryProjection(query) * (1 / Float(d).squareRoot()))
        if let rotate { q = rotate(q) }
        if let cache, memory == nil || cache.length > 0 {
            // Keys and values of this step join the cache (self-attention) or come from it (cross).
            if memory == nil {
                var k = split(keyProjection(query))
                if let rotate { k = rotate(k) }
                cache.append(keys: k, values: split(valueProjection(query)))
            }
            // Incremental decoding, one query per row: the decode kernel reads the cache in place.
            if tq == 1 && !GradMode.isEnabled, let rowMask = Self.rowMask(mask, rows: b, keys: cache.length) {
                return outputProjection(cache.attendOne(q, mask: rowMask.0.isEmpty ? nil : rowMask.0, maskStride: rowMask.1))
            }
        }
        var k: Tensor, v: Tensor
        if let cache, let ck = cache.keys, let cv = cache.values {
            (k, v) = (ck, cv)
        } else {
            let source = memory ?? query
            k = split(keyProjection(source))
            if let rotate, memory == nil { k = rotate(k) }
            v = split(valueProjection(source))
            cache?.set(keys: k, values: v)
        }
        var scores = q.matmul(k, transposeOther: true)  // [B, H, Tq, Tk]
        if let mask { scores = scores + mask }
        let weights = context.dropout(scores.softmax(), dropout)
        let mixed = weights.matmul(v)  // [B, H, Tq, D]
        return outputProjection(mixed.permuted([0, 2, 1, 3]).reshaped([b, tq, c]))
    }
}

extension MultiHeadAttention {
    /// An additive mask broadcastable to `[B, H, 1, T]` as one row per batch row (`[]` for none) and the distance
    /// between rows, or `nil` when it varies by head or query and needs the general path. A mask wider than the cache
    /// (a continuous batch's memory, padded to the longest source ever joined) is read up to each row's length.
    static func rowMask(_ mask: Tensor?, rows: Int, keys: Int) -> ([Float], Int)? {
        guard let mask else { return ([], keys) }
        guard mask.rank == 4, mask.shape[1] == 1, mask.shape[2] == 1, mask.shape[3] >= keys else { return nil }
        if mask.shape[0] == rows { return (mask.scalars, mask.shape[3]) }
        guard mask.shape[0] == 1 else { return nil }
        return (Array([[Float]](repeating: mask.scalars, count: rows).joined()), mask.shape[3])
    }
}

/// Masks in the additive form attention takes.
public enum AttentionMask {
    /// The value added to dropped scores; finite so that fully masked rows stay finite.
    public static let dropped: Float = -1e9

    /// `[B, 1, 1, T]` from a padding mask `[B][T]` (true = real token).
    public static func padding(_ keep: [[Bool]]) -> Tensor {
        let t = keep.first?.count ?? 0
        return Tensor(shape: [keep.count, 1, 1, t], scalars: keep.flatMap { $0.map { $0 ? 0 : dropped } })
    }

    /// `[1, 1, Tq, Tk]` letting query i (at absolute position `offset + i`) see keys 0…offset+i.
    public static func causal(queries: Int, keys: Int, offset: Int = 0) -> Tensor {
        var values = [Float](repeating: 0, count: queries * keys)
        for i in 0..<queries { for j in 0..<keys where j > offset + i { values[i * keys + j] = dropped } }
        return Tensor(shape: [1, 1, queries, keys], scalars: values)
    }
}
