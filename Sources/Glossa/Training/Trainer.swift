import Foundation
import GlossaNN
import GlossaTensor

/// What a run leaves to resume from, written last into each checkpoint.
struct TrainerState: CheckpointState {
    var step = 0
    var epoch = 0
    var batchInEpoch = 0
    var tokens = 0
    var units = 0
    var seconds = 0.0
    var cpuSeconds = 0.0
    var best: Double?
    var bestStep: Int?
    var dropoutGenerator: SeededGenerator
    var history: [TrainingRecord] = []
    var sessions: [TrainingSession] = []

    init(dropoutGenerator: SeededGenerator) { self.dropoutGenerator = dropoutGenerator }

    enum CodingKeys: String, CodingKey {
        case step, epoch, batchInEpoch, tokens, units, seconds, cpuSeconds, best, bestStep, dropoutGenerator, history, sessions, bestChrF
    }

    /// Also reads the states of the trainers before the one loop (translation: `tokens`, `bestChrF`; decoder: `units`).
    init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        epoch = try c.decodeIfPresent(Int.self, forKey: .epoch) ?? 0
        batchInEpoch = try c.decodeIfPresent(Int.self, forKey: .batchInEpoch) ?? 0
        let tokens = try c.decodeIfPresent(Int.self, forKey: .tokens), units = try c.decodeIfPresent(Int.self, forKey: .units)
        self.tokens = tokens ?? units ?? 0
        self.units = units ?? tokens ?? 0
        seconds = try c.decodeIfPresent(Double.self, forKey: .seconds) ?? 0
        cpuSeconds = try c.decodeIfPresent(Double.self, forKey: .cpuSeconds) ?? 0
        best = try c.decodeIfPresent(Double.self, forKey: .best) ?? c.decodeIfPresent(Double.self, forKey: .bestChrF)
        bestStep = try c.decodeIfPresent(Int.self, forKey: .bestStep)
        dropoutGenerator = try c.decode(SeededGenerator.self, forKey: .dropoutGenerator)
        history = try c.decodeIfPresent([TrainingRecord].self, forKey: .history) ?? []
        sessions = try c.decodeIfPresent([TrainingSession].self, forKey: .sessions) ?? []
    }

    func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(batchInEpoch, forKey: .batchInEpoch)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(units, forKey: .units)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(cpuSeconds, forKey: .cpuSeconds)
        try c.encodeIfPresent(best, forKey: .best)
        try c.encodeIfPresent(bestStep, forKey: .bestStep)
        try c.encode(dropoutGenerator, forKey: .dropoutGenerator)
        try c.encode(history, forKey: .history)
        try c.encode(sessions, forKey: .sessions)
    }
}

/// What `Trainer.run` returns.
public struct TrainingResult: Sendable {
    /// Whether the budget was spent or the run was stopped.
    public var outcome: TrainingOutcome
    /// Every record of the run, resumed sessions included.
    public var history: [TrainingRecord]
    /// When each session (the first and every resume) began.
    public var sessions: [TrainingSession]
    /// Updates taken.
    public var step: Int
    /// Target tokens trained on.
    public var tokens: Int
    /// Seconds of training (validation excluded).
    public var seconds: Double
}

/// The one training loop: any `TrainingObjective`, Adam with the settings' schedule, clipping and accumulation, the
/// one batcher, one budget (steps, minutes, target tokens), validation, keep-best, and resumable checkpoints under
/// `directory/checkpoints`. Launched by `mpirun`, it trains data-parallel over the ranks (`DataParallel`); rank 0
/// alone validates, writes checkpoints and sends events.
public final class Trainer<Objective: TrainingObjective> {
    /// What is trained.
    public let model: Objective.Model
    /// What it is trained to do.
    public let objective: Objective
    /// Batching, optimizer, schedule, budget, validation and checkpoint settings.
    public let settings: TrainingSettings
    /// The weights updated.
    public let network: any SavableModel
    let checkpoints: CheckpointStore
    /// The processes training together; `nil`: `Communicators.world()`, the one the process was launched with.
    let communicator: (any Communicator)?

    /// A trainer writing its checkpoints under `directory/checkpoints`.
    public init(model: Objective.Model, objective: Objective, settings: TrainingSettings, directory: URL,
                communicator: (any Communicator)? = nil) {
        self.model = model
        self.objective = objective
        self.settings = settings
        self.network = objective.network(of: model)
        self.checkpoints = CheckpointStore(directory: directory.appendingPathComponent("checkpoints"))
        self.communicator = communicator
    }

    /// The folder the checkpoints are written to.
    public var checkpointDirectory: URL { checkpoints.directory }

