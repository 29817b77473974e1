import Foundation
import Glossa
import GlossaNN

/// The output folder of a recipe run, and whose run it holds: `run.json` records the recipe that trains into it, so a
/// second run with another recipe (or a fresh start over a finished run) is refused rather than mixing checkpoints.
struct RunFolder {
    let url: URL
    let recipe: Recipe

    var runFile: URL { url.appendingPathComponent("run.json") }
    var checkpoints: URL { url.appendingPathComponent("checkpoints") }

    /// The recipe as it identifies a run: without the budget, threads and output, which may change between sessions.
    static func identity(_ recipe: Recipe) throws -> JSONValue {
        var copy = recipe
        copy.training.steps = nil
        copy.training.minutes = nil
        copy.training.targetTokens = nil
        copy.training.threads = nil
        copy.output = ""
        return try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(copy))
    }

    /// Whether the folder holds a run: checkpoints or a finished model's `training.json`.
    var holdsRun: Bool {
        let manager = FileManager.default
        let steps = (try? manager.contentsOfDirectory(atPath: checkpoints.path))?.contains { $0.hasPrefix("step-") } ?? false
        return steps || manager.fileExists(atPath: url.appendingPathComponent("training.json").path)
    }

    /// Checks the folder may take this run and records it: refused when it holds another run, unless `resume` (the same
    /// recipe; what differs is named) or `overwrite` (the folder is cleared first, keeping the recipe's own inputs).
    func prepare(resume: Bool, overwrite: Bool, log: (String) -> Void) throws {
        let manager = FileManager.default
        let mine = try Self.identity(recipe)
        if overwrite, manager.fileExists(atPath: url.path) {
            try clear(log: log)
        } else if resume {
            if let data = try? Data(contentsOf: runFile), let theirs = try? JSONDecoder().decode(JSONValue.self, from: data), theirs != mine {
                throw GlossaError.training("\(url.path) holds a run of another recipe (\(Self.differences(theirs, mine).joined(separator: "; "))); "
                                           + "--resume continues only the same run; use another --output, or --overwrite to start again")
            }
        } else if holdsRun {
            let theirs = (try? Data(contentsOf: runFile)).flatMap { try? JSONDecoder().decode(JSONValue.self, from: $0) }
            let what = theirs.map { $0 == mine ? "a run of this recipe" : "a run of another recipe (\(Self.differences($0, mine).joined(separator: "; ")))" }
                ?? "a trained model or checkpoints"
            throw GlossaError.training("\(url.path) already holds \(what); --resume continues it, --overwrite clears the folder first, "
                                       + "or give another --output")
        }
        try manager.createDirectory(at: url, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(mine), to: runFile)
    }

    /// Removes everything in the folder but the files the recipe reads (a tokenizer kept beside the model).
    func clear(log: (String) -> Void) throws {
        let inputs = Set([recipe.tokenizer.model, recipe.data.train.source, recipe.data.train.target, recipe.base].compactMap { $0 }
            .map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        for name in try FileManager.default.contentsOfDirectory(atPath: url.path) {
            let item = url.appendingPathComponent(name).standardizedFileURL
            if inputs.contains(item.path) || inputs.contains(where: { $0.hasPrefix(item.path + "/") }) { continue }
            try FileManager.default.removeItem(at: item)
        }
        log("--overwrite: cleared \(url.path)")
    }

    /// "model.d_model: 256 → 384", for each leaf where the two recipes differ.
    static func differences(_ old: JSONValue, _ new: JSONValue, path: String = "") -> [String] {
        if case .object(let a) = old, case .object(let b) = new {
            return Set(a.keys).union(b.keys).sorted().flatMap { key in
                differences(a[key] ?? .null, b[key] ?? .null, path: path.isEmpty ? key : path + "." + key)
            }
        }
        guard old != new else { return [] }
        func show(_ v: JSONValue) -> String { (try? v.data()).flatMap { String(data: $0, encoding: .utf8) } ?? "?" }
        return ["\(path.isEmpty ? "recipe" : path): \(show(old)) → \(show(new))"]
    }
}
