import Foundation
import Glossa
import GlossaBuiltins
import Testing

/// The crash and silent-garbage cases of issue 18, each replayed through the `glossa` binary.
@Suite struct HardeningCLITests {
    static let root = GlossaRunner.repositoryRoot
    static let marian = root.appendingPathComponent("Tests/Fixtures/marian-tiny")

    func scratch() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-hardening-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A copy of the tiny Marian fixture with `change` applied to its config.json.
    func marianCopy(in folder: URL, _ change: (inout [String: Any]) -> Void) throws -> String {
        let copy = folder.appendingPathComponent("model-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.marian, to: copy)
        let file = copy.appendingPathComponent("config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        change(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: file)
        return copy.path
    }

    @Test(arguments: [("d_model", 1e9), ("vocab_size", 1e12), ("max_position_embeddings", 1e8), ("decoder_layers", 100_000)])
    func configSizesAreCheckedBeforeAnythingIsAllocated(_ key: String, _ value: Double) throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try marianCopy(in: folder) { config in
            config[key] = value
            if key == "vocab_size" { config["decoder_vocab_size"] = value }
        }
        let run = try runGlossa(["translate", "--model", model, "--threads", "1", "Hello."])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("parameters") && (run.stderr.contains("memory") || run.stderr.contains("do not match the checkpoint")),
                "\(run.stderr)")
    }

    /// `"model": {}` gives Llama-7B's defaults, about 107 GB to train; a 65536-wide model is too big for any machine.
    @Test(arguments: [[String: Int](), ["hidden_size": 65536, "intermediate_size": 65536]])
    func aFreshModelTooBigForTheMachineIsRefusedWithItsNumbers(_ model: [String: Int]) throws {
        if model.isEmpty && ProcessInfo.processInfo.physicalMemory > 100_000_000_000 { return }
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = Self.root.appendingPathComponent("corpora/en-de.dev.en").path
        let recipe: [String: Any] = [
            "plugin": "causal-lm", "objective": "nll", "model": model,
            "data": ["train": ["source": corpus, "target": corpus]],
            "tokenizer": ["model": Self.root.appendingPathComponent("models/en-de/source.spm").path, "vocab_size": 8000,
                          "model_type": "unigram", "character_coverage": 1.0],
            "training": ["steps": 1], "output": folder.appendingPathComponent("out").path,
        ]
        let file = folder.appendingPathComponent("recipe.json")
        try JSONSerialization.data(withJSONObject: recipe).write(to: file)
        let run = try runGlossa(["train", "--recipe", file.path, "--threads", "1"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("parameters") && run.stderr.contains("more than this machine's"), "\(run.stderr)")
    }

    @Test func recipeFieldsAreRangeChecked() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let base: [String: Any] = [
            "plugin": "marian", "model": [String: Any](),
            "data": ["train": ["source": "a", "target": "b"]],
            "tokenizer": ["model": "t.model", "vocab_size": 100, "model_type": "unigram", "character_coverage": 1.0],
            "training": ["steps": 1], "output": "out",
        ]
        let cases: [(String, (inout [String: Any]) -> Void, String)] = [
            ("threads", { r in r["training"] = ["steps": 1, "threads": 2147483648] }, "threads"),
            ("max_tokens", { r in r["training"] = ["steps": 1, "max_tokens": 9223372036854775807] }, "max_tokens"),
            ("dtype", { r in r["dtype"] = "int4" }, "dtype"),
            ("output", { r in r["output"] = "" }, "output"),
            ("epsilon", { r in r["training"] = ["steps": 1, "epsilon": -1] }, "epsilon"),
            ("vocab_size", { r in r["tokenizer"] = ["model": "t", "vocab_size": 0, "model_type": "unigram", "character_coverage": 1.0] }, "vocab_size"),
        ]
        for (name, change, message) in cases {
            var recipe = base
            change(&recipe)
            let file = folder.appendingPathComponent("\(name).json")
            try JSONSerialization.data(withJSONObject: recipe).write(to: file)
            let run = try runGlossa(["train", "--recipe", file.path])
            #expect(run.status == 1 && run.stderr.contains(message), "\(name): \(run.status) \(run.stderr)")
        }
    }

