import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// `glossa compare` on a tiny transformer recipe and a tiny RNN recipe over a few dozen lines of the en-de corpus.
@Suite(.serialized) struct CompareCLITests {
    /// A folder with a small corpus (train, dev, and a test set mixing both origins) and two recipes.
    struct Fixture {
        let folder: URL
        var output: URL { folder.appendingPathComponent("report") }
        var recipeA: URL { folder.appendingPathComponent("transformer.json") }
        var recipeB: URL { folder.appendingPathComponent("rnn.json") }

        init() throws {
            let root = GlossaRunner.repositoryRoot
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-compare-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            func lines(_ name: String) throws -> [Substring] {
                try String(contentsOf: root.appendingPathComponent("corpora/\(name)"), encoding: .utf8).split(separator: "\n")
            }
            func write(_ name: String, _ content: [Substring]) throws -> String {
                let url = folder.appendingPathComponent(name)
                try Data((content.joined(separator: "\n") + "\n").utf8).write(to: url)
                return url.path
            }
            var files: [String: String] = [:]
            for side in ["en", "de", "src"] {
                files["train.\(side)"] = try write("train.\(side)", Array(try lines("en-de.train.\(side)").prefix(40)))
                files["dev.\(side)"] = try write("dev.\(side)", Array(try lines("en-de.dev.\(side)").prefix(8)))
                // Both origins of the test set: Ding sentences come first, help paragraphs last.
                let test = try lines("en-de.test.\(side)")
                files["test.\(side)"] = try write("test.\(side)", Array(test.prefix(6) + test.suffix(6)))
            }
            let transformer: [String: Any] = [
                "d_model": 16, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2, "decoder_attention_heads": 2,
                "encoder_ffn_dim": 32, "decoder_ffn_dim": 32, "max_position_embeddings": 64, "dropout": 0.0,
            ]
            let rnn: [String: Any] = [
                "cell": "gru", "embedding_dim": 16, "hidden_size": 16, "encoder_layers": 1, "decoder_layers": 1, "bidirectional": true,
                "attention": "bahdanau", "input_feeding": true, "dropout": 0.0,
            ]
            func recipe(plugin: String, model: [String: Any], seed: Int) -> [String: Any] {
                [
                    "plugin": plugin,
                    "model": model,
                    "data": [
                        "train": ["source": files["train.en"]!, "target": files["train.de"]!, "origin": files["train.src"]!],
                        "dev": ["source": files["dev.en"]!, "target": files["dev.de"]!, "origin": files["dev.src"]!],
                        "test": ["source": files["test.en"]!, "target": files["test.de"]!, "origin": files["test.src"]!],
                    ],
                    "tokenizer": ["model": root.appendingPathComponent("models/en-de/source.spm").path, "vocab_size": 8000,
                                  "model_type": "unigram", "character_coverage": 1.0],
                    "training": ["max_tokens": 200, "max_length": 40, "learning_rate": 0.003, "warmup_steps": 2, "steps": 100,
                                 "validation_lines": 3, "checkpoint_every": 2, "average_last": 2, "seed": seed],
                    "output": folder.appendingPathComponent("unused").path,
                ]
            }
            try JSONSerialization.data(withJSONObject: recipe(plugin: "marian", model: transformer, seed: 1)).write(to: recipeA)
            // A different seed, which compare must replace by the first recipe's so the batches match.
            try JSONSerialization.data(withJSONObject: recipe(plugin: "rnn", model: rnn, seed: 7)).write(to: recipeB)
        }

        func compare(_ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
            try runGlossa(["compare", "--recipe", recipeA.path, "--recipe", recipeB.path, "--budget-tokens", "900", "--threads", "1",
                           "--output", output.path, "--beam-size", "2", "--max-length", "12"] + extra)
        }

        func history(_ run: String) throws -> [[String: Any]] {
            let data = try Data(contentsOf: output.appendingPathComponent("runs/\(run)/training.json"))
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            return object?["history"] as? [[String: Any]] ?? []
        }

        func modified(_ path: String) throws -> Date? {
            try FileManager.default.attributesOfItem(atPath: output.appendingPathComponent(path).path)[.modificationDate] as? Date
        }
    }

