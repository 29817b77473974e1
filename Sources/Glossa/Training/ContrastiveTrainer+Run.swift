import Foundation
import GlossaNN
import GlossaTensor

/// One line of a contrastive run's history.
public struct ContrastiveRecord: Codable, Sendable {
    /// Update number.
    public var step: Int
    /// Minutes of training so far.
    public var minutes: Double
    /// Mean loss since the previous record.
    public var loss: Double
}

/// What a contrastive run leaves to resume from, written last into each checkpoint.
struct ContrastiveState: CheckpointState {
    var step = 0
    var epoch = 0
    var cursor = 0
    var seconds = 0.0
    var dropoutGenerator: SeededGenerator
    var history: [ContrastiveRecord] = []
}

/// The budget and bookkeeping of a contrastive run.
public struct ContrastiveRunSettings: Sendable {
    /// Pairs per batch.
    public var batchSize: Int
    /// Stop after this many updates, if set.
    public var steps: Int?
    /// Stop after this many minutes (resumed runs count their earlier minutes), if set.
    public var minutes: Double?
    /// Write a checkpoint every this many updates.
    public var checkpointEvery: Int
    /// Seed of the data order.
    public var seed: UInt64

    /// Settings of a run.
    public init(batchSize: Int, steps: Int?, minutes: Double?, checkpointEvery: Int, seed: UInt64) {
        self.batchSize = batchSize
        self.steps = steps
        self.minutes = minutes
        self.checkpointEvery = checkpointEvery
        self.seed = seed
    }
}

extension ContrastiveTrainer {
    /// Trains on `pairs` until the budget is spent or `shouldStop` turns true (then it saves a checkpoint
    /// and returns early), checkpointing under `directory/checkpoints`. With `resume`, it continues from the
    /// last checkpoint with the same data order, dropout draws and optimizer state.
    public func run(pairs: [(String, String)], settings: ContrastiveRunSettings, directory: URL, resume: Bool,
                    shouldStop: () -> Bool, log: (String) -> Void) throws -> [ContrastiveRecord] {
        guard settings.batchSize >= 2, pairs.count >= settings.batchSize else {
            throw GlossaError.invalidInput("contrastive training needs batches of at least 2 pairs and at least one full batch of data")
        }
        let store = CheckpointStore(directory: directory.appendingPathComponent("checkpoints"))
        var state = ContrastiveState(dropoutGenerator: context.generator)
        if resume, let latest = try store.latest() {
            state = try store.restore(latest, model: embedder.model, optimizer: &optimizer)
            context.generator = state.dropoutGenerator
            log(String(format: "resumed from %@: step %d, %.1f min", latest.lastPathComponent, state.step, state.seconds / 60))
        }
        step = state.step
        var order = try batchOrder(pairs, epoch: state.epoch, batchSize: settings.batchSize, seed: settings.seed)
        let progress = ProgressLine()
        let tokensAtStart = tokensSeen
        let started = Date().addingTimeInterval(-state.seconds)
        let resumedAt = (step: state.step, seconds: state.seconds)
        var recent: [Float] = []

        func save() throws {
            state.step = step
            state.seconds = Date().timeIntervalSince(started)
            state.dropoutGenerator = context.generator
            try store.save(state, model: embedder.model, optimizer: optimizer, keep: 2)
        }
        while true {
            if let steps = settings.steps, step >= steps { break }
            if let minutes = settings.minutes, Date().timeIntervalSince(started) >= minutes * 60 { break }
            if shouldStop() {
                try save()
                log("interrupted: checkpoint saved at step \(step); continue with --resume")
                return state.history
            }
            if state.cursor + settings.batchSize > order.count {
                state.epoch += 1
                state.cursor = 0
                order = try batchOrder(pairs, epoch: state.epoch, batchSize: settings.batchSize, seed: settings.seed)
            }
            let loss = try train(on: Array(order[state.cursor..<(state.cursor + settings.batchSize)]))
            state.cursor += settings.batchSize
            recent.append(loss)
            let elapsed = Date().timeIntervalSince(started)
            let session = elapsed - resumedAt.seconds
            let eta = settings.minutes.map { max(0, $0 * 60 - elapsed) }
                ?? settings.steps.map { Double($0 - step) * session / Double(max(1, step - resumedAt.step)) }
            progress.update(step: step, loss: Double(loss), tokensPerSecond: Double(tokensSeen - tokensAtStart) / max(session, 1e-9),
                            elapsed: elapsed, eta: eta, learningRate: schedule.rate(at: step))
            if step % 50 == 0 {
                let mean = Double(recent.reduce(0, +)) / Double(recent.count)
                state.history.append(ContrastiveRecord(step: step, minutes: elapsed / 60, loss: mean))
                progress.finish()
                log(String(format: "step %d  loss %.4f  %.0f s", step, mean, elapsed))
                recent.removeAll()
            }
            if step % settings.checkpointEvery == 0 { try save() }
        }
        progress.finish()
        if !recent.isEmpty {
            let mean = Double(recent.reduce(0, +)) / Double(recent.count)
            state.history.append(ContrastiveRecord(step: step, minutes: Date().timeIntervalSince(started) / 60, loss: mean))
        }
        try save()
        return state.history
    }

    /// The pairs of epoch `epoch` in training order: batches of pairs of similar length (less padding,
    /// several times faster) in random order. Shuffle, sort windows of 50 batches by token count, cut
    /// into batches, shuffle the batches. A function of the seed and epoch alone, so a resumed run
    /// sees the same order.
    func batchOrder(_ pairs: [(String, String)], epoch: Int, batchSize: Int, seed: UInt64) throws -> [(String, String)] {
        var generator = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        var shuffled = pairs
        shuffled.shuffle(using: &generator)
        let window = batchSize * 50
        var batches: [[(String, String)]] = []
        for start in stride(from: 0, to: shuffled.count, by: window) {
            let chunk = shuffled[start..<min(start + window, shuffled.count)]
            let keyed = try chunk.map { pair in
                (pair, max(try embedder.tokenizer.encode(pair.0).count, try embedder.tokenizer.encode(pair.1).count))
            }
            let sorted = keyed.sorted { $0.1 < $1.1 }.map(\.0)
            for b in stride(from: 0, to: sorted.count - batchSize + 1, by: batchSize) {
                batches.append(Array(sorted[b..<(b + batchSize)]))
            }
        }
        batches.shuffle(using: &generator)
        return batches.flatMap { $0 }
    }
}
