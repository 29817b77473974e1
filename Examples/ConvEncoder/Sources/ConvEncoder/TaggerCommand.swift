import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// The plugin's own command, `glossa --plugin libConvEncoder.so run conv-tagger SUBCOMMAND …`:
///
/// - `train --recipe FILE [--steps N] [--minutes M] [--output DIR]`: trains a `conv-unet-tagger` and writes its
///   directory (`config.json`, `model.safetensors`, `training.json`).
/// - `tag --model DIR`: reads lowercased, unpunctuated lines on standard input and prints them restored
///   (`--format labels` prints the label of each character instead).
/// - `eval --model DIR --text FILE [--json]`: makes the task from cased, punctuated lines and prints per-label F1.
/// - `bench --model DIR --text FILE [--repeats N] [--threads N]`: tags the text N times (default 3) and prints the
///   best characters per second.
/// - `make-data --text FILE --output PREFIX`: writes the task as `PREFIX.input` (one line per line) and
///   `PREFIX.labels` (space-separated label names, one per character).
public enum TaggerCommand {
    /// The usage line every argument error repeats.
    static let usage = "usage: conv-tagger train --recipe FILE [--steps N] [--minutes M] [--seed S] [--output DIR] "
        + "| tag --model DIR [--format text|labels] | eval --model DIR --text FILE [--json] "
        + "| bench --model DIR --text FILE [--repeats N] [--threads N] | make-data --text FILE --output PREFIX"

    /// Runs one subcommand.
    public static func run(_ context: PluginCommandContext) throws {
        guard let subcommand = context.arguments.first else { throw GlossaError.invalidInput(usage) }
        let options = try parse(Array(context.arguments.dropFirst()), flags: ["json"])
        switch subcommand {
        case "train": try train(options)
        case "tag": try tag(options)
        case "eval": try evaluate(options)
        case "bench": try bench(options)
        case "make-data": try makeData(options)
        default: throw GlossaError.invalidInput("conv-tagger: unknown subcommand \(subcommand); \(usage)")
        }
    }

    /// `--key value` pairs and bare `--flag`s.
    static func parse(_ arguments: [String], flags: Set<String>) throws -> [String: String] {
        var options: [String: String] = [:]
        var rest = arguments[...]
        while let key = rest.popFirst() {
            guard key.hasPrefix("--") else { throw GlossaError.invalidInput("conv-tagger: unexpected argument \(key); \(usage)") }
            let name = String(key.dropFirst(2))
            if flags.contains(name) {
                options[name] = "true"
            } else {
                guard let value = rest.popFirst() else { throw GlossaError.invalidInput("conv-tagger: \(key) needs a value; \(usage)") }
                options[name] = value
            }
        }
        return options
    }

    static func require(_ options: [String: String], _ key: String) throws -> String {
        guard let value = options[key] else { throw GlossaError.invalidInput("conv-tagger: --\(key) is required; \(usage)") }
        return value
    }

    static func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    static func train(_ options: [String: String]) throws {
        var recipe = try TaggerRecipe.load(try require(options, "recipe"))
        if options["steps"] != nil || options["minutes"] != nil {
            recipe.training.steps = try options["steps"].map { value in
                guard let n = Int(value), n >= 0 else { throw GlossaError.invalidInput("conv-tagger: --steps needs a whole number") }
                return n
            }
            recipe.training.minutes = try options["minutes"].map { value in
                guard let m = Double(value), m > 0 else { throw GlossaError.invalidInput("conv-tagger: --minutes needs a positive number") }
                return m
            }
        }
        if let output = options["output"] { recipe.output = output }
        if let value = options["seed"] {
            guard let seed = UInt64(value) else { throw GlossaError.invalidInput("conv-tagger: --seed needs a whole number") }
            recipe.model.seed = seed
            recipe.training.seed = seed
        }
        let (model, report) = try trainTagger(recipe, log: log)
        let directory = URL(fileURLWithPath: recipe.output)
        try ModelDirectory.save(model, to: directory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(report), to: directory.appendingPathComponent("training.json"))
        log("wrote \(directory.path)")
    }

    /// The tagger in a model directory.
    public static func load(_ path: String) throws -> UNetTagger {
        let folder = ModelDirectory(URL(fileURLWithPath: path))
        let model = try UNetTagger(try folder.pluginConfiguration().decode(UNetConfiguration.self))
        try model.loadCheckpoint(try folder.weights())
        return model
    }

    static func tag(_ options: [String: String]) throws {
        let model = try load(try require(options, "model"))
        let labels = options["format"] == "labels"
        guard labels || (options["format"] ?? "text") == "text" else { throw GlossaError.invalidInput("conv-tagger: --format is text or labels") }
        while let line = readLine() {
            let characters = Array(line)
            let tags = try model.tag([characters])[0]
            print(labels ? tags.map { model.configuration.labels[$0] }.joined(separator: " ") : CharacterTagging.restore(characters, labels: tags))
        }
    }

    static func evaluate(_ options: [String: String]) throws {
        let model = try load(try require(options, "model"))
        let (scores, seconds) = try model.evaluate(try readLines(try require(options, "text")))
        if options["json"] != nil {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(scores), as: UTF8.self))
            return
        }
        print("label     support  precision  recall  F1")
        for a in scores.attributes {
            print(a.name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: "%7d  %9.4f  %6.4f  %.4f", a.support, a.precision, a.recall, a.f1))
        }
        print(String(format: "macro F1 %.4f, character accuracy %.4f, %d characters, %.0f characters/s",
                     scores.macroF1, scores.accuracy, scores.characters, Double(scores.characters) / Swift.max(seconds, 1e-9)))
    }

    static func positive(_ options: [String: String], _ key: String, default value: Int) throws -> Int {
        guard let text = options[key] else { return value }
        guard let n = Int(text), n >= 1 else { throw GlossaError.invalidInput("conv-tagger: --\(key) needs a positive whole number") }
        return n
    }

    static func bench(_ options: [String: String]) throws {
        let model = try load(try require(options, "model"))
        let lines = try readLines(try require(options, "text")).map { CharacterTagging.example($0).characters }
        let repeats = try positive(options, "repeats", default: 3)
        if options["threads"] != nil {
            let n = try positive(options, "threads", default: 1)
            Threads.count = n
            BLAS.setThreads(n)
        }
        let characters = lines.reduce(0) { $0 + $1.count }
        var best = Double.infinity
        for _ in 0..<repeats {
            let started = Date()
            _ = try model.tag(lines)
            best = Swift.min(best, Date().timeIntervalSince(started))
        }
        print(String(format: "%.0f characters/s (best of %d, %d characters)", Double(characters) / best, repeats, characters))
    }

    static func makeData(_ options: [String: String]) throws {
        let examples = try readLines(try require(options, "text")).map(CharacterTagging.example)
        let prefix = try require(options, "output")
        let input = examples.map { String($0.characters) }.joined(separator: "\n") + "\n"
        let labels = examples.map { $0.labels.map { CharacterTagging.labels[$0] }.joined(separator: " ") }.joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(input.utf8), to: URL(fileURLWithPath: prefix + ".input"))
        try AtomicFile.write(Data(labels.utf8), to: URL(fileURLWithPath: prefix + ".labels"))
        log("wrote \(prefix).input and \(prefix).labels (\(examples.count) lines)")
    }
}
