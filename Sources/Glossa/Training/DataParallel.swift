import Foundation
import GlossaNN
import GlossaTensor

// Data-parallel training, the trainer's side. Every rank plans the same epoch of batches, each `size` times the
// recipe's batch, and trains on its shard of each (rank r takes examples r, r+size, …): N ranks with batch B step
// like one process with batch N·B. Each rank back-propagates the sum (not the mean) of its shard's loss; the sums
// are added over ranks in buckets, each started (MPI_Iallreduce) as soon as backward has finished its parameters'
// gradients, and the trainer divides by the update's units counted over all ranks, so the gradient is the one of
// the whole batch. Every rank then takes the same optimizer step on the same numbers.
//
// Rank 0 is the one that writes and validates; the others agree with it through two small reductions a step (whether
// to stop and rank 0's clock at the top of the loop, the step's counts after backward) so budgets, schedules and
// Ctrl-C end every rank at the same update. Start and --resume give every rank rank 0's weights, optimizer state and
// trainer state. With one process all of this is the identity: no copies, no buckets.

/// The trainer's collectives: sharding, bucketed gradient sums overlapping backward, step totals, and the start state.
final class DataParallel {
    let communicator: any Communicator
    private let buckets: [Bucket]
    private let bucketOf: [ObjectIdentifier: Int]
    private var readyCounts: [Int]
    private var requests: [(any CommunicationRequest)?]
    private var nextToStart = 0
    /// Seconds spent in communication (packing, collectives, unpacking) since `takeSeconds()`.
    private var seconds = 0.0

    /// One flat buffer of consecutive parameters' gradients, summed by one collective.
    final class Bucket {
        let parameters: [Tensor]
        let offsets: [Int]
        let buffer: UnsafeMutableBufferPointer<Float>

        init(_ parameters: [Tensor]) {
            self.parameters = parameters
            var offsets: [Int] = [], total = 0
            for p in parameters {
                offsets.append(total)
                total += p.count
            }
            self.offsets = offsets
            buffer = .allocate(capacity: total)
        }

        deinit { buffer.deallocate() }
    }

    /// Buckets of about `bucketBytes` over `parameters` in reverse order (roughly the order backward finishes them),
    /// so the first buckets can travel while backward computes the rest.
    init(communicator: any Communicator, parameters: [Tensor], bucketBytes: Int = 4 << 20) {
        self.communicator = communicator
        var buckets: [Bucket] = []
        if communicator.isDistributed {
            var current: [Tensor] = [], elements = 0
            for p in parameters.reversed() {
                current.append(p)
                elements += p.count
                if elements * MemoryLayout<Float>.size >= bucketBytes {
                    buckets.append(Bucket(current))
                    current = []
                    elements = 0
                }
            }
            if !current.isEmpty { buckets.append(Bucket(current)) }
        }
        self.buckets = buckets
        var bucketOf: [ObjectIdentifier: Int] = [:]
        for (index, bucket) in buckets.enumerated() {
            for p in bucket.parameters { bucketOf[ObjectIdentifier(p)] = index }
        }
        self.bucketOf = bucketOf
        readyCounts = Array(repeating: 0, count: buckets.count)
        requests = Array(repeating: nil, count: buckets.count)
    }

    var rank: Int { communicator.rank }
    var isRoot: Bool { communicator.isRoot }
    var isDistributed: Bool { communicator.isDistributed }

    // MARK: Batches

    /// The batching of the plan every rank shares: `size` times the objective's batch, cut into shards afterwards.
    func global(_ batching: ExampleBatching) -> ExampleBatching {
        let n = communicator.size
        guard n > 1 else { return batching }
        func times(_ value: Int) -> Int { value > Int.max / n ? Int.max : value * n }
        switch batching {
        case .byTokens(let lengths, let maxTokens, let maxExamples, let sortKeys, let mixture):
            return .byTokens(lengths: lengths, maxTokens: times(maxTokens), maxExamples: maxExamples.map(times), sortKeys: sortKeys,
                             mixture: mixture)
        case .bySize(let count, let size, let repeats):
            return .bySize(count: count, size: times(size), repeats: repeats)
        }
    }