    /// Trains until the budget is spent or `stop` is raised (then it saves a checkpoint and returns). With `resume`
    /// it continues from the newest intact checkpoint — same data order, dropout draws and optimizer state — and
    /// throws when there is none.
    public func run(resume: Bool = false, stop: StopSignal? = nil, events: (TrainingEvent) -> Void = { _ in }) throws -> TrainingResult {
        try settings.validate()
        let parameters = network.namedParameters().filter { $0.tensor.requiresGrad }
        let parallel = DataParallel(communicator: try communicator ?? Communicators.world(), parameters: parameters.map(\.tensor))
        func emit(_ event: TrainingEvent) { if parallel.isRoot { events(event) } }
        var optimizer = settings.optimizer()
        var state = TrainerState(dropoutGenerator: SeededGenerator(seed: settings.seed &+ 17))
        var failure: (any Error)?
        if resume, parallel.isRoot {
            do {
                guard let restored = try checkpoints.restoreLatest(model: network, optimizer: &optimizer, as: TrainerState.self) else {
                    throw GlossaError.training("nothing to resume: \(checkpoints.directory.path) holds no checkpoint")
                }
                state = restored.state
                emit(.resumed(checkpoint: restored.folder, step: state.step, skipped: restored.skipped, freshMoments: restored.freshMoments))
            } catch {
                failure = error
            }
        }
        let batching = parallel.global(objective.batching)
        try parallel.synchronize(network: network, optimizer: &optimizer, state: &state, fingerprint: DataParallel.fingerprint(batching),
                                 failure: failure)
        state.sessions.append(TrainingSession(started: ISO8601DateFormatter().string(from: Date()), fromStep: state.step))
        let schedule = settings.learningRateSchedule
        let context = ForwardContext(training: true)
        context.generator = state.dropoutGenerator
        var plan = ExampleBatcher.epoch(batching, seed: settings.seed, epoch: state.epoch)
        guard !plan.isEmpty else {
            throw GlossaError.invalidInput("the \(objective.name) objective has no training batch (check the data and max_length)")
        }
        var window = LossWindow()
        var started = Date().timeIntervalSince1970 - state.seconds
        // CPU seconds: the restored total plus this session's, summed over ranks.
        let cpuBefore = state.cpuSeconds
        var cpuStarted = processCPUSeconds()
        var rates = RateWindow(time: Date().timeIntervalSince1970, units: state.units, tokens: state.tokens)
        var communication = CommunicationWindow()
        var emptyUpdates = 0

        func budgetLeft() -> Bool { settings.hasBudget(step: state.step, seconds: state.seconds, tokens: state.tokens) }
        func save() throws {
            guard parallel.isRoot else { return }
            state.dropoutGenerator = context.generator
            let folder = try checkpoints.save(state, model: network, optimizer: optimizer, keep: Swift.max(settings.averageLast, 2))
            emit(.checkpoint(folder))
        }
        func validate(_ record: TrainingRecord) throws {
            guard parallel.isRoot else { return }
            var record = record
            let validationStart = Date().timeIntervalSince1970, validationCPU = processCPUSeconds()
            record.dev = try parallel.withLocalRanksThreads { try withoutGrad { try objective.validate(model: model) } }
            // Validation time does not count against the training budget.
            started += Date().timeIntervalSince1970 - validationStart
            cpuStarted += processCPUSeconds() - validationCPU
            if record.step == 0, record.dev.isEmpty { return }
            if let primary = objective.primaryMetric, let value = record.dev[primary.name], primary.improves(value, over: state.best) {
                state.best = value
                state.bestStep = record.step
                if settings.keepBest { try checkpoints.saveBest(network) }
            }
            state.history.append(record)
            emit(.validation(record))
        }

        if state.step == 0, state.history.isEmpty, objective.validatesAtStart {
            try validate(TrainingRecord(step: 0, minutes: 0, tokens: 0, units: 0, trainLoss: nil))
        }
        while true {
            // Every rank stops at the same update: on any rank's stop signal, or when rank 0's clock spends the budget.
            let agreed = try parallel.agree(stop: stop?.isRaised == true, seconds: state.seconds)
            state.seconds = agreed.seconds
            guard budgetLeft() else { break }
            if agreed.stop {
                try save()
                emit(.finished(.interrupted, step: state.step))
                return result(.interrupted, state)
            }
            if let generator = parallel.dropoutGenerator(seed: settings.seed, step: state.step) { context.generator = generator }
            // Batches split over the threads when the objective allows it (a profile times the products split instead:
            // its clock is one per process).
            let shardCount = objective.splitsAcrossThreads && !Profiler.isEnabled ? Threads.count : 1
            let shards = shardCount > 1 ? ThreadShards(count: shardCount, seed: settings.seed, step: state.step, rank: parallel.rank) : nil
            network.zeroGrad()
            var local = DataParallel.StepTotals()
            for micro in 0..<settings.accumulate {
                if state.batchInEpoch >= plan.count {
                    state.epoch += 1
                    state.batchInEpoch = 0
                    plan = ExampleBatcher.epoch(batching, seed: settings.seed, epoch: state.epoch)
                }
                let batch = parallel.shard(plan[state.batchInEpoch])
                state.batchInEpoch += 1
                guard !batch.isEmpty else { continue }
                let hook = parallel.hook(lastOfUpdate: micro == settings.accumulate - 1)
                if let shards {
                    let parts = try shards.backward(batch, parameters: parameters.map(\.tensor), ready: hook) { shard, shardContext in
                        try objective.loss(batch: shard, model: model, context: shardContext)
                    }
                    for part in parts {
                        guard part.value.isFinite else { throw diverged("the loss", part.value, state) }
                        window.addMetrics(part.metrics)
                        local.units += part.count
                        local.tokens += part.tokens
                        local.lossSum += part.value * Double(part.count)
                    }
                    continue
                }
                let part = try objective.loss(batch: batch, model: model, context: context)
                guard part.count > 0 else { continue }
                let value = Double(part.loss.item)
                guard value.isFinite else { throw diverged("the loss", value, state) }
                (part.loss * Float(part.count)).backward(leafGradientReady: hook)
                window.addMetrics(part.metrics)
                local.units += part.count
                local.tokens += part.tokens
                local.lossSum += value * Double(part.count)
            }
            local.cpuSeconds = processCPUSeconds() - cpuStarted
            // With several ranks: the gradients and counts summed over all of them.
            let totals = try parallel.finish(local)
            let stepUnits = totals.units
            guard stepUnits > 0 else {
                emptyUpdates += 1
                if emptyUpdates > plan.count + settings.accumulate {
                    throw GlossaError.invalidInput("the \(objective.name) objective's batches hold nothing to train on")
                }
                continue
            }
            emptyUpdates = 0
            window.addLoss(totals.lossSum, units: stepUnits)
            // The mean over the update's units and the clip, in one pass over the gradients.
            let tensors = parameters.map(\.tensor)
            let norm = Profiler.within("optimizer") { gradientNorm(tensors) / Float(stepUnits) }
            guard norm.isFinite else { throw diverged("the gradient norm", Double(norm), state) }
            let clip = settings.clipNorm > 0 && norm > settings.clipNorm ? settings.clipNorm / (norm + 1e-6) : 1
            state.step += 1
            let learningRate = schedule.rate(at: state.step, progress: progress(state))
            try Profiler.within("optimizer") {
                scaleGradients(tensors, by: clip / Float(stepUnits))
                optimizer.step(parameters, learningRate: learningRate)
                network.didUpdateParameters()
                try objective.didUpdate(step: state.step, model: model)
            }
            state.units += stepUnits
            state.tokens += totals.tokens
            let now = Date().timeIntervalSince1970
            state.seconds = now - started
            state.cpuSeconds = cpuBefore + totals.cpuSeconds
            let (unitRate, tokenRate) = rates.add(time: now, units: state.units, tokens: state.tokens)
            communication.add(parallel.takeSeconds())
            var progress = TrainingProgress(step: state.step, loss: window.meanLoss, unitsPerSecond: unitRate, tokensPerSecond: tokenRate,
                                            unit: objective.unit, learningRate: learningRate, elapsed: state.seconds,
                                            remaining: remaining(state), tokens: state.tokens)
            if parallel.isDistributed {
                progress.ranks = parallel.communicator.size
                progress.allReduceSeconds = communication.recentMean
            }
            emit(.step(progress))
            if state.step % settings.validateEvery == 0 || !budgetLeft() || intervalPassed(state) {
                var record = TrainingRecord(step: state.step, minutes: state.seconds / 60, tokens: state.tokens, units: state.units,
                                            trainLoss: window.meanLoss, trainMetrics: window.meanMetrics)
                record.cpuHours = state.cpuSeconds / 3600
                if parallel.isDistributed {
                    record.ranks = parallel.communicator.size
                    record.allReduceSeconds = communication.takeMeanSinceRecord()
                }
                try validate(record)
                window = LossWindow()
            }
            if state.step % settings.checkpointEvery == 0 || !budgetLeft() { try save() }
        }
        parallel.finishTraining()
        emit(.finished(.finished, step: state.step))
        return result(.finished, state)
    }

