import GlossaNN
import GlossaTensor

// Training on several threads by splitting the batch, not the products. Splitting every matrix product over two
// threads costs a fork and join per product, packs the shared operand twice and leaves a core idle in every kernel
// too small to split; two shards of the batch, each on one thread from its forward to its backward, keep both cores
// in their own products all step (measured: `docs/training.md`, "Speed, and where a step goes"). The shards are
// interleaved (examples s, s+n, …) like data-parallel ranks, so length-sorted batches split evenly, and each draws
// its dropout from a stream of its own seeded by (update, shard), so runs resume exactly. Shard 0 accumulates into
// the parameters' gradients directly; the others hand theirs over, and they are added in shard order afterwards, so
// a run is deterministic for a given thread count (not bitwise equal across thread counts: the sums are grouped by
// shard, and the dropout draws differ).

/// The shards of one update when an objective's batches split across the threads.
struct ThreadShards {
    /// One forward context per shard (dropout stream, training flag).
    let contexts: [ForwardContext]

    /// `count` shards for the update after `step`, their dropout streams from `seed` (and the rank, across processes).
    init(count: Int, seed: UInt64, step: Int, rank: Int) {
        contexts = (0..<count).map { shard in
            let context = ForwardContext(training: true)
            context.generator = SeededGenerator(seed: seed &+ 29 &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15
                                                &+ UInt64(rank) &* 0xD1B5_4A32_D192_ED03 &+ UInt64(shard + 1) &* 0x94D0_49BB_1331_11EB)
            return context
        }
    }

    /// What one shard's loss counted (its graph is gone once it has been back-propagated).
    struct Part {
        var value: Double
        var count: Int
        var tokens: Int
        var metrics: [String: Double]
    }

    /// Every shard's loss of `batch`, back-propagated as the sum over the shard's units, on one thread each; the
    /// gradients end up added into the parameters' `grad`. Then `ready` (data-parallel's hook) gets every parameter.
    func backward(_ batch: [Int], parameters: [Tensor], ready: ((Tensor) -> Void)?,
                  loss: (_ shard: [Int], _ context: ForwardContext) throws -> ObjectiveLoss) throws -> [Part] {
        let n = contexts.count
        let shards = (0..<n).map { s in stride(from: s, to: batch.count, by: n).map { batch[$0] } }
        let results = UnsafeMutableBufferPointer<Result<(Part, [(Tensor, Tensor)])?, any Error>>.allocate(capacity: n)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        parallelChunks(n, cost: .max / n) { range in
            for s in range {
                results.initializeElement(at: s, to: Result { try Threads.onThisThread { () -> (Part, [(Tensor, Tensor)])? in
                    guard !shards[s].isEmpty else { return nil }
                    let part = try loss(shards[s], contexts[s])
                    guard part.count > 0 else { return nil }
                    let value = Double(part.loss.item)
                    var collected: [(Tensor, Tensor)] = []
                    if value.isFinite {
                        (part.loss * Float(part.count)).backward(collect: s == 0 ? nil : { collected.append(($0, $1)) })
                    }
                    return (Part(value: value, count: part.count, tokens: part.tokens, metrics: part.metrics), collected)
                } })
            }
        }
        var parts: [Part] = []
        var handedOver: [(Tensor, Tensor)] = []
        for s in 0..<n {
            guard let (part, collected) = try results[s].get() else { continue }
            parts.append(part)
            handedOver += collected
        }
        // Each parameter appears once per shard: added in shard order, the parameters spread over the threads.
        let leaves = Dictionary(grouping: handedOver, by: { ObjectIdentifier($0.0) }).values.map { $0 }
        parallelChunks(leaves.count, cost: leaves.isEmpty ? 1 : handedOver.reduce(0) { $0 + $1.1.count } / leaves.count) { range in
            Threads.onThisThread {
                for i in range { for (leaf, gradient) in leaves[i] { leaf.accumulateGrad(gradient) } }
            }
        }
        if let ready { for p in parameters.reversed() { ready(p) } }
        return parts
    }
}
