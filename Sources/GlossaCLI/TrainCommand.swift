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
            that holds another run is refused unless --resume (the same recipe) or --overwrite is given. Started by \
            `mpirun -np N`, it trains data-parallel: each rank takes its share of every batch (max_tokens per rank), \
            rank 0 writes (docs/distributed.md).
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
        let communicator = try Communicators.world()
        guard communicator.isDistributed else { return try train(plugins: plugins, communicator: communicator) }
        do {
            try train(plugins: plugins, communicator: communicator)
        } catch let error as ExitCode {
            throw error
        } catch is RankFailure {
            // Rank 0 said what failed; every rank stops with it.
            throw ExitCode(1)
        } catch {
            // The other ranks may be waiting in a collective for this one: end them all, with the reason.
            logError("Error" + (communicator.isRoot ? "" : " (rank \(communicator.rank))") + ": \(error)")
            communicator.abort(code: 1)
        }
    }

    func train(plugins: PluginRegistry, communicator: any Communicator) throws {
        var recipe = try Recipe.load(URL(fileURLWithPath: self.recipe))
        if steps != nil || minutes != nil || targetTokens != nil {
            recipe.training.steps = steps
            recipe.training.minutes = minutes
            recipe.training.targetTokens = targetTokens
        }
        if let output { recipe.output = output }
        if threads.threads == nil, let n = recipe.training.threads {
            BLAS.setThreads(n)
        } else if threads.threads == nil, communicator.localSize > 1 {
            // Ranks on one machine share its cores.
            BLAS.setThreads(Swift.max(1, Threads.count / communicator.localSize))
        } else {
            threads.apply()
        }
        let stop = StopSignal()
        // mpirun turns Ctrl-C into SIGTERM for the ranks.
        let interrupt = Interrupt(raising: stop, signals: communicator.isDistributed ? [SIGINT, SIGTERM] : [SIGINT])
        defer { interrupt.cancel() }
        let progress = ProgressLine()
        if communicator.isDistributed && communicator.isRoot {
            logError("data-parallel: \(communicator.size) ranks over \(communicator.engine), \(Threads.count) thread(s) each; "
                     + "batches of \(communicator.size) × max_tokens \(recipe.training.maxTokens)")
            let cores = ProcessInfo.processInfo.activeProcessorCount
            if communicator.localSize * Threads.count > cores {
                logError("note: \(communicator.localSize) ranks × \(Threads.count) threads on \(cores) cores here; --threads sets the threads per rank")
            }
        }
        let run = RecipeRun(recipe: recipe, registry: plugins, resume: resume, overwrite: overwrite)
        run.communicator = communicator
        let result = try run.run(stop: stop) { event in
            // Rank 0 alone logs.
            if communicator.isRoot { TrainingLogRenderer.render(event, progress: progress) }
        }
        progress.finish()
        if result.outcome == .interrupted { throw ExitCode(130) }
    }
}

/// Raises a `StopSignal` on Ctrl-C (SIGINT, and the others given) while it lives, through dispatch sources rather than
/// a global flag.
final class Interrupt {
    private let sources: [(Int32, any DispatchSourceSignal)]

    init(raising stop: StopSignal, signals: [Int32] = [SIGINT]) {
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stop.raise() }
            source.resume()
            return (number, source)
        }
    }

    /// Restores the default actions.
    func cancel() {
        for (number, source) in sources {
            source.cancel()
            signal(number, SIG_DFL)
        }
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
            case .resumed(let checkpoint, let step, let skipped, let freshMoments):
                for name in skipped { logError("skipped the unreadable checkpoint \(name)") }
                logError("resumed from \(checkpoint.lastPathComponent) at step \(step)"
                         + (freshMoments ? " (weights only: the optimizer's moments start afresh)" : ""))
            case .step(let p):
                progress.update(step: p.step, loss: p.loss, rate: p.unitsPerSecond, unit: p.unit, elapsed: p.elapsed,
                                eta: p.remaining, learningRate: p.learningRate, allReduce: p.allReduceSeconds)
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
        if let ranks = record.ranks, let seconds = record.allReduceSeconds {
            line += String(format: "  %d ranks, all-reduce %.1f ms/step", ranks, seconds * 1000)
        }
        return line
    }
}
