import Foundation
import GlossaNN
import GlossaTensor

/// One line of a decoder-only training history.
public struct DecoderTrainingRecord: Codable, Sendable {
    /// Update number.
    public var step: Int
    /// Minutes of training so far (validation excluded).
    public var minutes: Double
    /// Units (tokens, pairs, samples) trained on so far.
    public var units: Int
    /// Mean training loss per unit since the previous record (nil for the step-0 record, before any update).
    public var trainLoss: Double?
    /// Training metrics since the previous record, each a mean over batches.
    public var trainMetrics: [String: Double]
    /// Dev metrics at this step (empty when the objective has no dev data).
    public var dev: [String: Double]
}

/// What a decoder-only run leaves to resume from, written last into each checkpoint.
struct DecoderTrainerState: CheckpointState {
    var step = 0
    var epoch = 0
    var batchInEpoch = 0
    var units = 0
    var seconds = 0.0
    var best: Double?
    var bestStep: Int?
    var dropoutGenerator: SeededGenerator
    var history: [DecoderTrainingRecord] = []
}

/// The training loop shared by every decoder-only objective: Adam with warmup and inverse-√ decay,
/// clipping, accumulation, validation, keep-best, resumable atomic checkpoints (see `DecoderObjective`).
public final class DecoderTrainer {
    /// The model being trained.
    public let model: any DecoderOnlyModel
    /// What it is trained to do.
    public let objective: any DecoderObjective
    let settings: TrainingSettings
    let checkpoints: CheckpointStore
    let log: (String) -> Void
    let progress: ProgressLine

    /// A trainer writing its checkpoints under `directory/checkpoints`.
    public init(model: any DecoderOnlyModel, objective: any DecoderObjective, settings: TrainingSettings,
                directory: URL, log: @escaping (String) -> Void) {
        self.model = model
        self.objective = objective
        self.settings = settings
        self.checkpoints = CheckpointStore(directory: directory.appendingPathComponent("checkpoints"))
        self.log = log
        self.progress = ProgressLine(unit: objective.unit)
    }