    /// A decoder-only model directory of the given vocabulary with the SentencePiece fixture as its tokenizer.
    func languageModel(vocabulary: Int, positions: Int = 64, in folder: URL) throws -> String {
        let plugin = try builtinPlugins.plugin(named: "causal-lm")
        guard case .decoderOnly(let make) = plugin.factory else { throw RunnerError(description: "causal-lm is not a language model") }
        let json = """
            {"vocab_size": \(vocabulary), "hidden_size": 16, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
             "max_position_embeddings": \(positions), "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3}
            """
        let model = try make(PluginConfiguration(json: Data(json.utf8)))
        let directory = folder.appendingPathComponent("lm-\(vocabulary)-\(positions)")
        try ModelDirectory.save(model, to: directory)
        try FileManager.default.copyItem(atPath: GlossaRunner.tokenizerModel, toPath: directory.appendingPathComponent("tokenizer.model").path)
        return directory.path
    }

    @Test func aReferenceOfAnotherVocabularyIsRefusedAtLoad() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let policy = try languageModel(vocabulary: 1000, in: folder), reference = try languageModel(vocabulary: 1200, in: folder)
        let data = folder.appendingPathComponent("pairs.jsonl")
        try Data(#"{"prompt": "Hallo", "chosen": "Welt", "rejected": "Hund"}"#.utf8 + [0x0A]).write(to: data)
        let run = try runGlossa(["align", "preference", "--model", policy, "--reference", reference, "--data", data.path, "--threads", "1"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("vocabulary of 1200") && run.stderr.contains("1000"), "\(run.stderr)")
        let same = try runGlossa(["align", "preference", "--model", policy, "--reference", policy, "--data", data.path, "--threads", "1"])
        #expect(same.status == 0, "\(same.stderr)")
    }

    @Test func outputsFollowTheOneRule() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("source.txt"), target = folder.appendingPathComponent("target.txt")
        try Data("Hello.\nGood day.\n".utf8).write(to: source)
        try Data("Hallo.\nGuten Tag.\n".utf8).write(to: target)

        // An output that is an input is refused, and the input is left as it was.
        let same = try runGlossa(["align", "sft-data", "--source", source.path, "--target", target.path, "--output", target.path])
        #expect(same.status != 0 && same.stderr.contains("is the input"), "\(same.stderr)")
        #expect(try String(contentsOf: target, encoding: .utf8) == "Hallo.\nGuten Tag.\n")
        let eval = try runGlossa(["eval", "--model", Self.marian.path, "--source", source.path, "--references", target.path,
                                  "--output", source.path, "--threads", "1"])
        #expect(eval.status != 0 && eval.stderr.contains("is the input"), "\(eval.stderr)")

        // A symbolic link is followed: the file it names gets the output, the link stays a link.
        let real = folder.appendingPathComponent("real.jsonl"), link = folder.appendingPathComponent("link.jsonl")
        try Data("old\n".utf8).write(to: real)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: real.path)
        let linked = try runGlossa(["align", "sft-data", "--source", source.path, "--target", target.path, "--output", link.path])
        #expect(linked.status == 0, "\(linked.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == real.path)
        #expect(try String(contentsOf: real, encoding: .utf8).contains("Guten Tag"))

        // A device is written through, never replaced; a full one is an error.
        let null = try runGlossa(["embed", "--model", Self.root.appendingPathComponent("Tests/Fixtures/bert-tiny").path,
                                  "--output", "/dev/null", "--threads", "1", "Hello."])
        #expect(null.status == 0, "\(null.stderr)")
        #expect((try FileManager.default.attributesOfItem(atPath: "/dev/null"))[.type] as? FileAttributeType == .typeCharacterSpecial)
        let full = try runGlossa(["align", "sft-data", "--source", source.path, "--target", target.path, "--output", "/dev/full"])
        #expect(full.status == 1 && full.stderr.contains("No space left on device"), "\(full.stderr)")