    func result(_ outcome: TrainingOutcome, _ state: TrainerState) -> TrainingResult {
        TrainingResult(outcome: outcome, history: state.history, sessions: state.sessions, step: state.step, tokens: state.tokens,
                       seconds: state.seconds)
    }

    /// The error of a run whose loss or gradient stopped being a number; the last checkpoint is left as it was.
    func diverged(_ what: String, _ value: Double, _ state: TrainerState) -> GlossaError {
        let kept = (try? checkpoints.latest()).flatMap { $0 }.map { "the last good checkpoint, \($0.lastPathComponent), is kept" }
            ?? "no checkpoint had been written yet"
        return .training("\(what) became \(value) at update \(state.step + 1); training stopped and \(kept) "
                         + "(lower learning_rate, or raise warmup_steps, and --resume)")
    }

    /// The share of the budget spent: the largest over the budgets given.
    func progress(_ state: TrainerState) -> Double {
        var spent = 0.0
        if let steps = settings.steps { spent = Swift.max(spent, Double(state.step) / Double(steps)) }
        if let minutes = settings.minutes { spent = Swift.max(spent, state.seconds / (minutes * 60)) }
        if let tokens = settings.targetTokens { spent = Swift.max(spent, Double(state.tokens) / Double(tokens)) }
        return Swift.min(spent, 1)
    }