    /// Trains until the budget is spent or `shouldStop` turns true (then it saves a checkpoint and
    /// returns early). With `resume`, it continues from the last checkpoint: same data order, same
    /// dropout draws, same optimizer state.
    public func run(resume: Bool, shouldStop: () -> Bool) throws -> [DecoderTrainingRecord] {
        var optimizer = Adam(beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.epsilon, weightDecay: settings.weightDecay)
        var state = DecoderTrainerState(dropoutGenerator: SeededGenerator(seed: settings.seed &+ 17))
        if resume, let latest = try checkpoints.latest() {
            state = try checkpoints.restore(latest, model: model, optimizer: &optimizer)
            log("resumed from \(latest.lastPathComponent): step \(state.step), \(String(format: "%.1f", state.seconds / 60)) min, \(state.units) \(objective.unit)")
        }
        let context = ForwardContext(training: true)
        context.generator = state.dropoutGenerator
        let parameters = model.namedParameters().filter { $0.tensor.requiresGrad }
        var plan = objective.epochPlan(epoch: state.epoch, seed: settings.seed)
        guard !plan.isEmpty else { throw GlossaError.invalidInput("the \(objective.name) objective has no training batch (check the data and max_length)") }
        var lossSum = 0.0, lossUnits = 0
        var metricSums: [String: Double] = [:], metricBatches = 0
        var started = Date().timeIntervalSince1970 - state.seconds
        var rateWindow: [(time: Double, units: Int)] = [(Date().timeIntervalSince1970, state.units)]

        func budgetLeft() -> Bool { settings.hasBudget(step: state.step, seconds: state.seconds) }

        if state.step == 0, state.history.isEmpty {
            // Where training starts, so that curves begin there and keep-best only keeps what beats the start.
            var record = DecoderTrainingRecord(step: 0, minutes: 0, units: 0, trainLoss: nil, trainMetrics: [:], dev: [:])
            try validate(&record, state: &state)
        }

        while budgetLeft() {
            if shouldStop() {
                progress.finish()
                try saveCheckpoint(&state, optimizer: optimizer, context: context)
                log("interrupted: checkpoint saved at step \(state.step); continue with --resume")
                return state.history
            }
            model.zeroGrad()
            var stepUnits = 0
            for _ in 0..<settings.accumulate {
                if state.batchInEpoch >= plan.count {
                    state.epoch += 1
                    state.batchInEpoch = 0
                    plan = objective.epochPlan(epoch: state.epoch, seed: settings.seed)
                }
                let batch = plan[state.batchInEpoch]
                state.batchInEpoch += 1
                let result = try objective.loss(batch: batch, model: model, context: context)
                guard result.count > 0 else { continue }
                (result.loss * Float(result.count)).backward()
                lossSum += Double(result.loss.item) * Double(result.count)
                lossUnits += result.count
                stepUnits += result.count
                for (name, value) in result.metrics { metricSums[name, default: 0] += value }
                metricBatches += 1
            }
            guard stepUnits > 0 else { continue }
            scaleGradients(parameters.map(\.tensor), by: 1 / Float(stepUnits))
            if settings.clipNorm > 0 { clipGradientNorm(parameters.map(\.tensor), maxNorm: settings.clipNorm) }
            state.step += 1
            let learningRate = rate(state)
            optimizer.step(parameters, learningRate: learningRate)
            model.didUpdateParameters()
            try objective.didUpdate(step: state.step, model: model)
            state.units += stepUnits
            let now = Date().timeIntervalSince1970
            state.seconds = now - started
            rateWindow.append((now, state.units))
            if rateWindow.count > 20 { rateWindow.removeFirst() }
            let rate = Double(state.units - rateWindow[0].units) / Swift.max(now - rateWindow[0].time, 1e-9)
            progress.update(step: state.step, loss: lossSum / Double(Swift.max(lossUnits, 1)), tokensPerSecond: rate,
                            elapsed: state.seconds, eta: eta(state), learningRate: learningRate)

            if state.step % settings.validateEvery == 0 || !budgetLeft() {
                progress.finish()
                let validationStart = Date().timeIntervalSince1970
                var record = DecoderTrainingRecord(
                    step: state.step, minutes: state.seconds / 60, units: state.units, trainLoss: lossSum / Double(Swift.max(lossUnits, 1)),
                    trainMetrics: metricSums.mapValues { $0 / Double(Swift.max(metricBatches, 1)) }, dev: [:])
                (lossSum, lossUnits, metricSums, metricBatches) = (0, 0, [:], 0)
                try validate(&record, state: &state)
                // Validation time does not count against the training budget.
                started += Date().timeIntervalSince1970 - validationStart
            }
            if state.step % settings.checkpointEvery == 0 || !budgetLeft() {
                try saveCheckpoint(&state, optimizer: optimizer, context: context)
            }
        }
        progress.finish()
        return state.history
    }

    /// Fills `record.dev`, keeps the best checkpoint when its primary metric improves, and records and logs it.
    /// A record with no dev metrics (no dev data) is kept only when training has begun.
    func validate(_ record: inout DecoderTrainingRecord, state: inout DecoderTrainerState) throws {
        record.dev = try withoutGrad { try objective.validate(model: model) }
        if record.step == 0, record.dev.isEmpty { return }
        if let primary = objective.primaryMetric, let value = record.dev[primary.name], primary.improves(value, over: state.best) {
            state.best = value
            state.bestStep = record.step
            if settings.keepBest { try checkpoints.saveBest(model) }
        }
        state.history.append(record)
        log(describe(record))
    }

