import Foundation
import GlossaNN
import GlossaTensor

/// One line of the training history.
public struct TrainingRecord: Codable, Sendable {
    /// Update number.
    public var step: Int
    /// Minutes of training so far.
    public var minutes: Double
    /// Target tokens seen so far.
    public var tokens: Int
    /// Mean training loss since the previous record.
    public var trainLoss: Double
    /// Dev cross-entropy per token (no label smoothing), when validated.
    public var devLoss: Double?
    /// Dev chrF by greedy decoding, when validated.
    public var devChrF: Double?
}

/// What a training run leaves to resume from, written last into each checkpoint.
struct TrainerState: CheckpointState {
    var step = 0
    var epoch = 0
    var batchInEpoch = 0
    var tokens = 0
    var seconds = 0.0
    var bestChrF: Double?
    var bestStep: Int?
    var dropoutGenerator: SeededGenerator
    var history: [TrainingRecord] = []
}

/// Trains an encoder-decoder model on tokenised pairs with Adam, warmup + inverse-sqrt decay,
/// label smoothing, clipping and accumulation, validating and checkpointing as it goes.
public final class TranslationTrainer {
    let translator: Translator
    let settings: TrainingSettings
    let train: ParallelData
    let dev: ParallelData?
    let checkpoints: CheckpointStore
    let log: (String) -> Void
    let progress: ProgressLine

    /// A trainer writing its checkpoints under `directory/checkpoints`.
    public init(translator: Translator, settings: TrainingSettings, train: ParallelData, dev: ParallelData?,
                directory: URL, log: @escaping (String) -> Void) {
        self.translator = translator
        self.settings = settings
        self.train = train
        self.dev = dev
        self.checkpoints = CheckpointStore(directory: directory.appendingPathComponent("checkpoints"))
        self.log = log
        self.progress = ProgressLine()
    }

    var model: any EncoderDecoderModel { translator.model }

    /// The longest side (EOS or start token included) the model's position tables allow.
    var positionLimit: Int { Swift.min(model.encoder.maxLength ?? Int.max, model.decoder.maxLength ?? Int.max) }

    /// Pairs longer than this are left out of training.
    var trainingLength: Int { Swift.min(settings.maxLength, positionLimit) }