    /// Whether `text` is well-formed XML with an `svg` root.
    func isSVG(_ text: String) -> Bool {
        #if canImport(FoundationXML) || canImport(Darwin)
        final class Root: NSObject, XMLParserDelegate {
            var name: String?
            func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                if name == nil { name = element }
            }
        }
        let parser = XMLParser(data: Data(text.utf8))
        let root = Root()
        parser.delegate = root
        return parser.parse() && root.name == "svg"
        #else
        return text.hasPrefix("<svg") && text.hasSuffix("</svg>\n")
        #endif
    }

    @Test func twoTinyRecipesGiveAReportAndResumeWithoutRetraining() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(at: fixture.folder) }
        let first = try fixture.compare(["--parallel"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("rnn uses transformer's seed"), "\(first.stderr)")

        let report = try String(contentsOf: fixture.output.appendingPathComponent("report.md"), encoding: .utf8)
        for needle in ["`transformer`", "`rnn`", "test BLEU / chrF, greedy", "test BLEU / chrF, beam 2", "## By corpus origin",
                       "| ding | 6 |", "| lohelp | 6 |", "## By source length", "| 1–10 |", "## Fairness", "900 target tokens each",
                       "the runs trained at the same time", "peak memory", "(its recipe"] {
            #expect(report.contains(needle), "report.md lacks \(needle)")
        }
        for name in ["dev-chrf-minutes", "dev-chrf-tokens", "dev-loss-minutes", "dev-loss-tokens", "translation-speed", "parameters",
                     "peak-memory", "test-chrf-by-length"] {
            let svg = try String(contentsOf: fixture.output.appendingPathComponent("\(name).svg"), encoding: .utf8)
            #expect(isSVG(svg), "\(name).svg is not an SVG document")
            #expect(report.contains("](\(name).svg)"), "report.md does not show \(name).svg")
        }
        #expect(try String(contentsOf: fixture.output.appendingPathComponent("dev-loss-tokens.svg"), encoding: .utf8).contains("<polyline"))

        // Same batches in the same order: both runs validate at the same token counts, and both spent the budget.
        let transformer = try fixture.history("transformer"), rnn = try fixture.history("rnn")
        let tokens = transformer.compactMap { $0["tokens"] as? Int }
        #expect(tokens.count >= 3 && tokens == rnn.compactMap { $0["tokens"] as? Int }, "\(transformer) \(rnn)")
        #expect((tokens.last ?? 0) >= 900)
        let dev = (transformer + rnn).map { $0["dev"] as? [String: Double] ?? [:] }
        #expect(dev.allSatisfy { $0["loss"] != nil && $0["chrf"] != nil })
        for history in [transformer, rnn] {
            let losses = history.compactMap { ($0["dev"] as? [String: Double])?["loss"] }
            #expect((losses.last ?? 0) < (losses.first ?? 0), "dev loss did not fall: \(losses)")
        }

        // Running it again trains nothing and reuses the evaluations.
        let trained = try fixture.modified("runs/transformer/training.json")
        let again = try fixture.compare()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("transformer has finished training; not training it again"), "\(again.stderr)")
        #expect(!again.stderr.contains("translating the test set"), "\(again.stderr)")
        #expect(try fixture.modified("runs/transformer/training.json") == trained)

        // A run that stopped before writing its model resumes from its checkpoint.
        try FileManager.default.removeItem(at: fixture.output.appendingPathComponent("runs/rnn/training.json"))
        let resumed = try fixture.compare()
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming rnn") && resumed.stderr.contains("[rnn] resumed from step-"), "\(resumed.stderr)")
        #expect(!resumed.stderr.contains("training transformer"), "\(resumed.stderr)")
        #expect(try fixture.history("rnn").compactMap { $0["tokens"] as? Int } == tokens)

        // Other settings in the same folder are refused rather than mixed.
        let changed = try runGlossa(["compare", "--recipe", fixture.recipeA.path, "--recipe", fixture.recipeB.path, "--budget-tokens", "500",
                                     "--threads", "1", "--output", fixture.output.path])
        #expect(changed.status != 0)
        #expect(changed.stderr.contains("with other settings"), "\(changed.stderr)")
    }

    @Test func badRecipesGiveClearErrors() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(at: fixture.folder) }
        var recipe = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.recipeA)) as? [String: Any] ?? [:]
        recipe["plugin"] = "no-such-model"
        let unknown = fixture.folder.appendingPathComponent("unknown.json")
        try JSONSerialization.data(withJSONObject: recipe).write(to: unknown)
        let run = try runGlossa(["compare", "--recipe", fixture.recipeA.path, "--recipe", unknown.path, "--output", fixture.output.path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("unknown.json") && run.stderr.contains("no-such-model") && run.stderr.contains("marian"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: fixture.output.path))

        let missing = try runGlossa(["compare", "--recipe", fixture.recipeA.path, "--recipe", "/nonexistent/recipe.json"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("/nonexistent/recipe.json"), "\(missing.stderr)")

        let alone = try runGlossa(["compare", "--recipe", fixture.recipeA.path])
        #expect(alone.status != 0)
        #expect(alone.stderr.contains("at least two recipes"), "\(alone.stderr)")

        recipe["plugin"] = "bert"
        let encoder = fixture.folder.appendingPathComponent("encoder.json")
        try JSONSerialization.data(withJSONObject: recipe).write(to: encoder)
        let wrongKind = try runGlossa(["compare", "--recipe", fixture.recipeA.path, "--recipe", encoder.path])
        #expect(wrongKind.status != 0)
        #expect(wrongKind.stderr.contains("compares translators"), "\(wrongKind.stderr)")
    }
}