    /// One log line for a record.
    func describe(_ record: DecoderTrainingRecord) -> String {
        var line = String(format: "step %d  %.1f min  %d %@", record.step, record.minutes, record.units, objective.unit)
            + (record.trainLoss.map { String(format: "  train loss %.3f", $0) } ?? "  before training")
        for (name, value) in record.trainMetrics.sorted(by: { $0.key < $1.key }) { line += String(format: "  %@ %.4g", name, value) }
        for (name, value) in record.dev.sorted(by: { $0.key < $1.key }) { line += String(format: "  dev %@ %.4g", name, value) }
        return line
    }

    /// The learning rate of the update `state.step`: linear warmup, then inverse-√ decay, or a cosine
    /// that reaches `min_learning_rate` when the budget (steps or minutes, whichever ends first) is spent.
    func rate(_ state: DecoderTrainerState) -> Float {
        guard settings.schedule == "cosine" else {
            return LearningRateSchedule.inverseSquareRoot(peak: settings.learningRate, warmup: settings.warmupSteps).rate(at: state.step)
        }
        let warm = Swift.min(1, Float(state.step) / Float(Swift.max(settings.warmupSteps, 1)))
        var progress = 0.0
        if let steps = settings.steps { progress = Swift.max(progress, Double(state.step) / Double(Swift.max(steps, 1))) }
        if let minutes = settings.minutes { progress = Swift.max(progress, state.seconds / Swift.max(minutes * 60, 1e-9)) }
        let cosine = Float(0.5 * (1 + Foundation.cos(Double.pi * Swift.min(progress, 1))))
        return warm * (settings.minLearningRate + (settings.learningRate - settings.minLearningRate) * cosine)
    }

    func eta(_ state: DecoderTrainerState) -> Double? {
        if let minutes = settings.minutes { return Swift.max(0, minutes * 60 - state.seconds) }
        if let steps = settings.steps, state.step > 0 { return state.seconds / Double(state.step) * Double(steps - state.step) }
        return nil
    }

    func saveCheckpoint(_ state: inout DecoderTrainerState, optimizer: Adam, context: ForwardContext) throws {
        state.dropoutGenerator = context.generator
        try checkpoints.save(state, model: model, optimizer: optimizer, keep: Swift.max(settings.averageLast, 2))
    }

    /// Multiplies every accumulated gradient by `factor`.
    func scaleGradients(_ tensors: [Tensor], by factor: Float) {
        for p in tensors {
            guard let g = p.grad else { continue }
            p.zeroGrad()
            p.accumulateGrad(g * factor)
        }
    }

    /// Leaves the model holding its final weights — the average of the last `average_last`
    /// checkpoints, or the best checkpoint when its primary dev metric is better — and says which.
    public func chooseFinalWeights() throws -> String {
        var note = "last checkpoint"
        if settings.averageLast > 1 {
            let folders = Array(try checkpoints.completed().suffix(settings.averageLast))
            if folders.count > 1 {
                try model.load(try checkpoints.average(folders))
                note = "average of the last \(folders.count) checkpoints"
            }
        }
        let bestFile = checkpoints.directory.appendingPathComponent("best/model.safetensors")
        guard settings.keepBest, let primary = objective.primaryMetric, FileManager.default.fileExists(atPath: bestFile.path) else {
            return note
        }
        guard let final = try withoutGrad({ try objective.validate(model: model) })[primary.name] else { return note }
        let finalWeights = model.stateDictionary().mapValues { Tensor(shape: $0.shape, scalars: $0.scalars) }
        try model.load(try Safetensors.read(contentsOf: bestFile).tensors())
        let best = try withoutGrad { try objective.validate(model: model) }[primary.name] ?? final
        if primary.improves(best, over: final) {
            return String(format: "best checkpoint (dev %@ %.4g over %.4g for the %@)", primary.name, best, final, note)
        }
        try model.load(finalWeights)
        return note + String(format: " (dev %@ %.4g; best checkpoint %.4g)", primary.name, final, best)
    }
}
