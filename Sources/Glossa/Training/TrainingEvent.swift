import Foundation
import Synchronization

/// One line of a training history: where the run stood, the training loss since the previous record, and dev metrics.
public struct TrainingRecord: Codable, Sendable, Equatable {
    /// Update number (0: before training).
    public var step: Int
    /// Minutes of training so far (validation excluded).
    public var minutes: Double
    /// Target tokens trained on so far.
    public var tokens: Int
    /// Units (tokens, pairs, samples) trained on so far.
    public var units: Int
    /// Mean training loss per unit since the previous record (nil before training).
    public var trainLoss: Double?
    /// Training metrics since the previous record, each a mean over batches.
    public var trainMetrics: [String: Double]
    /// Dev metrics at this step (empty without dev data).
    public var dev: [String: Double]
    /// CPU-hours of training so far, all threads (validation excluded), when measured.
    public var cpuHours: Double?
    /// Processes training data-parallel, when more than one.
    public var ranks: Int?
    /// Seconds per update spent summing gradients over the ranks since the previous record, when more than one.
    public var allReduceSeconds: Double?

    /// A record.
    public init(step: Int, minutes: Double, tokens: Int, units: Int, trainLoss: Double?, trainMetrics: [String: Double] = [:],
                dev: [String: Double] = [:]) {
        self.step = step
        self.minutes = minutes
        self.tokens = tokens
        self.units = units
        self.trainLoss = trainLoss
        self.trainMetrics = trainMetrics
        self.dev = dev
    }

    enum CodingKeys: String, CodingKey {
        case step, minutes, tokens, units, trainLoss, trainMetrics, dev, cpuHours, ranks, allReduceSeconds, devLoss, devChrF
    }

    /// Reads this layout and the two older ones (translation records with `devLoss`/`devChrF`, decoder records without
    /// `tokens`), so histories written before the one trainer still load.
    public init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        minutes = try c.decodeIfPresent(Double.self, forKey: .minutes) ?? 0
        let units = try c.decodeIfPresent(Int.self, forKey: .units)
        let tokens = try c.decodeIfPresent(Int.self, forKey: .tokens)
        self.units = units ?? tokens ?? 0
        self.tokens = tokens ?? units ?? 0
        trainLoss = try c.decodeIfPresent(Double.self, forKey: .trainLoss)
        trainMetrics = try c.decodeIfPresent([String: Double].self, forKey: .trainMetrics) ?? [:]
        dev = try c.decodeIfPresent([String: Double].self, forKey: .dev) ?? [:]
        cpuHours = try c.decodeIfPresent(Double.self, forKey: .cpuHours)
        ranks = try c.decodeIfPresent(Int.self, forKey: .ranks)
        allReduceSeconds = try c.decodeIfPresent(Double.self, forKey: .allReduceSeconds)
        if let loss = try c.decodeIfPresent(Double.self, forKey: .devLoss) { dev["loss"] = loss }
        if let chrF = try c.decodeIfPresent(Double.self, forKey: .devChrF) { dev["chrf"] = chrF }
    }

    public func encode(to encoder: any Swift.Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(minutes, forKey: .minutes)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(units, forKey: .units)
        try c.encodeIfPresent(trainLoss, forKey: .trainLoss)
        try c.encode(trainMetrics, forKey: .trainMetrics)
        try c.encode(dev, forKey: .dev)
        try c.encodeIfPresent(cpuHours, forKey: .cpuHours)
        try c.encodeIfPresent(ranks, forKey: .ranks)
        try c.encodeIfPresent(allReduceSeconds, forKey: .allReduceSeconds)
    }
}

/// Where a run stands after an update, for progress lines.
public struct TrainingProgress: Sendable, Equatable {
    /// Update number.
    public var step: Int
    /// Mean training loss since the last record.
    public var loss: Double
    /// Units (`unit`) per second over the last updates.
    public var unitsPerSecond: Double
    /// Target tokens per second over the last updates.
    public var tokensPerSecond: Double
    /// What the units are (`tokens`, `pairs`, `samples`).
    public var unit: String
    /// The learning rate of this update.
    public var learningRate: Float
    /// Seconds of training so far.
    public var elapsed: Double
    /// Seconds left in the budget, when it can be told.
    public var remaining: Double?
    /// Target tokens trained on so far.
    public var tokens = 0
    /// Processes training data-parallel, when more than one.
    public var ranks: Int? = nil
    /// Seconds per update spent summing gradients over the ranks (the last 20 updates), when more than one.
    public var allReduceSeconds: Double? = nil
}

/// Why a run ended.
public enum TrainingOutcome: String, Codable, Sendable {
    /// The budget (steps, minutes or target tokens) was spent.
    case finished
    /// `StopSignal` was raised; a checkpoint was saved to resume from.
    case interrupted
}

/// What `Trainer.run` tells its caller as it goes; the CLI renders these as its progress line and log.
public enum TrainingEvent: Sendable {
    /// Continued from a checkpoint (its folder, the step), naming any newer checkpoints skipped as unreadable;
    /// `freshMoments` when the checkpoint held weights and trainer state only (a milestone kept in git), so Adam's
    /// moments start again from zero.
    case resumed(checkpoint: URL, step: Int, skipped: [String], freshMoments: Bool)
    /// An update was taken.
    case step(TrainingProgress)
    /// Dev metrics were computed (and the record added to the history).
    case validation(TrainingRecord)
    /// A checkpoint was written.
    case checkpoint(URL)
    /// The run ended.
    case finished(TrainingOutcome, step: Int)
}

/// A flag that asks a running trainer to save a checkpoint and return (Ctrl-C, a server's shutdown); safe to raise
/// from any thread.
public final class StopSignal: Sendable {
    private let raised = Atomic<Bool>(false)

    /// A lowered signal.
    public init() {}

    /// Asks the run to stop after the current update.
    public func raise() { raised.store(true, ordering: .relaxed) }

    /// Whether `raise` was called.
    public var isRaised: Bool { raised.load(ordering: .relaxed) }
}

/// When a training session began, recorded in the run's state so a long run's resumes can be told apart.
public struct TrainingSession: Codable, Sendable, Equatable {
    /// Wall-clock start (ISO 8601).
    public var started: String
    /// The update the session started from.
    public var fromStep: Int
}
