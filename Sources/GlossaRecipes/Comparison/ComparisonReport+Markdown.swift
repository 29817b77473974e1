import Foundation
import Glossa

extension ComparisonReport {
    /// The whole report.
    public func markdown() -> String {
        var s = "# Comparison: \(runs.map { "`\($0.name)`" }.joined(separator: " vs "))\n\n"
        s += "Written by `\(command)` on \(Self.timestamp()).\n\n"
        if !failures.isEmpty {
            s += failures.sorted { $0.key < $1.key }.map { "**Run `\($0.key)` failed** (\($0.value)); it is left out below.\n" }.joined() + "\n"
        }
        s += "## Results\n\n" + summaryTable() + "\n"
        s += "Test scores are corpus BLEU (13a) and chrF (sacreBLEU defaults) on \(testLines) lines of `\(runs[0].recipe.data.test?.source ?? "")`. "
        s += "Training time excludes validation. Peak memory is the training process's maximum resident set (`wait4`).\n\n"
        s += breakdown("By corpus origin", key: "origin", keys: originKeys()) { $0.byOrigin }
        s += breakdown("By source length", key: "source words", keys: TestSet.lengthBuckets.map(\.label)) { $0.byLength }
        s += "## Plots\n\n"
        for (name, _) in plots() { s += "![\(name)](\(name))\n" }
        s += "\n" + fairness() + history()
        return s
    }

    /// The main table: one column per run (also what `glossa compare` prints).
    public func summaryTable() -> String {
        let beam = "beam \(settings.beamSize)"
        var rows: [(String, (ComparisonRun) -> String)] = [
            ("plugin", { $0.recipe.plugin }),
            ("parameters", { evaluations[$0.name].map { String(format: "%.2f M", Double($0.parameters) / 1e6) } ?? "–" }),
        ]
        rows.append(("updates / target tokens", { run in
            guard let last = logs[run.name]?.history.last else { return "–" }
            return "\(last.step) / \(Self.grouped(last.tokens))"
        }))
        rows.append(("training minutes", { self.logs[$0.name]?.history.last.map { String(format: "%.1f", $0.minutes) } ?? "–" }))
        rows.append(("training speed (target tokens/s)", { run in
            guard let last = logs[run.name]?.history.last, last.minutes > 0 else { return "–" }
            return String(format: "%.0f", Double(last.tokens) / (last.minutes * 60))
        }))
        rows.append(("peak memory (training)", { self.measurements[$0.name].map { "\($0.peakBytes / 1_048_576) MiB" } ?? "–" }))
        rows.append(("final dev loss / dev chrF", { run in
            guard let last = logs[run.name]?.history.last(where: { $0.dev["loss"] != nil }) else { return "–" }
            return String(format: "%.3f / %@", last.dev["loss"] ?? 0, last.dev["chrf"].map { String(format: "%.2f", $0) } ?? "–")
        }))
        rows.append(("test BLEU / chrF, greedy", { self.evaluations[$0.name].map { Self.pair($0.greedy.all) } ?? "–" }))
        rows.append(("test BLEU / chrF, \(beam)", { self.evaluations[$0.name].map { Self.pair($0.beam.all) } ?? "–" }))
        rows.append(("test sentences/s, greedy / \(beam)", { run in
            guard let e = evaluations[run.name] else { return "–" }
            return String(format: "%.1f / %.1f", e.greedy.sentencesPerSecond, e.beam.sentencesPerSecond)
        }))
        rows.append(("final weights", { self.logs[$0.name]?.weights ?? "–" }))
        var s = "| | " + runs.map { "`\($0.name)`" }.joined(separator: " | ") + " |\n"
        s += "|---|" + runs.map { _ in "---|" }.joined() + "\n"
        for (title, cell) in rows { s += "| \(title) | " + runs.map(cell).joined(separator: " | ") + " |\n" }
        return s
    }