        // A folder is refused by name.
        let folderOutput = try runGlossa(["align", "sft-data", "--source", source.path, "--target", target.path, "--output", folder.path])
        #expect(folderOutput.status == 1 && folderOutput.stderr.contains("folder"), "\(folderOutput.stderr)")
    }

    @Test func inputsMayBePipesAndMismatchesPrintNoTopLevelUsage() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("hypotheses.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let references = folder.appendingPathComponent("references.txt")
        try Data("a b c\n".utf8).write(to: references)
        // A writer on the FIFO, as a process substitution would be.
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "printf 'a b c\\n' > '\(fifo)'"]
        try writer.run()
        let run = try runGlossa(["score", "--hypotheses", fifo, "--references", references.path])
        writer.waitUntilExit()
        #expect(run.status == 0 && run.stdout.contains("chrF2 = 100.00"), "\(run.stderr)")

        try Data("a\nb\n".utf8).write(to: folder.appendingPathComponent("two.txt"))
        let mismatch = try runGlossa(["score", "--hypotheses", folder.appendingPathComponent("two.txt").path, "--references", references.path])
        #expect(mismatch.status == 1 && mismatch.stderr.contains("has 2 lines"), "\(mismatch.stderr)")
        #expect(!mismatch.stderr.contains("<subcommand>"), "\(mismatch.stderr)")
    }

    @Test func tokenizerTrainWritesItsFilesAtomically() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("text.txt")
        try Data((try String(contentsOf: Self.root.appendingPathComponent("corpora/en-de.dev.en"), encoding: .utf8)).utf8).write(to: text)
        let prefix = folder.appendingPathComponent("spm").path
        let run = try runGlossa(["tokenizer", "train", "--input", text.path, "--model-prefix", prefix, "--vocab-size", "200", "--threads", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)) == ["text.txt", "spm.model", "spm.vocab"])
        let encoded = try runGlossa(["tokenizer", "encode", "--model", prefix + ".model"], stdin: Data("Hello\n".utf8))
        #expect(encoded.status == 0 && !encoded.stdout.isEmpty, "\(encoded.stderr)")
    }

    @Test func emptyOrInconsistentVocabulariesAreRefusedAtLoad() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        for (vocab, message) in [("{}", "vocab.json is empty"), (#"{"a": 0, "b": 0, "</s>": 1}"#, "the same id"),
                                 (#"{"a": 1e12, "</s>": 0}"#, "not an integer"), (#"{"a": 0, "b": 1}"#, "no </s>")] {
            let model = try marianCopy(in: folder) { _ in }
            try Data(vocab.utf8).write(to: URL(fileURLWithPath: model).appendingPathComponent("vocab.json"))
            let run = try runGlossa(["translate", "--model", model, "--threads", "1", "Hello."])
            #expect(run.status == 1 && run.stderr.contains(message), "\(vocab): \(run.stderr)")
        }
    }

    @Test func nonFiniteWeightsAreRefusedAtLoad() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try marianCopy(in: folder) { _ in }
        let file = URL(fileURLWithPath: model).appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: file))
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any])
        let (name, entry) = try #require(header.first { $0.key != "__metadata__" && (($0.value as? [String: Any])?["dtype"] as? String) == "F32" })
        let offsets = try #require((entry as? [String: Any])?["data_offsets"] as? [Int])
        bytes.replaceSubrange((8 + headerLength + offsets[0])..<(8 + headerLength + offsets[0] + 4), with: [0x00, 0x00, 0xC0, 0x7F])  // NaN
        try Data(bytes).write(to: file)
        let run = try runGlossa(["translate", "--model", model, "--threads", "1", "Hello."])
        #expect(run.status == 1 && run.stderr.contains(name) && run.stderr.contains("nan"), "\(run.stderr)")
    }

    @Test func benchOfAMissingModelIsAnError() throws {
        let run = try runGlossa(["bench", "generate", "--model", "/nonexistent/model", "--positions", "2"])
        #expect(run.status == 1 && run.stderr.contains("/nonexistent/model"), "\(run.stderr)")
    }

    @Test func aFractionWhereACountIsNeededIsNamed() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try marianCopy(in: folder) { $0["d_model"] = 256.5 }
        let run = try runGlossa(["translate", "--model", model, "--threads", "1", "Hello."])
        #expect(run.status == 1 && run.stderr.contains("\"d_model\"") && run.stderr.contains("256.5") && !run.stderr.contains("not valid JSON"),
                "\(run.stderr)")
    }

    @Test func anEmptyLineGivesNBestLinesToo() throws {
        let run = try runGlossa(["translate", "--model", Self.marian.path, "--threads", "1", "--beam-size", "4", "--n-best", "3"],
                                stdin: Data("\nHello.\n".utf8))
        #expect(run.status == 0, "\(run.stderr)")
        let lines = outputLines(run.stdout)
        #expect(lines.filter { $0.hasPrefix("0 ||| ") }.count == 3 && lines.filter { $0.hasPrefix("1 ||| ") }.count == 3, "\(run.stdout)")
    }

    @Test func aPromptAtThePositionLimitIsAnErrorNotAnEmptyOutput() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try languageModel(vocabulary: 1000, positions: 8, in: folder)
        let long = try runGlossa(["generate", "--model", model, "--threads", "1", "--temperature", "0",
                                  "Open the file and choose the format of the paragraph you want to copy."])
        #expect(long.status == 1 && long.stderr.contains("positions") && long.stdout.isEmpty, "\(long.status) \(long.stderr)")
        let short = try runGlossa(["generate", "--model", model, "--threads", "1", "--temperature", "0", "--max-new-tokens", "20", "Open"])
        #expect(short.status == 0 && short.stderr.contains("warning") && short.stderr.contains("20 new tokens"), "\(short.stderr)")
    }
}