    /// Seconds left, extrapolated from the share of the budget spent.
    func remaining(_ state: TrainerState) -> Double? {
        let spent = progress(state)
        guard spent > 0 else { return nil }
        return state.seconds * (1 - spent) / spent
    }

    /// Whether a minutes or tokens validation interval has been crossed since the last validation,
    /// so that runs of different speeds are measured at the same points of time or of data.
    func intervalPassed(_ state: TrainerState) -> Bool {
        let last = state.history.last
        if let every = settings.validateEveryMinutes,
           Int(state.seconds / 60 / every) > Int((last?.minutes ?? 0) / every) { return true }
        if let every = settings.validateEveryTokens, state.tokens / every > (last?.tokens ?? 0) / every { return true }
        return false
    }

    /// Multiplies every accumulated gradient by `factor`.
    func scaleGradients(_ tensors: [Tensor], by factor: Float) {
        for p in tensors { p.scaleGrad(by: factor) }
    }

    /// The global L2 norm of the gradients.
    func gradientNorm(_ tensors: [Tensor]) -> Float {
        var total: Double = 0
        for p in tensors {
            guard let g = p.grad else { continue }
            g.scalars.withUnsafeBufferPointer { x in
                // Eight Float lanes per block of 1024, each block's sum added in Double: vectorised yet accurate.
                var start = 0
                while start < x.count {
                    let end = Swift.min(start + 1024, x.count)
                    var lanes = SIMD8<Float>()
                    var i = start
                    while i + 8 <= end {
                        let v = SIMD8<Float>(x[i..<(i + 8)])
                        lanes += v * v
                        i += 8
                    }
                    var block = Double(lanes.sum())
                    while i < end { block += Double(x[i]) * Double(x[i]); i += 1 }
                    total += block
                    start = end
                }
            }
        }
        return Float(total.squareRoot())
    }
}

/// The training loss and metrics since the last record.
struct LossWindow {
    var sum = 0.0, units = 0
    var metricSums: [String: Double] = [:], batches = 0

    /// An update's Σ loss × count over its `units` (over all ranks).
    mutating func addLoss(_ lossSum: Double, units count: Int) {
        sum += lossSum
        units += count
    }

    /// A batch's metrics (this rank's).
    mutating func addMetrics(_ metrics: [String: Double]) {
        for (name, value) in metrics { metricSums[name, default: 0] += value }
        batches += 1
    }

    var meanLoss: Double { sum / Double(Swift.max(units, 1)) }
    var meanMetrics: [String: Double] { metricSums.mapValues { $0 / Double(Swift.max(batches, 1)) } }
}

/// Throughput over the last 20 updates.
struct RateWindow {
    var points: [(time: Double, units: Int, tokens: Int)]

    init(time: Double, units: Int, tokens: Int) { points = [(time, units, tokens)] }

    mutating func add(time: Double, units: Int, tokens: Int) -> (units: Double, tokens: Double) {
        points.append((time, units, tokens))
        if points.count > 21 { points.removeFirst() }
        let span = Swift.max(time - points[0].time, 1e-9)
        return (Double(units - points[0].units) / span, Double(tokens - points[0].tokens) / span)
    }
}

/// Communication seconds per update: over the last 20 (the progress line) and since the last record.
struct CommunicationWindow {
    var recent: [Double] = []
    var sinceRecord = 0.0, updatesSinceRecord = 0

    mutating func add(_ seconds: Double) {
        recent.append(seconds)
        if recent.count > 20 { recent.removeFirst() }
        sinceRecord += seconds
        updatesSinceRecord += 1
    }

    var recentMean: Double { recent.reduce(0, +) / Double(Swift.max(recent.count, 1)) }

    mutating func takeMeanSinceRecord() -> Double {
        defer { sinceRecord = 0; updatesSinceRecord = 0 }
        return sinceRecord / Double(Swift.max(updatesSinceRecord, 1))
    }
}

/// CPU time (user + system) of this process so far, all threads: what a learning curve against CPU-hours counts.
func processCPUSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
    guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
    #else
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
    #endif
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