    /// A table of BLEU / chrF per group, greedy and beam, for every run.
    func breakdown(_ title: String, key: String, keys: [String], _ groups: (TestSetResult) -> [String: TestSetScores]) -> String {
        let evaluated = runs.filter { evaluations[$0.name] != nil }
        let present = keys.filter { k in evaluated.contains { groups(evaluations[$0.name]!.greedy)[k] != nil } }
        guard !present.isEmpty else { return "" }
        var s = "## \(title) (BLEU / chrF)\n\n| \(key) | lines | "
        s += evaluated.flatMap { ["`\(label($0))` greedy", "`\(label($0))` beam \(settings.beamSize)"] }.joined(separator: " | ") + " |\n"
        s += "|---|---|" + evaluated.map { _ in "---|---|" }.joined() + "\n"
        for k in present {
            let lines = evaluated.compactMap { groups(evaluations[$0.name]!.greedy)[k]?.lines }.first ?? 0
            s += "| \(k) | \(lines) | " + evaluated.flatMap { run -> [String] in
                let e = evaluations[run.name]!
                return [groups(e.greedy)[k].map(Self.pair) ?? "–", groups(e.beam)[k].map(Self.pair) ?? "–"]
            }.joined(separator: " | ") + " |\n"
        }
        return s + "\n"
    }

    /// The origin groups of the test set, largest first.
    func originKeys() -> [String] {
        guard let e = runs.compactMap({ evaluations[$0.name] }).first else { return [] }
        return e.greedy.byOrigin.sorted { ($0.value.lines, $1.key) > ($1.value.lines, $0.key) }.map(\.key)
    }

    /// What was held equal, and how.
    func fairness() -> String {
        let first = runs[0].recipe
        var s = "## Fairness\n\n"
        s += "- **Corpus**: train `\(first.data.train.source)` → `\(first.data.train.target)`"
        if let dev = first.data.dev { s += ", dev `\(dev.source)`" }
        if let test = first.data.test { s += ", test `\(test.source)`" + (test.origin.map { " (origins `\($0)`)" } ?? "") }
        s += ", the same for every run.\n"
        s += "- **Tokenizer**: `\(first.tokenizer.model)` for every run.\n"
        s += "- **Batches**: max_tokens \(first.training.maxTokens), max_length \(first.training.maxLength), seed \(first.training.seed) "
        s += "for every run, so every run is given the same batches in the same order.\n"
        s += "- **Budget**: \(budget.description). Validation "
        switch budget {
        case .minutes(let m): s += String(format: "every %g minutes of training", m / Double(RecipeComparison.validations))
        case .tokens(let n): s += "every \(Self.grouped(max(1, n / RecipeComparison.validations))) target tokens"
        }
        s += " and at the end: dev cross-entropy on every dev line, chrF of greedy translations of the first \(first.training.validationLines) dev lines.\n"
        s += "- **Final weights**: average_last \(first.training.averageLast), keep_best \(first.training.keepBest) for every run.\n"
        s += "- **Decoding**: greedy and beam \(settings.beamSize), length penalty \(settings.lengthPenalty), batch \(settings.batchSize), "
        s += "at most \(settings.maxLength) tokens, for every run.\n"
        s += "- **Threads**: \(threads) per run for training and for translating the test set; "
        s += parallel ? "the runs trained at the same time, and translated the test set at the same time, so they saw the same machine load.\n"
                      : "the runs trained, and translated the test set, one after the other.\n"
        s += "- **Machine**: \(Self.machine()).\n"
        for run in runs where !run.overrides.isEmpty {
            s += "- `\(run.name)` was given `\(runs[0].name)`'s \(run.overrides.joined(separator: ", ")) (its recipe `\(run.recipeFile)` said otherwise).\n"
        }
        s += "- Recipes as trained: " + runs.map { "[`\($0.name)`](runs/\($0.name)/recipe.json) (from `\($0.recipeFile)`)" }.joined(separator: ", ") + ".\n\n"
        return s
    }

    /// Every validation of every run.
    func history() -> String {
        var s = "## Validations\n\n"
        for run in runs {
            guard let history = logs[run.name]?.history else { continue }
            s += "`\(run.name)`:\n\n| update | minutes | target tokens | train loss | dev loss | dev chrF |\n|---|---|---|---|---|---|\n"
            for r in history {
                s += String(format: "| %d | %.2f | %@ | %.3f | %@ | %@ |\n", r.step, r.minutes, Self.grouped(r.tokens), r.trainLoss ?? 0,
                            r.dev["loss"].map { String(format: "%.3f", $0) } ?? "–", r.dev["chrf"].map { String(format: "%.2f", $0) } ?? "–")
            }
            s += "\n"
        }
        return s
    }

    static func pair(_ s: TestSetScores) -> String { String(format: "%.2f / %.2f", s.bleu, s.chrF) }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return out
    }

    static func timestamp() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: Date())
    }

    /// CPU model, cores, load and niceness when the report was written.
    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        errno = 0
        let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(load) when the report was written, nice \(nice)"
    }
}
