import ArgumentParser
import Foundation
import Glossa
import GlossaNN
import GlossaRecipes
import GlossaTensor

/// `glossa compare --recipe A.json --recipe B.json`: trains recipes on the same data, tokenizer and budget, then
/// scores them on the same test set and writes a report with plots.
struct CompareCommand: PluginCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "Train translator recipes side by side on the same data and budget, and report.",
        discussion: """
            Every run uses the first recipe's corpus, tokenizer, batch size, maximum length and seed (so the batches come \
            in the same order), the same budget, the same validation points and the same threads. Each run is a child \
            `glossa train` in OUTPUT/runs/NAME; Ctrl-C keeps the finished runs and checkpoints the others, and the same \
            command run again resumes. Finished runs are then translated on the test set greedily and with beam search, \
            and OUTPUT/report.md is written with its SVG plots.
            """)

    @Option(name: .customLong("recipe"), help: "A recipe to compare; give two or more. The first one's data and tokenizer are used for all.")
    var recipes: [String] = []

    @Option(help: "Training minutes per run, validation time excluded (default: the first recipe's).")
    var budgetMinutes: Double?

    @Option(help: "Target tokens per run, instead of minutes.")
    var budgetTokens: Int?

    @Option(help: "The folder for runs, report.md and plots.")
    var output: String = "comparison"

    @Flag(help: "Train the runs at the same time (one thread each unless --threads says otherwise), so they share the machine's noise.")
    var parallel = false

    @Option(help: "Threads per run for training and evaluation (default: the first recipe's, or 1 with --parallel).")
    var threads: Int?

    @Option(help: "Beam size of the beam-search evaluation (the other one is greedy).")
    var beamSize: Int = 4

    @Option(help: "Test sentences decoded together.")
    var batchSize: Int = 32

    @Option(help: "Most tokens generated per test sentence.")
    var maxLength: Int = 128

    @Option(help: "Length penalty α of the test decoding.")
    var lengthPenalty: Float = 1

    @Option(help: "Score only the first N test lines.")
    var testLines: Int?

    /// Set on the child processes that translate the test set for one run each under --parallel.
    @Option(help: .hidden)
    var evaluateRun: String?

    func validate() throws {
        if recipes.count < 2 { throw ValidationError("give at least two recipes: --recipe A.json --recipe B.json") }
        if budgetMinutes != nil && budgetTokens != nil { throw ValidationError("give --budget-minutes or --budget-tokens, not both") }
        try FlagBounds.check(finite: budgetMinutes, 0.001...1_000_000, "--budget-minutes")
        try FlagBounds.check(budgetTokens, 1...Int(Int32.max) * 1024, "--budget-tokens")
        try FlagBounds.check(threads, FlagBounds.threads, "--threads")
        if beamSize < 2 { throw ValidationError("--beam-size must be at least 2 (greedy decoding is always scored too)") }
        try FlagBounds.check(beamSize, 2...SearchSettings.maxBeamSize, "--beam-size")
        try FlagBounds.check(batchSize, FlagBounds.batchSize, "--batch-size")
        try FlagBounds.check(maxLength, FlagBounds.newTokens, "--max-length")
        try FlagBounds.check(finite: lengthPenalty, "--length-penalty")
        try FlagBounds.check(testLines, 1...FlagBounds.limit.upperBound, "--test-lines")
    }

    func run(plugins: PluginRegistry) throws {
        let outputURL = URL(fileURLWithPath: output)
        let budget = budgetMinutes.map(ComparisonBudget.minutes) ?? budgetTokens.map(ComparisonBudget.tokens)
        let firstThreads = (try? Recipe.load(URL(fileURLWithPath: recipes[0])))?.training.threads
        let runThreads = threads ?? (parallel ? 1 : firstThreads ?? Threads.count)
        let comparison = try RecipeComparison(recipeFiles: recipes, budget: budget, threads: runThreads, output: outputURL, plugins: plugins)
        let runs = comparison.runs
        if evaluateRun == nil {
            log("compare: \(runs.map(\.name).joined(separator: " vs ")), \(comparison.budget.description), \(runThreads) thread(s) per run"
                + (parallel ? ", runs in parallel" : ", one run at a time"))
        }
        for run in runs where !run.overrides.isEmpty && evaluateRun == nil {
            log("compare: \(run.name) uses \(runs[0].name)'s \(run.overrides.joined(separator: ", ")) so that the runs are comparable")
        }
        var failures: [String: String] = [:]
        if evaluateRun == nil { try train(runs, failures: &failures) }

        signal(SIGINT, SIG_DFL)  // evaluations are stored per run, so Ctrl-C from here on loses at most one
        BLAS.setThreads(runThreads)
        let test = try comparison.testSet(limit: testLines)
        let settings = ComparisonEvaluationSettings(beamSize: beamSize, batchSize: batchSize, maxLength: maxLength, lengthPenalty: lengthPenalty,
                                          testLines: testLines, threads: runThreads)
        if let name = evaluateRun {
            _ = try comparison.run(named: name).evaluate(test: test, settings: settings, plugins: plugins, log: log)
            return
        }
        let waiting = runs.filter { failures[$0.name] == nil && $0.storedEvaluation(settings: settings) == nil }
        if parallel && waiting.count > 1 {
            try evaluateInChildren(waiting, failures: &failures)
        } else {
            for run in waiting {
                log("compare: translating the test set with \(run.name)")
                _ = try run.evaluate(test: test, settings: settings, plugins: plugins, log: log)
            }
        }
        var evaluations: [String: ComparisonEvaluation] = [:]
        for run in runs where failures[run.name] == nil { evaluations[run.name] = run.storedEvaluation(settings: settings) }

        let command = (["glossa"] + CommandLine.arguments.dropFirst()).map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        let report = try ComparisonReport(comparison: comparison, parallel: parallel, settings: settings, testLines: test.sources.count,
                                          evaluations: evaluations, failures: failures, command: command)
        try report.write(to: outputURL)
        log("compare: wrote \(outputURL.appendingPathComponent("report.md").path)")
        print(report.summaryTable())
        if !failures.isEmpty {
            throw CommandError(description: failures.sorted { $0.key < $1.key }.map { "run \($0.key) failed (\($0.value))" }.joined(separator: "; "))
        }
    }

    /// Trains every run that has not finished, resuming interrupted ones; a failed run is recorded and the others go on.
    func train(_ runs: [ComparisonRun], failures: inout [String: String]) throws {
        var pending: [ComparisonRun] = []
        for run in runs {
            switch try run.progress() {
            case .finished: log("compare: \(run.name) has finished training; not training it again")
            case .resumable, .fresh: pending.append(run)
            }
        }
        guard !pending.isEmpty else { return }
        // The children get the same Ctrl-C from the terminal and checkpoint themselves.
        let stop = StopSignal()
        let interrupt = Interrupt(raising: stop)
        defer { interrupt.cancel() }
        let executable = ChildProcess.currentExecutable()
        var active: [(run: ComparisonRun, child: ChildProcess, resumed: Bool, started: Date)] = []
        var forwarded = false
        while !pending.isEmpty || !active.isEmpty {
            while !stop.isRaised, !pending.isEmpty, active.isEmpty || parallel {
                let run = pending.removeFirst()
                try run.prepare()
                let resume = try run.progress() == .resumable
                log("compare: \(resume ? "resuming" : "training") \(run.name) (log: \(run.logURL.path))")
                let child = try ChildProcess(executable: executable,
                                             arguments: ["train", "--recipe", run.recipeURL.path] + (resume ? ["--resume"] : []), log: run.logURL)
                active.append((run, child, resume, Date()))
            }
            if stop.isRaised && !forwarded {
                // A Ctrl-C at the terminal reaches the children too; a signal sent to this process alone does not.
                for entry in active { entry.child.interrupt() }
                forwarded = true
                pending.removeAll()
            }
            usleep(200_000)
            for entry in active {
                for line in entry.child.newLines() { log("[\(entry.run.name)] \(line)") }
            }
            var still: [(run: ComparisonRun, child: ChildProcess, resumed: Bool, started: Date)] = []
            for entry in active {
                guard let ending = entry.child.poll() else { still.append(entry); continue }
                for line in entry.child.newLines() { log("[\(entry.run.name)] \(line)") }
                try entry.run.record(.init(resumed: entry.resumed, seconds: Date().timeIntervalSince(entry.started),
                                           ending: ending.description, peakBytes: ending.peakBytes))
                if ending.succeeded && FileManager.default.fileExists(atPath: entry.run.trainingLogURL.path) {
                    log("compare: \(entry.run.name) finished (peak memory \(ending.peakBytes / 1_048_576) MiB)")
                } else if !stop.isRaised {
                    failures[entry.run.name] = "\(ending.description); see \(entry.run.logURL.path)"
                    log("compare: \(entry.run.name) failed with \(ending.description); see \(entry.run.logURL.path)")
                }
            }
            active = still
        }
        if stop.isRaised {
            log("compare: interrupted; finished runs are kept and the others checkpointed. Run the same command again to resume.")
            throw ExitCode(130)
        }
    }

    /// Translates the test set with every run at once, one child process each, so their speeds share the machine's noise.
    func evaluateInChildren(_ runs: [ComparisonRun], failures: inout [String: String]) throws {
        let executable = ChildProcess.currentExecutable()
        var active: [(run: ComparisonRun, child: ChildProcess)] = []
        for run in runs {
            log("compare: translating the test set with \(run.name)")
            let log = run.directory.appendingPathComponent("evaluate.log")
            active.append((run, try ChildProcess(executable: executable,
                                                 arguments: Array(CommandLine.arguments.dropFirst()) + ["--evaluate-run", run.name], log: log)))
        }
        while !active.isEmpty {
            usleep(200_000)
            active = active.filter { entry in
                let ending = entry.child.poll()
                for line in entry.child.newLines() { log("[\(entry.run.name)] \(line)") }
                guard let ending else { return true }
                if !ending.succeeded {
                    failures[entry.run.name] = "its test translation ended with \(ending.description); see \(entry.child.log.path)"
                }
                return false
            }
        }
    }

    func log(_ line: String) {
        StandardStreams.writeError((line + "\n"))
    }
}
