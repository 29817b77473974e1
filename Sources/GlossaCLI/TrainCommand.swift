import ArgumentParser
import Dispatch
import Foundation
import Glossa
import GlossaRecipes
import GlossaTensor

/// `glossa train --recipe FILE`: trains a model as a recipe says and writes its directory (`RecipeRun`).
struct TrainCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a model from a recipe (recipes/*.json).",
        discussion: """
            Trains the tokenizer first when its file does not exist. Ctrl-C saves a checkpoint and exits with status 130; \
            --resume continues from the last checkpoint with the same data order and random state. An output folder \
            that holds another run is refused unless --resume (the same recipe) or --overwrite is given.
            """)

    @Option(help: "The recipe file.")
    var recipe: String

    @Flag(help: "Continue from the last checkpoint in the output directory.")
    var resume = false

    @Flag(help: "Clear an output directory that holds another run before training (the recipe's own input files are kept).")
    var overwrite = false

    @Option(help: "Override the recipe's budget in update steps.")
    var steps: Int?

    @Option(help: "Override the recipe's budget in minutes.")
    var minutes: Double?

    @Option(help: "Override the recipe's budget in target tokens.")
    var targetTokens: Int?

    @Option(help: "Override the recipe's output directory.")
    var output: String?

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        try FlagBounds.check(steps, 1...Int(Int32.max), "--steps")
        try FlagBounds.check(finite: minutes, 0.001...1_000_000, "--minutes")
        try FlagBounds.check(targetTokens, 1...Int.max / 2, "--target-tokens")
        if let output, output.isEmpty { throw ValidationError("--output must name a folder, not be empty") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite exclude each other") }
    }

    func run(plugins: PluginRegistry) throws {
        var recipe = try Recipe.load(URL(fileURLWithPath: self.recipe))
        if steps != nil || minutes != nil || targetTokens != nil {
            recipe.training.steps = steps
            recipe.training.minutes = minutes
            recipe.training.targetTokens = targetTokens
        }
        if let output { recipe.output = output }
        if threads.threads == nil, let n = recipe.training.threads {
            BLAS.setThreads(n)
        } else {
            threads.apply()
        }
        let stop = StopSignal()
        let interrupt = Interrupt(raising: stop)
        defer { interrupt.cancel() }
        let progress = ProgressLine()
        let run = RecipeRun(recipe: recipe, registry: plugins, resume: resume, overwrite: overwrite)
        let result = try run.run(stop: stop) { event in TrainingLogRenderer.render(event, progress: progress) }
        progress.finish()
        if result.outcome == .interrupted { throw ExitCode(130) }
    }
}

/// Raises a `StopSignal` on Ctrl-C (SIGINT) while it lives, through a dispatch source rather than a global flag.
final class Interrupt {
    private let source: any DispatchSourceSignal

    init(raising stop: StopSignal) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { stop.raise() }
        source.resume()
    }

    /// Restores the default action of SIGINT.
    func cancel() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

/// Turns a recipe run's events into the log and progress line on stderr.
enum TrainingLogRenderer {
    static func render(_ event: RecipeEvent, progress: ProgressLine) {
        switch event {
        case .note(let line):
            progress.finish()
            logError(line)
        case .training(let event):
            switch event {
            case .resumed(let checkpoint, let step, let skipped):
                for name in skipped { logError("skipped the unreadable checkpoint \(name)") }
                logError("resumed from \(checkpoint.lastPathComponent) at step \(step)")
            case .step(let p):
                progress.update(step: p.step, loss: p.loss, rate: p.unitsPerSecond, unit: p.unit, elapsed: p.elapsed,
                                eta: p.remaining, learningRate: p.learningRate)
            case .validation(let record):
                progress.finish()
                logError(describe(record))
            case .checkpoint:
                break
            case .finished(let outcome, let step):
                progress.finish()
                if outcome == .interrupted { logError("interrupted: checkpoint saved at step \(step); continue with --resume") }
            }
        }
    }

    /// One log line for a record.
    static func describe(_ record: TrainingRecord) -> String {
        var line = String(format: "step %d  %.1f min  %d tokens", record.step, record.minutes, record.tokens)
        if record.units != record.tokens { line += "  \(record.units) units" }
        line += record.trainLoss.map { String(format: "  train loss %.3f", $0) } ?? "  before training"
        for (name, value) in record.trainMetrics.sorted(by: { $0.key < $1.key }) { line += String(format: "  %@ %.4g", name, value) }
        for (name, value) in record.dev.sorted(by: { $0.key < $1.key }) { line += String(format: "  dev %@ %.4g", name, value) }
        return line
    }
}
