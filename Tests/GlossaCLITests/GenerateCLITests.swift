import Foundation
import Testing

/// `glossa train` with a decoder-only recipe, then `glossa generate` and `glossa bench generate` on the result.
@Suite struct GenerateCLITests {
    /// Trains a tiny language model from the first lines of the en-de corpus into `folder/model`.
    static func trainTinyModel(in folder: URL) throws -> (status: Int32, stderr: String, model: String) {
        let root = GlossaRunner.repositoryRoot
        func firstLines(_ name: String, _ count: Int) throws -> String {
            let text = try String(contentsOf: root.appendingPathComponent("corpora/\(name)"), encoding: .utf8)
            let url = folder.appendingPathComponent(name)
            try Data((text.split(separator: "\n").prefix(count).joined(separator: "\n") + "\n").utf8).write(to: url)
            return url.path
        }
        let recipe: [String: Any] = [
            "plugin": "causal-lm",
            "objective": "nll",
            "model": ["hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
                      "max_position_embeddings": 64, "tie_word_embeddings": true],
            "data": ["train": ["source": try firstLines("en-de.train.en", 60), "target": try firstLines("en-de.train.de", 60)],
                     "dev": ["source": try firstLines("en-de.dev.en", 10), "target": try firstLines("en-de.dev.de", 10)]],
            "tokenizer": ["model": root.appendingPathComponent("models/en-de/source.spm").path, "vocab_size": 8000,
                          "model_type": "unigram", "character_coverage": 1.0],
            "training": ["max_tokens": 400, "max_length": 60, "learning_rate": 0.003, "warmup_steps": 2, "steps": 4,
                         "label_smoothing": 0, "schedule": "cosine", "checkpoint_every": 2, "average_last": 2, "seed": 1],
            "output": folder.appendingPathComponent("model").path,
        ]
        let recipeURL = folder.appendingPathComponent("recipe.json")
        try JSONSerialization.data(withJSONObject: recipe).write(to: recipeURL)
        let run = try runGlossa(["train", "--recipe", recipeURL.path, "--threads", "1"])
        return (run.status, run.stderr, folder.appendingPathComponent("model").path)
    }

    @Test func tinyRecipeTrainsAndGenerates() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-train-lm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let trained = try Self.trainTinyModel(in: folder)
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(trained.stderr.contains("dev perplexity"), "\(trained.stderr)")
        let model = trained.model
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/config.json"))) as? [String: Any]
        #expect(config?["model_type"] as? String == "llama")
        #expect(FileManager.default.fileExists(atPath: model + "/tokenizer.model"))

        // One line per prompt, each beginning with its prompt; a seed repeats a run.
        let args = ["generate", "--model", model, "--max-new-tokens", "8", "--seed", "3", "--top-k", "50", "Open the", "Close"]
        let first = try runGlossa(args), second = try runGlossa(args)
        #expect(first.status == 0, "\(first.stderr)")
        let lines = outputLines(first.stdout)
        #expect(lines.count == 2 && lines[0].hasPrefix("Open the") && lines[1].hasPrefix("Close"), "\(first.stdout)")
        #expect(first.stdout == second.stdout)

        let samples = try runGlossa(["generate", "--model", model, "--max-new-tokens", "6", "--num-samples", "3", "--seed", "1", "Open"])
        #expect(outputLines(samples.stdout).count == 3, "\(samples.stdout)")
        let piped = try runGlossa(["generate", "--model", model, "--max-new-tokens", "4", "--temperature", "0"], stdin: Data("Open\nSave the\n".utf8))
        #expect(outputLines(piped.stdout).count == 2, "\(piped.stdout)")
        // Temperature 0 and top-k 1 are both greedy search.
        let greedy = try runGlossa(["generate", "--model", model, "--max-new-tokens", "6", "--top-k", "1", "--seed", "9", "Open"])
        let cold = try runGlossa(["generate", "--model", model, "--max-new-tokens", "6", "--temperature", "0", "Open"])
        #expect(greedy.stdout == cold.stdout)

        let bench = try runGlossa(["bench", "generate", "--model", model, "--positions", "8", "--json"])
        #expect(bench.status == 0, "\(bench.stderr)")
        let rows = outputLines(bench.stdout).compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(rows.count == 4 && rows.allSatisfy { $0["unit"] as? String == "ms/token" }, "\(bench.stdout)")
    }

    @Test func badSamplingFlagsFailWithAMessage() throws {
        for (flag, value) in [("--top-p", "0"), ("--temperature", "-1"), ("--min-p", "2"), ("--repetition-penalty", "0")] {
            let run = try runGlossa(["generate", "--model", "/nonexistent", flag, value, "x"])
            #expect(run.status != 0)
            #expect(run.stderr.contains(flag), "\(flag): \(run.stderr)")
        }
        let missing = try runGlossa(["generate", "--model", "/nonexistent", "x"])
        #expect(missing.status != 0 && missing.stderr.contains("config.json"), "\(missing.stderr)")
    }
}
