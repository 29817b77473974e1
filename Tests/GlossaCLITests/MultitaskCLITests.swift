import Foundation
import Testing

/// Multi-task SFT through `glossa train` (a `"tasks"` mixture in the `"sft"` block) and its per-task scores through
/// `glossa align eval`, on a tiny model: the trainer's final dev scores and the CLI's are the same SDK call.
@Suite struct MultitaskCLITests {
    func jsonl(_ records: [[String: String]], _ url: URL) throws -> String {
        let lines = try records.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url.path
    }

    @Test func mixtureTrainsAndIsScoredPerTask() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-multitask-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let base = try GenerateCLITests.trainTinyModel(in: folder)
        try #require(base.status == 0, "\(base.stderr)")
        let corpora = GlossaRunner.repositoryRoot.appendingPathComponent("corpora")
        let en = try outputLines(String(contentsOf: corpora.appendingPathComponent("en-de.dev.en"), encoding: .utf8)).prefix(40)
        let de = try outputLines(String(contentsOf: corpora.appendingPathComponent("en-de.dev.de"), encoding: .utf8)).prefix(40)
        var train: [[String: String]] = [], prompts: [[String: String]] = []
        for (i, (e, d)) in zip(en, de).enumerated() where e.count < 80 && d.count < 80 {
            let pair = ["task": "translate", "prompt": "Translate to German: \(e)"], label = ["task": "language", "prompt": "Which language is this? \(d)"]
            if i < 30 {
                train += [pair.merging(["response": d]) { a, _ in a }, label.merging(["response": "de"]) { a, _ in a }]
            } else {
                prompts += [pair.merging(["reference": d]) { a, _ in a }, label.merging(["reference": "de"]) { a, _ in a }]
            }
        }
        train.append(["task": "other", "prompt": "Say hello.", "response": "Hallo."])
        let trainPath = try jsonl(train, folder.appendingPathComponent("train.jsonl"))
        let promptsPath = try jsonl(prompts, folder.appendingPathComponent("prompts.jsonl"))
        func recipe(output: String = "sft", _ edit: (inout [String: Any]) -> Void = { _ in }) throws -> String {
            var sft: [String: Any] = [
                "train": trainPath, "dev": trainPath, "epoch_examples": 20,
                "tasks": ["translate": ["ratio": 3], "language": ["ratio": 1, "reward": "exact"]],
                "generation": ["data": promptsPath, "reward": "chrf", "limit": 4, "max_new_tokens": 8],
            ]
            edit(&sft)
            let recipe: [String: Any] = [
                "plugin": "causal-lm", "objective": "sft", "base": base.model, "model": [:] as [String: Any],
                "data": ["train": ["source": corpora.appendingPathComponent("en-de.dev.en").path, "target": corpora.appendingPathComponent("en-de.dev.de").path]],
                "tokenizer": ["model": base.model + "/tokenizer.model", "vocab_size": 8000, "model_type": "unigram", "character_coverage": 1.0],
                "sft": sft,
                "training": ["max_tokens": 600, "max_length": 64, "learning_rate": 0.003, "warmup_steps": 1, "steps": 3, "validate_every": 2,
                             "checkpoint_every": 10, "average_last": 1, "keep_best": false, "seed": 1],
                "output": folder.appendingPathComponent(output).path,
            ]
            let url = folder.appendingPathComponent("recipe-\(UUID().uuidString).json")
            try JSONSerialization.data(withJSONObject: recipe).write(to: url)
            return url.path
        }

        let run = try runGlossa(["train", "--recipe", try recipe(), "--threads", "1"])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("mixture, per epoch: language 5 examples") && run.stderr.contains("translate 15 examples"), "\(run.stderr)")
        #expect(run.stderr.contains("left out 1 other"), "\(run.stderr)")
        let log = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("sft/training.json"))) as? [String: Any])
        let final = try #require(log["final_dev"] as? [String: Double])
        for key in ["reward", "translate/corpus_chrf", "translate/loss", "language/accuracy", "language/loss"] {
            #expect(final[key] != nil, "\(key) missing: \(final.keys.sorted())")
        }

        // glossa align eval: the same prompts, limit and rewards give the trainer's final scores.
        let eval = try runGlossa(["align", "eval", "--model", folder.appendingPathComponent("sft").path, "--data", promptsPath, "--limit", "4",
                                  "--reward", "language=exact", "--max-new-tokens", "8", "--json", "--threads", "1"])
        try #require(eval.status == 0, "\(eval.stderr)")
        let scores = try #require(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Double])
        for key in ["reward", "translate/corpus_chrf", "translate/corpus_bleu", "language/accuracy"] {
            #expect(abs((scores[key] ?? .nan) - (final[key] ?? .infinity)) < 1e-9, "\(key): CLI \(scores[key] ?? .nan), trainer \(final[key] ?? .nan)")
        }
        #expect(scores["examples"] == 8 && scores["language/examples"] == 4)

        // Bad flags and mixtures are refused by name.
        for (flag, message) in [("bleu", "--reward bleu"), ("=exact", "--reward =exact"), ("summarise=exact", "names task summarise")] {
            let refused = try runGlossa(["align", "eval", "--model", folder.appendingPathComponent("sft").path, "--data", promptsPath, "--reward", flag])
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(flag): \(refused.stderr)")
        }
        let bad: [(edit: (inout [String: Any]) -> Void, message: String)] = [
            ({ $0["tasks"] = ["translate": ["ratio": 0]] }, "ratio must be a positive"),
            ({ $0["tasks"] = ["translate": ["ratio": 1, "reward": "bleu"]] }, "unknown reward \"bleu\""),
            ({ $0["tasks"] = ["translate": ["ratio": 1, "weight": 2]] }, "unknown key \"weight\""),
            ({ $0["tasks"] = ["summarise": ["ratio": 1]] }, "has no records of task \"summarise\""),
            ({ $0["tasks"] = [String: Any]() }, "tasks must name at least one task"),
            ({ $0["tasks"] = nil }, "epoch_examples needs \"tasks\""),
        ]
        for (edit, message) in bad {
            let refused = try runGlossa(["train", "--recipe", try recipe(output: "bad", edit), "--threads", "1", "--overwrite"])
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(message): \(refused.stderr)")
        }
        let untasked = try jsonl([["prompt": "a", "response": "b"]] + train, folder.appendingPathComponent("untasked.jsonl"))
        let noTask = try runGlossa(["train", "--recipe", try recipe(output: "bad") { $0["train"] = untasked }, "--threads", "1", "--overwrite"])
        #expect(noTask.status != 0 && noTask.stderr.contains("1 of \(train.count + 1) records have no \"task\""), "\(noTask.stderr)")
    }
}