    /// This rank's examples of a batch of the shared plan: every `size`-th, so shards of length-sorted batches cost alike.
    func shard(_ batch: [Int]) -> [Int] {
        let n = communicator.size
        guard n > 1 else { return batch }
        return stride(from: rank, to: batch.count, by: n).map { batch[$0] }
    }

    /// The dropout stream of an update: with several ranks, one per (update, rank) from the seed, so shards draw
    /// different masks and a resumed rank draws what it would have drawn; `nil` (the run's one stream) alone.
    func dropoutGenerator(seed: UInt64, step: Int) -> SeededGenerator? {
        guard isDistributed else { return nil }
        return SeededGenerator(seed: seed &+ 17 &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(rank + 1) &* 0xD1B5_4A32_D192_ED03)
    }

    // MARK: Gradients

    /// Backward's hook: counts `parameter` done and starts, in order, every bucket whose gradients are all done, then
    /// lets the ones under way progress. Buckets start in the same order on every rank, as collectives must.
    func gradientReady(_ parameter: Tensor) {
        guard let index = bucketOf[ObjectIdentifier(parameter)] else { return }
        let start = Date().timeIntervalSince1970
        readyCounts[index] += 1
        while nextToStart < buckets.count, readyCounts[nextToStart] >= buckets[nextToStart].parameters.count {
            // A failure here surfaces at `finish`, which starts what is left and waits.
            guard (try? startBucket(nextToStart)) != nil else { break }
        }
        for case let request? in requests { _ = try? request.test() }
        seconds += Date().timeIntervalSince1970 - start
    }

    /// The hook for a backward pass: `gradientReady` on the last micro-batch of an update, with several ranks.
    func hook(lastOfUpdate: Bool) -> ((Tensor) -> Void)? {
        lastOfUpdate && isDistributed ? { [unowned self] in self.gradientReady($0) } : nil
    }

    private func startBucket(_ index: Int) throws {
        let bucket = buckets[index]
        for (p, offset) in zip(bucket.parameters, bucket.offsets) {
            let target = UnsafeMutableBufferPointer(rebasing: bucket.buffer[offset..<offset + p.count])
            if let g = p.grad {
                g.scalars.withUnsafeBufferPointer { source in _ = target.initialize(fromContentsOf: source) }
            } else {
                target.initialize(repeating: 0)
            }
        }
        requests[index] = try communicator.startAllReduceSum(bucket.buffer)
        nextToStart = index + 1
    }

    /// What one update counted, summed over ranks by `finish`.
    struct StepTotals {
        var units = 0, tokens = 0
        /// Σ loss × count over the update's batches.
        var lossSum = 0.0
        /// CPU seconds of training this session (rank 0: without validation).
        var cpuSeconds = 0.0
    }

    /// Ends an update's communication: starts the buckets backward did not (empty shards, unused parameters), waits
    /// for all, leaves every parameter's gradient the sum over ranks, and sums `local` over ranks.
    func finish(_ local: StepTotals) throws -> StepTotals {
        guard isDistributed else { return local }
        let start = Date().timeIntervalSince1970
        defer {
            seconds += Date().timeIntervalSince1970 - start
            readyCounts = Array(repeating: 0, count: buckets.count)
            requests = Array(repeating: nil, count: buckets.count)
            nextToStart = 0
        }
        while nextToStart < buckets.count { try startBucket(nextToStart) }
        for (index, bucket) in buckets.enumerated() {
            try requests[index]?.wait()
            for (p, offset) in zip(bucket.parameters, bucket.offsets) {
                p.zeroGrad()
                p.accumulateGrad(Tensor(shape: p.shape, scalars: Array(bucket.buffer[offset..<offset + p.count])))
            }
        }
        var values = [Double(local.units), Double(local.tokens), local.lossSum, local.cpuSeconds]
        try communicator.allReduceSum(&values)
        return StepTotals(units: Int(values[0]), tokens: Int(values[1]), lossSum: values[2], cpuSeconds: values[3])
    }

    /// At the top of each update: whether any rank was asked to stop, and rank 0's training seconds, on every rank.
    func agree(stop: Bool, seconds elapsed: Double) throws -> (stop: Bool, seconds: Double) {
        guard isDistributed else { return (stop, elapsed) }
        let start = Date().timeIntervalSince1970
        defer { seconds += Date().timeIntervalSince1970 - start }
        var values = [stop ? 1 : 0, isRoot ? elapsed : 0]
        try communicator.allReduceSum(&values)
        return (values[0] > 0, values[1])
    }

