import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// The non-empty lines of a UTF-8 text file (`InputFile.lines`' rules), at most `limit` of them.
func readLines(_ path: String, limit: Int? = nil) throws -> [String] {
    let lines = try InputFile.lines(path, purpose: "the conv-tagger text").filter { !$0.isEmpty }
    return limit.map { Array(lines.prefix($0)) } ?? lines
}

/// The most frequent characters of `examples`, at most `size`, most frequent first (ties in code-point order).
public func tagAlphabet(_ examples: [CharacterTagging.Example], size: Int) -> [String] {
    var counts: [String: Int] = [:]
    for example in examples { for ch in example.characters { counts[String(ch), default: 0] += 1 } }
    return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
        .prefix(size).map(\.key)
}

/// The best label of each real position: `[B, T, L]` logits → one label list per row.
func argmaxLabels(_ logits: Tensor, lengths: [Int]) -> [[Int]] {
    let (t, l) = (logits.shape[1], logits.shape[2])
    return lengths.enumerated().map { row, n in
        (0..<n).map { p in
            let base = (row * t + p) * l
            var best = 0
            for k in 1..<l where logits.scalars[base + k] > logits.scalars[base + best] { best = k }
            return best
        }
    }
}

extension UNetTagger {
    /// The labels of each line's characters, in batches of `batchSize` lines of similar length.
    public func tag(_ lines: [[Character]], batchSize: Int = 32) throws -> [[Int]] {
        var result = [[Int]](repeating: [], count: lines.count)
        let order = lines.indices.sorted { lines[$0].count < lines[$1].count }
        for start in stride(from: 0, to: order.count, by: Swift.max(1, batchSize)) {
            let rows = Array(order[start..<Swift.min(order.count, start + batchSize)])
            let batch = TokenBatch(rows.map { ids(lines[$0]) }, padId: 0)
            let logits = try withoutGrad { try self.logits(batch) }  // [B, T, L]
            for (row, labels) in zip(rows, argmaxLabels(logits, lengths: batch.lengths)) { result[row] = labels }
        }
        return result
    }

    /// Scores on cased, punctuated lines: the task is made from each, tagged, and compared with its labels.
    public func evaluate(_ lines: [String], batchSize: Int = 32) throws -> (scores: TaggingScores, seconds: Double) {
        let examples = lines.map(CharacterTagging.example)
        let started = Date()
        let predicted = try tag(examples.map(\.characters), batchSize: batchSize)
        return (TaggingScores(gold: examples.map(\.labels), predicted: predicted), Date().timeIntervalSince(started))
    }
}

/// What a training run reports (written as `training.json` beside the model).
public struct TaggerTrainingReport: Codable, Sendable {
    /// Updates made.
    public var steps: Int
    /// Wall-clock seconds of training.
    public var seconds: Double
    /// Characters per second through forward and backward.
    public var trainingCharactersPerSecond: Double
    /// Parameters of the model.
    public var parameters: Int
    /// Receptive field of one label, in characters.
    public var receptiveField: Int
    /// Mean training loss of each logging window, by step.
    public var losses: [[Double]]
    /// Dev scores, when the recipe names dev text.
    public var dev: TaggingScores?
    /// Characters per second when tagging the dev text.
    public var devCharactersPerSecond: Double?
}

