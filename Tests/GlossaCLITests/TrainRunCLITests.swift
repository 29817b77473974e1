import Foundation
import Testing

/// The trainer's side of reliability, through `glossa train`: runs are never silently wrong.
@Suite struct TrainRunCLITests {
    /// A tiny language-model recipe over the first lines of the en-de corpus, training into `folder/model`.
    static func recipe(in folder: URL, training: [String: Any] = [:], model: [String: Any] = [:]) throws -> [String: Any] {
        let root = GlossaRunner.repositoryRoot
        func firstLines(_ name: String, _ count: Int) throws -> String {
            let url = folder.appendingPathComponent(name)
            if !FileManager.default.fileExists(atPath: url.path) {
                let text = try String(contentsOf: root.appendingPathComponent("corpora/\(name)"), encoding: .utf8)
                try Data((text.split(separator: "\n").prefix(count).joined(separator: "\n") + "\n").utf8).write(to: url)
            }
            return url.path
        }
        var settings: [String: Any] = ["max_tokens": 400, "max_length": 60, "learning_rate": 0.003, "warmup_steps": 2, "steps": 4,
                                       "validate_every": 100, "checkpoint_every": 2, "average_last": 1, "seed": 1]
        settings.merge(training) { $1 }
        var configuration: [String: Any] = ["hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                                            "max_position_embeddings": 64, "tie_word_embeddings": true]
        configuration.merge(model) { $1 }
        return [
            "plugin": "causal-lm",
            "model": configuration,
            "data": ["train": ["source": try firstLines("en-de.train.en", 60), "target": try firstLines("en-de.train.de", 60)],
                     "dev": ["source": try firstLines("en-de.dev.en", 10), "target": try firstLines("en-de.dev.de", 10)]],
            "tokenizer": ["model": root.appendingPathComponent("models/en-de/source.spm").path, "vocab_size": 8000,
                          "model_type": "unigram", "character_coverage": 1.0],
            "training": settings,
            "output": folder.appendingPathComponent("model").path,
        ]
    }

    static func write(_ recipe: [String: Any], to url: URL) throws -> String {
        try JSONSerialization.data(withJSONObject: recipe).write(to: url)
        return url.path
    }

    func scratch() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-trainrun-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func anOutputFolderHoldingAnotherRunIsRefused() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try Self.write(try Self.recipe(in: folder), to: folder.appendingPathComponent("a.json"))
        #expect(try runGlossa(["train", "--recipe", first, "--threads", "1"]).status == 0)
        let weights = try Data(contentsOf: folder.appendingPathComponent("model/model.safetensors"))

        // Another model into the same folder: refused, naming what differs, and the first run's files untouched.
        let second = try Self.write(try Self.recipe(in: folder, model: ["hidden_size": 32]), to: folder.appendingPathComponent("b.json"))
        let refused = try runGlossa(["train", "--recipe", second, "--threads", "1"])
        #expect(refused.status != 0 && refused.stderr.contains("model.hidden_size: 16 → 32"), "\(refused.stderr)")
        #expect(try Data(contentsOf: folder.appendingPathComponent("model/model.safetensors")) == weights)
        let resumedOther = try runGlossa(["train", "--recipe", second, "--resume", "--threads", "1"])
        #expect(resumedOther.status != 0 && resumedOther.stderr.contains("another recipe"), "\(resumedOther.stderr)")
        // The same recipe again without --resume is refused too: its checkpoints would mix with the new run's.
        let again = try runGlossa(["train", "--recipe", first, "--threads", "1"])
        #expect(again.status != 0 && again.stderr.contains("--overwrite"), "\(again.stderr)")

        // --overwrite clears the folder first; the new model is the one shipped.
        let overwritten = try runGlossa(["train", "--recipe", second, "--overwrite", "--threads", "1"])
        #expect(overwritten.status == 0, "\(overwritten.stderr)")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("model/config.json"))) as? [String: Any]
        #expect(config?["hidden_size"] as? Int == 32)
        let steps = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("model/checkpoints").path).filter { $0.hasPrefix("step-") }
        #expect(steps.sorted() == ["step-0000002", "step-0000004"], "\(steps)")

