import Foundation
import Testing

/// `glossa classify` with the tiny transformers-made BertForSequenceClassification fixture.
@Suite struct ClassifyCLITests {
    let model = GlossaRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/bert-classifier-tiny").path
    /// The fixture's most probable label for each text (expected.json).
    static let texts = ["the house is good", "hello world", "", "a longer sentence about the small cat and the dog"]
    static let labels = ["negative", "neutral", "negative", "negative"]

    func file(_ text: String, _ ext: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-classify-\(UUID().uuidString).\(ext)")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test func oneLinePerInputLine() throws {
        let run = try runGlossa(["classify", "--model", model], stdin: Data((Self.texts.joined(separator: "\n") + "\n").utf8))
        #expect(run.status == 0, "\(run.stderr)")
        let lines = outputLines(run.stdout)
        try #require(lines.count == Self.texts.count, "one line per input line, the empty one included: \(run.stdout)")
        for (line, label) in zip(lines, Self.labels) {
            let fields = line.split(separator: "\t").map(String.init)
            #expect(fields.count == 2 && fields[0] == label && (Double(fields[1]).map { $0 > 0.4 && $0 <= 1 } ?? false), "\(line)")
        }
    }

    @Test func topKAndJSONLines() throws {
        let tsv = try runGlossa(["classify", "--model", model, "--top-k", "2", Self.texts[0]])
        #expect(tsv.status == 0, "\(tsv.stderr)")
        let fields = outputLines(tsv.stdout).first?.split(separator: "\t").map(String.init) ?? []
        #expect(fields.count == 4 && fields[0] == "negative" && fields[2] == "neutral", "\(tsv.stdout)")

        let jsonl = try runGlossa(["classify", "--model", model, "--format", "jsonl", "--top-k", "10"], stdin: Data("hello world\nthe house is good\n".utf8))
        #expect(jsonl.status == 0, "\(jsonl.stderr)")
        let objects = try outputLines(jsonl.stdout).map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        try #require(objects.count == 2)
        let predictions = try #require(objects[0]["predictions"] as? [[String: Any]])
        #expect(predictions.count == 3, "a top-k above the label count gives every label")
        #expect(predictions.first?["label"] as? String == "neutral")
        let total = predictions.compactMap { $0["probability"] as? Double }.reduce(0, +)
        #expect(abs(total - 1) < 1e-4)
    }