    /// Trains until the budget is spent or `shouldStop` turns true (then it saves a checkpoint and
    /// returns early). With `resume`, it continues from the last checkpoint: same data order, same
    /// dropout draws, same optimizer state.
    public func run(resume: Bool, shouldStop: () -> Bool) throws -> [TrainingRecord] {
        var optimizer = Adam(beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.epsilon, weightDecay: settings.weightDecay)
        var state = TrainerState(dropoutGenerator: SeededGenerator(seed: settings.seed &+ 17))
        if resume, let latest = try checkpoints.latest() {
            state = try checkpoints.restore(latest, model: model, optimizer: &optimizer)
            log("resumed from \(latest.lastPathComponent): step \(state.step), \(String(format: "%.1f", state.seconds / 60)) min, \(state.tokens) target tokens")
        }
        let schedule = LearningRateSchedule.inverseSquareRoot(peak: settings.learningRate, warmup: settings.warmupSteps)
        let context = ForwardContext(training: true)
        context.generator = state.dropoutGenerator
        let ids = model.specialIds
        let parameters = model.namedParameters()
        var plan = BatchPlan.epoch(train, maxTokens: settings.maxTokens, maxLength: trainingLength, seed: settings.seed, epoch: state.epoch)
        guard !plan.isEmpty else { throw GlossaError.invalidInput("no training pair fits max_length \(trainingLength)") }
        var lossSum = 0.0, lossTokens = 0
        var started = Date().timeIntervalSince1970 - state.seconds
        var rateWindow: [(time: Double, tokens: Int)] = [(Date().timeIntervalSince1970, state.tokens)]

        func budgetLeft() -> Bool { settings.hasBudget(step: state.step, seconds: state.seconds, tokens: state.tokens) }

        while budgetLeft() {
            if shouldStop() {
                progress.finish()
                try saveCheckpoint(&state, optimizer: optimizer, context: context)
                log("interrupted: checkpoint saved at step \(state.step); continue with --resume")
                return state.history
            }
            model.zeroGrad()
            var stepTokens = 0
            for _ in 0..<settings.accumulate {
                if state.batchInEpoch >= plan.count {
                    state.epoch += 1
                    state.batchInEpoch = 0
                    plan = BatchPlan.epoch(train, maxTokens: settings.maxTokens, maxLength: trainingLength, seed: settings.seed, epoch: state.epoch)
                }
                let batch = plan[state.batchInEpoch]
                state.batchInEpoch += 1
                let (loss, tokens) = try batchLoss(batch, data: train, ids: ids, smoothing: settings.labelSmoothing, context: context)
                // Sum over accumulated batches of the per-token mean, weighted by tokens.
                (loss * (Float(tokens) / Float(settings.maxTokens))).backward()
                lossSum += Double(loss.item) * Double(tokens)
                lossTokens += tokens
                stepTokens += tokens
            }
            if settings.clipNorm > 0 { clipGradientNorm(model.parameters, maxNorm: settings.clipNorm) }
            state.step += 1
            optimizer.step(parameters, learningRate: schedule.rate(at: state.step))
            model.didUpdateParameters()
            state.tokens += stepTokens
            let now = Date().timeIntervalSince1970
            state.seconds = now - started
            rateWindow.append((now, state.tokens))
            if rateWindow.count > 20 { rateWindow.removeFirst() }
            let rate = Double(state.tokens - rateWindow[0].tokens) / Swift.max(now - rateWindow[0].time, 1e-9)
            progress.update(step: state.step, loss: lossSum / Double(Swift.max(lossTokens, 1)), tokensPerSecond: rate,
                            elapsed: state.seconds, eta: eta(state), learningRate: schedule.rate(at: state.step))

            let validating = state.step % settings.validateEvery == 0 || !budgetLeft() || intervalPassed(state)
            if validating {
                progress.finish()
                var record = TrainingRecord(step: state.step, minutes: state.seconds / 60, tokens: state.tokens,
                                            trainLoss: lossSum / Double(Swift.max(lossTokens, 1)))
                lossSum = 0
                lossTokens = 0
                let validationStart = Date().timeIntervalSince1970
                if let dev {
                    (record.devLoss, record.devChrF) = try validate(dev)
                    if let chrF = record.devChrF, chrF > (state.bestChrF ?? -1) {
                        state.bestChrF = chrF
                        state.bestStep = state.step
                        if settings.keepBest { try checkpoints.saveBest(model) }
                    }
                }
                // Validation time does not count against the training budget.
                started += Date().timeIntervalSince1970 - validationStart
                state.history.append(record)
                log(String(format: "step %d  %.1f min  %d tokens  train loss %.3f", record.step, record.minutes, record.tokens, record.trainLoss)
                    + (record.devLoss.map { String(format: "  dev loss %.3f (ppl %.1f)", $0, Foundation.exp($0)) } ?? "")
                    + (record.devChrF.map { String(format: "  dev chrF %.2f", $0) } ?? ""))
            }
            if state.step % settings.checkpointEvery == 0 || !budgetLeft() {
                try saveCheckpoint(&state, optimizer: optimizer, context: context)
            }
        }
        progress.finish()
        return state.history
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

    func eta(_ state: TrainerState) -> Double? {
        if let minutes = settings.minutes { return Swift.max(0, minutes * 60 - state.seconds) }
        if let steps = settings.steps, state.step > 0 { return state.seconds / Double(state.step) * Double(steps - state.step) }
        if let tokens = settings.targetTokens, state.tokens > 0 { return state.seconds / Double(state.tokens) * Double(Swift.max(0, tokens - state.tokens)) }
        return nil
    }

    func saveCheckpoint(_ state: inout TrainerState, optimizer: Adam, context: ForwardContext) throws {
        state.dropoutGenerator = context.generator
        try checkpoints.save(state, model: model, optimizer: optimizer, keep: Swift.max(settings.averageLast, 2))
    }

    /// Mean label-smoothed cross-entropy of one batch of pairs, and its target token count.
    func batchLoss(_ batch: [Int], data: ParallelData, ids: SequenceSpecialIds, smoothing: Float, context: ForwardContext) throws -> (Tensor, Int) {
        let source = TokenBatch(batch.map { data.source[$0] + [ids.eos] }, padId: ids.pad)
        let decoderInput = TokenBatch(batch.map { [ids.decoderStart] + data.target[$0] }, padId: ids.pad)
        let labels = TokenBatch(batch.map { data.target[$0] + [ids.eos] }, padId: -100)
        let states = try model.encoder.encode(source, context: context)
        let logits = try model.decoder.decode(decoderInput, memory: EncoderMemory(states: states, source: source), state: nil, context: context)
        let (loss, tokens) = Losses.crossEntropy(logits: logits.reshaped([-1, logits.shape[2]]), targets: labels.ids,
                                                 labelSmoothing: smoothing, ignoreIndex: -100)
        return (loss, tokens)
    }

    /// Leaves the model holding its final weights — the average of the last `average_last`
    /// checkpoints, or the best checkpoint when it scores a higher dev chrF — and says which.
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
        guard let dev, settings.keepBest, settings.validationLines > 0, FileManager.default.fileExists(atPath: bestFile.path) else {
            return note
        }
        let finalChrF = try validate(dev).1 ?? 0
        let finalWeights = model.stateDictionary().mapValues { Tensor(shape: $0.shape, scalars: $0.scalars) }
        try model.load(try Safetensors.read(contentsOf: bestFile).tensors())
        let bestChrF = try validate(dev).1 ?? 0
        if bestChrF > finalChrF {
            return String(format: "best checkpoint (dev chrF %.2f over %.2f for the %@)", bestChrF, finalChrF, note)
        }
        try model.load(finalWeights)
        return note + String(format: " (dev chrF %.2f; best checkpoint %.2f)", finalChrF, bestChrF)
    }

    /// Dev cross-entropy per token (teacher forced, no smoothing, no dropout) and chrF of greedy translations.
    public func validate(_ dev: ParallelData) throws -> (Double, Double?) {
        let ids = model.specialIds
        let context = ForwardContext()
        var total = 0.0, tokens = 0
        let plan = BatchPlan.epoch(dev, maxTokens: settings.maxTokens, maxLength: positionLimit, seed: 0, epoch: 0)
        try withoutGrad {
            for batch in plan {
                let (loss, n) = try batchLoss(batch, data: dev, ids: ids, smoothing: 0, context: context)
                total += Double(loss.item) * Double(n)
                tokens += n
            }
        }
        var chrF: Double?
        if settings.validationLines > 0 {
            let sample = dev.prefix(settings.validationLines)
            let outputs = try translator.translate(sample.sourceText, sampler: GreedySampler(), batchSize: 64)
            chrF = try ChrF().corpusScore(hypotheses: outputs.map { $0[0].text }, references: sample.targetText).score
        }
        return (total / Double(Swift.max(tokens, 1)), chrF)
    }
}