    /// Runs `body` (rank 0's validation) on the threads of every rank on this machine too, which wait asleep meanwhile.
    func withLocalRanksThreads<T>(_ body: () throws -> T) rethrows -> T {
        guard isDistributed, communicator.localSize > 1 else { return try body() }
        let own = Threads.count
        BLAS.setThreads(Swift.min(own * communicator.localSize, ProcessInfo.processInfo.activeProcessorCount))
        defer { BLAS.setThreads(own) }
        return try body()
    }

    /// After the last update: rank 0 keeps the other local ranks' threads for what follows (final validation,
    /// averaging, writing the model), as they are done.
    func finishTraining() {
        guard isDistributed, isRoot, communicator.localSize > 1 else { return }
        BLAS.setThreads(Swift.min(Threads.count * communicator.localSize, ProcessInfo.processInfo.activeProcessorCount))
    }

    /// The communication seconds since the last call.
    func takeSeconds() -> Double {
        defer { seconds = 0 }
        return seconds
    }

    // MARK: Start

    /// Gives every rank rank 0's weights, optimizer state and trainer state (fresh or restored), after checking every
    /// rank batches the same data (`fingerprint`), so a machine with other files fails instead of training wrongly.
    /// `failure` is rank 0's error in restoring a checkpoint: every rank throws then, rather than wait for it.
    func synchronize<State: Codable>(network: any SavableModel, optimizer: inout Adam, state: inout State, fingerprint: UInt64,
                                     failure: (any Error)?) throws {
        guard isDistributed else {
            if let failure { throw failure }
            return
        }
        var message = isRoot ? Array((failure.map { "\($0)".isEmpty ? "an error" : "\($0)" } ?? "").utf8) : []
        try communicator.broadcast(&message, root: 0)
        if let failure { throw failure }
        if !message.isEmpty { throw RankFailure(rank: 0, message: String(decoding: message, as: UTF8.self)) }
        var theirs = withUnsafeBytes(of: fingerprint.littleEndian) { Array($0) }
        try communicator.broadcast(&theirs, root: 0)
        let rootFingerprint = theirs.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard rootFingerprint == fingerprint else {
            throw GlossaError.training("rank \(rank) holds other training data than rank 0 (its examples' lengths differ): "
                                       + "every machine needs the same data files and tokenizer")
        }
        var weights = isRoot ? [UInt8](try Safetensors.encode(network.stateDictionary())) : []
        try communicator.broadcast(&weights, root: 0)
        var moments = isRoot ? [UInt8](try Safetensors.encode(optimizer.state())) : []
        try communicator.broadcast(&moments, root: 0)
        var trainer = isRoot ? [UInt8](try JSONEncoder().encode(state)) : []
        try communicator.broadcast(&trainer, root: 0)
        guard !isRoot else { return }
        try network.load(try Safetensors.read(data: Data(weights)).tensors())
        network.didUpdateParameters()
        try optimizer.restore(try Safetensors.read(data: Data(moments)).tensors())
        state = try JSONDecoder().decode(State.self, from: Data(trainer))
    }

    /// A hash of what the batches are cut from (every example's length), equal on ranks that read the same data.
    static func fingerprint(_ batching: ExampleBatching) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ value: Int) { hash = (hash ^ UInt64(bitPattern: Int64(value))) &* 0x100_0000_01B3 }
        switch batching {
        case .byTokens(let lengths, let maxTokens, let maxExamples, let sortKeys, let mixture):
            mix(lengths.count); mix(maxTokens); mix(maxExamples ?? -1)
            lengths.forEach(mix)
            sortKeys?.forEach(mix)
            for group in mixture?.groups ?? [] {
                mix(Int(truncatingIfNeeded: group.key)); mix(group.perEpoch)
                group.indices.forEach(mix)
            }
        case .bySize(let count, let size, let repeats):
            mix(count); mix(size); mix(repeats)
        }
        return hash
    }
}

/// The error of a rank that stops because another rank failed (and reported it itself).
public struct RankFailure: Error, CustomStringConvertible {
    /// The rank that failed.
    public var rank: Int
    /// Its error.
    public var message: String

    public var description: String { "rank \(rank) failed: \(message)" }
}