    @Test func evaluateReportsScoresAndWritesTheMatrix() throws {
        let data = try file(zip(Self.labels, Self.texts).map { "\($0)\t\($1)" }.joined(separator: "\n") + "\npositive\thello world\n", "tsv")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-classify-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGlossa(["classify", "--model", model, "--evaluate", data, "--report", folder.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("accuracy 0.8000, macro-F1"), "\(run.stdout)")
        #expect(run.stdout.contains("| positive | 0.0000 | 0.0000 | 0.0000 | 1 |"), "\(run.stdout)")
        let svg = try String(contentsOf: folder.appendingPathComponent("confusion.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("evaluation.json"))) as? [String: Any])
        #expect(json["confusion"] as? [[Int]] == [[3, 0, 0], [0, 1, 0], [0, 1, 0]])
    }

    @Test func badFlagsAndInputAreClearErrors() throws {
        for (args, fragment) in [(["--top-k", "0"], "--top-k must be in 1...1000000"), (["--batch-size", "0"], "--batch-size must be in"),
                                 (["--format", "xml"], "--format"), (["--report", "/tmp/x"], "--report needs --evaluate")] {
            let run = try runGlossa(["classify", "--model", model] + args, stdin: Data("a\n".utf8))
            #expect(run.status == 64 && run.stderr.contains(fragment), "\(args): \(run.status) \(run.stderr)")
        }
        let missing = try runGlossa(["classify", "--model", "/nonexistent-model-dir"], stdin: Data())
        #expect(missing.status == 64 && missing.stderr.contains("is not a directory"))
        let notClassifier = try runGlossa(["classify", "--model", GlossaRunner.repositoryRoot.appendingPathComponent("Tests/Fixtures/bert-tiny").path], stdin: Data("a\n".utf8))
        #expect(notClassifier.status == 1 && notClassifier.stderr.contains("id2label"), "\(notClassifier.stderr)")
        let noTab = try file("negative the house\n", "tsv")
        let bad = try runGlossa(["classify", "--model", model, "--evaluate", noTab])
        #expect(bad.status == 1 && bad.stderr.contains(":1: expected label<TAB>text"), "\(bad.stderr)")
        let unknown = try file("happy\tthe house\n", "tsv")
        let unknownRun = try runGlossa(["classify", "--model", model, "--evaluate", unknown])
        #expect(unknownRun.status == 1 && unknownRun.stderr.contains("\"happy\" is not one of"), "\(unknownRun.stderr)")
        let invalid = try runGlossa(["classify", "--model", model], stdin: Data([0x61, 0x0A, 0xFF, 0xFE, 0x0A]))
        #expect(invalid.status == 1 && invalid.stderr.contains("--replace-invalid"), "\(invalid.stderr)")
        #expect(outputLines(invalid.stdout).count == 1, "the line before the bad one is still classified")
    }
}

/// `glossa train` with `"objective": "classification"`, then `glossa classify` on what it wrote.
@Suite struct TrainClassifierCLITests {
    func recipe(in folder: URL, block: [String: Any]) throws -> String {
        let root = GlossaRunner.repositoryRoot
        let rows = ["de\tDas Haus ist klein.", "en\tThe house is small.", "de\tÖffnen Sie die Datei.", "en\tOpen the file.",
                    "de\tDer Hund schläft.", "en\tThe dog sleeps.", "de\tWählen Sie eine Farbe.", "en\tChoose a colour."]
        let data = folder.appendingPathComponent("labels.tsv")
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: data)
        var classification: [String: Any] = ["train": data.path, "dev": data.path, "batch_size": 4]
        classification.merge(block) { $1 }
        let recipe: [String: Any] = [
            "plugin": "bert", "objective": "classification",
            "model": ["hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 32],
            "data": ["train": ["source": root.appendingPathComponent("corpora/en-de.dev.en").path, "target": root.appendingPathComponent("corpora/en-de.dev.de").path]],
            "tokenizer": ["model": root.appendingPathComponent("models/en-de/source.spm").path, "vocab_size": 8000, "model_type": "unigram", "character_coverage": 1.0],
            "training": ["max_length": 32, "learning_rate": 0.003, "warmup_steps": 0, "steps": 4, "seed": 1, "schedule": "constant"],
            "classification": classification,
            "output": folder.appendingPathComponent("model").path,
        ]
        let url = folder.appendingPathComponent("recipe.json")
        try JSONSerialization.data(withJSONObject: recipe).write(to: url)
        return url.path
    }

    @Test func tinyClassifierRecipeTrainsAndClassifies() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-train-classifier-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try runGlossa(["train", "--recipe", try recipe(in: folder, block: ["class_weights": "balanced", "pooling": "mean"]), "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("2 labels: de, en") && run.stderr.contains("dev: accuracy"), "\(run.stderr)")
        let model = folder.appendingPathComponent("model")
        for name in ["README.md", "confusion-dev.svg", "training.json", "config.json", "model.safetensors", "tokenizer.model"] {
            #expect(FileManager.default.fileExists(atPath: model.appendingPathComponent(name).path), "\(name)")
        }
        let classify = try runGlossa(["classify", "--model", model.path, "--top-k", "2"], stdin: Data("Open the door.\nÖffnen Sie die Tür.\n".utf8))
        #expect(classify.status == 0, "\(classify.stderr)")
        #expect(outputLines(classify.stdout).map { $0.split(separator: "\t").count } == [4, 4])
    }

    @Test func badBlocksAreRefusedByName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-train-classifier-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (block, fragment) in [(["clas_weights": "balanced"], "clas_weights"), (["class_weights": "even"], "class_weights must be"),
                                  (["pooling": "median"], "unknown pooling"), (["dropout": 1.5], "dropout must be in"),
                                  (["labels": ["de"]], "at least 2 distinct")] as [([String: Any], String)] {
            let run = try runGlossa(["train", "--recipe", try recipe(in: folder, block: block)])
            #expect(run.status != 0 && run.stderr.contains(fragment), "\(block): \(run.stderr)")
        }
    }
}