        // --resume with a longer budget continues the same run.
        let longer = try runGlossa(["train", "--recipe", second, "--resume", "--steps", "6", "--threads", "1"])
        #expect(longer.status == 0 && longer.stderr.contains("resumed from step-0000004"), "\(longer.stderr)")
        let log = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("model/training.json"))) as? [String: Any]
        #expect((log?["sessions"] as? [Any])?.count == 2, "every resume is recorded")
    }

    @Test func resumeWithoutACheckpointFails() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let recipe = try Self.write(try Self.recipe(in: folder), to: folder.appendingPathComponent("r.json"))
        let run = try runGlossa(["train", "--recipe", recipe, "--resume", "--threads", "1"])
        #expect(run.status == 1 && run.stderr.contains("nothing to resume"), "\(run.stderr)")
    }

    @Test func aCorruptLatestCheckpointFallsBackToTheOneBefore() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let recipe = try Self.write(try Self.recipe(in: folder), to: folder.appendingPathComponent("r.json"))
        #expect(try runGlossa(["train", "--recipe", recipe, "--threads", "1"]).status == 0)
        let latest = folder.appendingPathComponent("model/checkpoints/step-0000004/model.safetensors")
        let bytes = try Data(contentsOf: latest)
        try bytes.prefix(bytes.count / 2).write(to: latest)
        let run = try runGlossa(["train", "--recipe", recipe, "--resume", "--steps", "5", "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("skipped the unreadable checkpoint step-0000004") && run.stderr.contains("resumed from step-0000002"),
                "\(run.stderr)")
    }

    @Test func unknownAndImpossibleRecipeFieldsAreErrors() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases: [(String, (inout [String: Any]) -> Void, String)] = [
            ("typo", { r in r["training"] = ["steps": 1, "learning_rat": 0.1] }, "unknown key \"learning_rat\" (did you mean \"learning_rate\"?)"),
            ("top-level", { r in r["outptu"] = "x" }, "unknown key \"outptu\" (did you mean \"output\"?)"),
            ("tokenizer", { r in (r["tokenizer"] as? [String: Any]).map { t in var t = t; t["vocab"] = 1; r["tokenizer"] = t } }, "unknown key \"vocab\""),
            ("schedule", { r in r["training"] = ["steps": 1, "schedule": "cosin"] }, "schedule must be one of"),
            ("objective", { r in r["objective"] = "rlhf" }, "objective \"rlhf\""),
            ("block", { r in r["sft"] = ["train": "x"] }, "unknown key \"sft\""),
            ("steps", { r in r["training"] = ["steps": 0] }, "steps must be in"),
            ("minutes", { r in r["training"] = ["minutes": -1] }, "minutes must be"),
            ("tokens", { r in r["training"] = ["target_tokens": -5] }, "target_tokens must be positive"),
            ("threads", { r in r["training"] = ["steps": 1, "threads": 0] }, "threads must be in"),
            ("dtype", { r in r["dtype"] = "bf16" }, "dtype"),
        ]
        for (name, change, message) in cases {
            var recipe = try Self.recipe(in: folder)
            change(&recipe)
            let file = try Self.write(recipe, to: folder.appendingPathComponent("\(name).json"))
            let run = try runGlossa(["train", "--recipe", file, "--threads", "1"])
            #expect(run.status == 1 && run.stderr.contains(message), "\(name): \(run.status) \(run.stderr)")
        }
    }

    @Test func ctrlCSavesACheckpointAndExits130() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let recipe = try Self.write(try Self.recipe(in: folder, training: ["steps": 1_000_000, "checkpoint_every": 1_000_000]),
                                    to: folder.appendingPathComponent("r.json"))
        let process = Process()
        process.executableURL = try GlossaRunner.binary()
        process.arguments = ["train", "--recipe", recipe, "--threads", "1"]
        let errors = folder.appendingPathComponent("stderr")
        try Data().write(to: errors)
        let handle = try FileHandle(forWritingTo: errors)
        defer { try? handle.close() }
        process.standardError = handle
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Interrupt once training is under way (the run directory is recorded before the first update).
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !FileManager.default.fileExists(atPath: folder.appendingPathComponent("model/run.json").path) {
            usleep(100_000)
        }
        usleep(1_500_000)
        process.interrupt()
        process.waitUntilExit()
        let stderr = try String(contentsOf: errors, encoding: .utf8)
        #expect(process.terminationStatus == 130, "\(stderr)")
        #expect(stderr.contains("interrupted: checkpoint saved at step"), "\(stderr)")
        let steps = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("model/checkpoints").path).filter { $0.hasPrefix("step-") }
        #expect(steps.count == 1, "\(steps)")
    }
}

/// The Swift program of docs/training.md: the same file is in the docs, and it trains a recipe from the SDK.
@Suite struct TrainFromSwiftTests {
    @Test func theDocumentedProgramIsTheBuiltOneAndTrains() throws {
        let root = GlossaRunner.repositoryRoot
        let program = try String(contentsOf: root.appendingPathComponent("Examples/TrainRecipe/main.swift"), encoding: .utf8)
        let docs = try String(contentsOf: root.appendingPathComponent("docs/training.md"), encoding: .utf8)
        #expect(docs.contains("```swift\n" + program + "```"), "docs/training.md must show Examples/TrainRecipe/main.swift as it is")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-swift-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let recipe = try TrainRunCLITests.write(try TrainRunCLITests.recipe(in: folder, training: ["validate_every": 2]),
                                                to: folder.appendingPathComponent("r.json"))
        let process = Process()
        process.executableURL = try GlossaRunner.binary().deletingLastPathComponent().appendingPathComponent("train-recipe")
        process.arguments = [recipe]
        let output = folder.appendingPathComponent("stdout")
        try Data().write(to: output)
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        process.standardOutput = handle
        try process.run()
        process.waitUntilExit()
        let printed = try String(contentsOf: output, encoding: .utf8)
        #expect(process.terminationStatus == 0, "\(printed)")
        #expect(printed.contains("step 2: ") && printed.contains("wrote "), "\(printed)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("model/model.safetensors").path))
    }

    /// `glossa bench train --profile` splits real steps of a recipe into parts and phases and sets the products' FLOP
    /// rate against sgemm on the same shapes; the run leaves nothing behind in the recipe's output folder.
    @Test func trainingProfileSplitsAStepAndReportsUtilisation() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-profile-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let recipe = try TrainRunCLITests.write(try TrainRunCLITests.recipe(in: folder), to: folder.appendingPathComponent("r.json"))
        let run = try runGlossa(["bench", "train", "--profile", "--recipe", recipe, "--steps", "2", "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        for expected in ["2 steps", "self-attention", "feed-forward", "optimizer", "forward ms", "model FLOPs utilisation"] {
            #expect(run.stdout.contains(expected), "\(expected) in \(run.stdout)")
        }
        let flops = run.stdout.split(separator: "\n").first { $0.hasPrefix("matrix products:") }
        #expect(flops.map { !$0.contains(" 0.0 GFLOP") } ?? false, "\(run.stdout)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("model").path))
        let refused = try runGlossa(["bench", "gemm", "--profile"])
        #expect(refused.status != 0 && refused.stderr.contains("--profile"), "\(refused.stderr)")
        #expect(try runGlossa(["bench", "train", "--profile", "--steps", "0"]).status != 0)
    }
}