/// Trains a `conv-unet-tagger` from a recipe: character cross-entropy over the labels of `CharacterTagging`,
/// Adam with warmup and cosine decay, seeded batch order, whole budget in steps or minutes.
public func trainTagger(_ recipe: TaggerRecipe, log: (String) -> Void) throws -> (model: UNetTagger, report: TaggerTrainingReport) {
    let settings = recipe.training
    if let n = settings.threads {
        Threads.count = n
        BLAS.setThreads(n)
    }
    let train = try readLines(recipe.data.train, limit: settings.trainLines).map(CharacterTagging.example).filter { !$0.characters.isEmpty }
    guard !train.isEmpty else { throw GlossaError.invalidInput("conv-tagger: \(recipe.data.train) has no lines") }
    var configuration = recipe.model
    configuration.alphabet = tagAlphabet(train, size: settings.alphabetSize)
    configuration.labels = CharacterTagging.labels
    let model = try UNetTagger(configuration)
    let parameters = model.namedParameters().reduce(0) { $0 + $1.tensor.count }
    log("model: conv-unet-tagger, \(parameters) parameters, alphabet \(configuration.alphabet.count), "
        + "receptive field \(configuration.receptiveField) characters; \(train.count) training lines")

    var generator = SeededGenerator(seed: settings.seed)
    var optimizer = Adam(weightDecay: settings.weightDecay)
    let schedule: LearningRateSchedule = settings.steps.map {
        .cosine(peak: settings.learningRate, warmup: settings.warmupSteps, total: $0, minimum: settings.learningRate / 10)
    } ?? .inverseSquareRoot(peak: settings.learningRate, warmup: settings.warmupSteps)
    let started = Date()
    var order: [Int] = [], cursor = 0, step = 0, characters = 0
    var losses: [[Double]] = [], window: [Double] = []
    while true {
        if let steps = settings.steps, step >= steps { break }
        if let minutes = settings.minutes, Date().timeIntervalSince(started) >= minutes * 60 { break }
        if cursor + settings.batchSize > order.count {
            order = Array(train.indices).shuffled(using: &generator)
            cursor = 0
        }
        let rows = order[cursor..<Swift.min(order.count, cursor + settings.batchSize)].map { train[$0] }
        cursor += settings.batchSize
        let cut = rows.map { (characters: Array($0.characters.prefix(settings.maxLength)), labels: Array($0.labels.prefix(settings.maxLength))) }
        let batch = TokenBatch(cut.map { model.ids($0.characters) }, padId: 0)
        var targets = [Int](repeating: -1, count: batch.batchSize * batch.length)
        for (row, example) in cut.enumerated() { for (p, label) in example.labels.enumerated() { targets[row * batch.length + p] = label } }
        let logits = try model.logits(batch)  // [B, T, L]
        let (loss, counted) = Losses.crossEntropy(logits: logits.reshaped([-1, configuration.labels.count]), targets: targets, ignoreIndex: -1)
        model.zeroGrad()
        loss.backward()
        let named = model.namedParameters()
        clipGradientNorm(named.map(\.tensor), maxNorm: settings.clipNorm)
        step += 1
        optimizer.step(named, learningRate: schedule.rate(at: step))
        characters += counted
        window.append(Double(loss.item))
        if step % Swift.max(1, settings.logEvery) == 0 {
            let mean = window.reduce(0, +) / Double(window.count)
            losses.append([Double(step), mean])
            window = []
            log(String(format: "step %d  loss %.4f  %.0f chars/s", step, mean, Double(characters) / Date().timeIntervalSince(started)))
        }
    }
    let seconds = Date().timeIntervalSince(started)
    if !window.isEmpty { losses.append([Double(step), window.reduce(0, +) / Double(window.count)]) }
    var report = TaggerTrainingReport(steps: step, seconds: seconds, trainingCharactersPerSecond: Double(characters) / Swift.max(seconds, 1e-9),
                                      parameters: parameters, receptiveField: configuration.receptiveField, losses: losses)
    if let dev = recipe.data.dev {
        let lines = try readLines(dev)
        let (scores, taken) = try model.evaluate(lines, batchSize: settings.batchSize)
        report.dev = scores
        report.devCharactersPerSecond = Double(scores.characters) / Swift.max(taken, 1e-9)
        log(String(format: "dev: accuracy %.4f, macro F1 %.4f (", scores.accuracy, scores.macroF1)
            + scores.attributes.map { String(format: "%@ %.3f", $0.name, $0.f1) }.joined(separator: ", ") + ")")
    }
    return (model, report)
}
