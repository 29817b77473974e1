import Foundation
import Testing

/// `glossa train` with `"objective": "masked-lm"`: a tiny run writes a `BertForMaskedLM` directory, and bad
/// `masked_lm` values are refused by name.
@Suite struct TrainMaskedLMCLITests {
    func recipe(in folder: URL, block: [String: Any]) throws -> String {
        let root = GlossaRunner.repositoryRoot
        let rows = ["writer\tThe house is small.", "calc\tOpen the file and choose a cell.", "draw\tThe dog sleeps on the slide.",
                    "math\tChoose a colour for the formula."]
        let data = folder.appendingPathComponent("texts.tsv")
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: data)
        var maskedLM: [String: Any] = ["train": data.path, "dev": data.path, "format": "tsv"]
        maskedLM.merge(block) { $1 }
        let recipe: [String: Any] = [
            "plugin": "bert", "objective": "masked-lm",
            "model": ["hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 32],
            "data": ["train": ["source": root.appendingPathComponent("corpora/en-de.dev.en").path, "target": root.appendingPathComponent("corpora/en-de.dev.de").path]],
            "tokenizer": ["model": root.appendingPathComponent("models/en-de/source.spm").path, "vocab_size": 8000, "model_type": "unigram", "character_coverage": 1.0],
            "training": ["max_length": 32, "learning_rate": 0.003, "warmup_steps": 0, "steps": 3, "seed": 1, "schedule": "constant", "label_smoothing": 0.0],
            "masked_lm": maskedLM,
            "output": folder.appendingPathComponent("model").path,
        ]
        let url = folder.appendingPathComponent("recipe.json")
        try JSONSerialization.data(withJSONObject: recipe).write(to: url)
        return url.path
    }

    @Test func tinyMaskedLMRecipeTrains() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-train-mlm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGlossa(["train", "--recipe", try recipe(in: folder, block: [:]), "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("mask token the pad id"), "\(run.stderr)")
        let model = folder.appendingPathComponent("model")
        for name in ["config.json", "model.safetensors", "tokenizer.model", "training.json", "curves.svg"] {
            #expect(FileManager.default.fileExists(atPath: model.appendingPathComponent(name).path), "\(name)")
        }
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: model.appendingPathComponent("config.json"))) as? [String: Any])
        #expect(config["architectures"] as? [String] == ["BertForMaskedLM"])
        // The masked LM's encoder opens as an embedder, so it can start a classifier or be used as it is.
        let embed = try runGlossa(["embed", "--model", model.path], stdin: Data("Open the file.\n".utf8))
        #expect(embed.status == 0, "\(embed.stderr)")
    }

    @Test func badBlocksAreRefusedByName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-train-mlm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (block, fragment) in [(["mask_probabilty": 0.2], "mask_probability"), (["mask_probability": 0], "mask_probability must be in"),
                                  (["mask_probability": 1.5], "mask_probability must be in"), (["mask_share": 0.95], "at most 1"),
                                  (["random_share": -0.1], "random_share must be in"), (["format": "csv"], "format must be text or tsv"),
                                  (["train": [String]()], "at least one file")] as [([String: Any], String)] {
            let run = try runGlossa(["train", "--recipe", try recipe(in: folder, block: block)])
            #expect(run.status != 0 && run.stderr.contains(fragment), "\(block): \(run.stderr)")
        }
    }
}
