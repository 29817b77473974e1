import Foundation
import Testing

/// The built `libConvEncoder.so` loaded into the stock `glossa` (built by the enclosing Glossa package) with
/// `--plugin`, end to end: listed, trained from a recipe, embedding text, and failing cleanly.
@Suite struct PluginCLITests {
    static let exampleRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let glossaRoot = exampleRoot.deletingLastPathComponent().deletingLastPathComponent()
    static let tokenizer = glossaRoot.appendingPathComponent("Tests/GlossaSentencePieceTests/Fixtures/tiny.model").path

    /// `GLOSSA_BINARY`, else the release build of the enclosing package.
    func glossa() throws -> URL {
        let path = ProcessInfo.processInfo.environment["GLOSSA_BINARY"] ?? Self.glossaRoot.appendingPathComponent(".build/release/glossa").path
        try #require(FileManager.default.isExecutableFile(atPath: path), "no glossa at \(path): run `swift build -c release` in \(Self.glossaRoot.path)")
        return URL(fileURLWithPath: path)
    }

    /// The plugin library SwiftPM built beside this test program.
    func library() throws -> String {
        let folder = Bundle.main.executableURL?.deletingLastPathComponent() ?? Self.exampleRoot.appendingPathComponent(".build/release")
        let path = folder.appendingPathComponent("libConvEncoder.so").path
        try #require(FileManager.default.fileExists(atPath: path), "\(path) is missing: run `swift build -c release` here first")
        return path
    }

    func run(_ arguments: [String], stdin: String = "") throws -> (status: Int32, stdout: String, stderr: String) {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = ["in", "out", "err"].map { folder.appendingPathComponent($0) }
        try Data(stdin.utf8).write(to: files[0])
        for file in files.dropFirst() { try Data().write(to: file) }
        let process = Process()
        process.executableURL = try glossa()
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: files[0])
        process.standardOutput = try FileHandle(forWritingTo: files[1])
        process.standardError = try FileHandle(forWritingTo: files[2])
        try process.run()
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return (status, try String(contentsOf: files[1], encoding: .utf8), try String(contentsOf: files[2], encoding: .utf8))
    }

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("conv-encoder-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func glossaListsThePlugins() throws {
        let run = try run(["--plugin", try library(), "plugins"])
        #expect(run.status == 0, "\(run.stderr)")
        let kinds = Dictionary(run.stdout.split(separator: "\n").dropFirst().map { line in
            let cells = line.split(separator: " ")
            return (String(cells[0]), String(cells[1]))
        }, uniquingKeysWith: { a, _ in a })
        #expect(kinds["conv-encoder"] == "encoder" && kinds["attention-pooling"] == "pooler" && kinds["bert"] == "encoder", "\(run.stdout)")
    }

    /// A recipe naming `conv-encoder` trains through `glossa train`, and `glossa embed` reads what it wrote.
    @Test func recipeTrainsTheEncoderAndEmbedLoadsIt() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let english = ["Open the file.", "Close the window.", "Save the document.", "Print the page.", "Copy the cells.", "Undo the change."]
        let german = ["Öffnen Sie die Datei.", "Schließen Sie das Fenster.", "Speichern Sie das Dokument.", "Drucken Sie die Seite.",
                      "Kopieren Sie die Zellen.", "Machen Sie die Änderung rückgängig."]
        let source = folder.appendingPathComponent("train.en").path, target = folder.appendingPathComponent("train.de").path
        try Data((english.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: source))
        try Data((german.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: target))
        let output = folder.appendingPathComponent("model").path
        let recipe: [String: Any] = [
            "plugin": "conv-encoder",
            "model": ["hidden_size": 16, "padding": "same", "blocks": [["kernel_size": 3], ["kernel_size": 3, "dilation": 2, "pooling": "max"]]],
            "data": ["train": ["source": source, "target": target], "dev": ["source": source, "target": target]],
            "tokenizer": ["model": Self.tokenizer, "vocab_size": 1000, "model_type": "unigram", "character_coverage": 1.0],
            "training": ["steps": 4, "learning_rate": 0.003, "warmup_steps": 1, "max_length": 16, "seed": 1, "threads": 1],
            "contrastive": ["batch_size": 3],
            "output": output,
        ]
        let recipeFile = folder.appendingPathComponent("recipe.json").path
        try JSONSerialization.data(withJSONObject: recipe).write(to: URL(fileURLWithPath: recipeFile))

        let unknown = try run(["train", "--recipe", recipeFile])
        #expect(unknown.status != 0 && unknown.stderr.contains("conv-encoder"), "without --plugin the name is unknown: \(unknown.stderr)")

        let train = try run(["--plugin", try library(), "train", "--recipe", recipeFile])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(try String(contentsOfFile: output + "/config.json", encoding: .utf8).contains("\"conv-encoder\""))

        let embed = try run(["--plugin", try library(), "embed", "--model", output], stdin: "Open the file.\nDrucken Sie die Seite.\n")
        #expect(embed.status == 0, "\(embed.stderr)")
        let vectors = try embed.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Double])
        }
        try #require(vectors.count == 2)
        for vector in vectors {
            #expect(vector.count == 16)
            #expect(abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4, "the written pipeline normalises")
        }
        #expect(vectors[0] != vectors[1])
    }

    @Test func throwingFactoryIsAnErrorNotACrash() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = #"{"glossa_plugin": "conv-encoder", "vocab_size": 10, "hidden_size": 4, "blocks": []}"#
        try Data(config.utf8).write(to: folder.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(atPath: Self.tokenizer, toPath: folder.appendingPathComponent("tokenizer.model").path)
        let run = try run(["--plugin", try library(), "embed", "--model", folder.path, "hello"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("blocks must list at least one block"), "\(run.stderr)")
    }

    /// The tagger through the stock binary: `glossa run conv-tagger train` from a recipe, then `tag` on
    /// standard input and `eval --json` on text; a plugin of another kind is refused by `run` with a sentence.
    @Test func taggerTrainsTagsAndEvaluatesThroughRun() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("train.en").path
        try Data("Open the file.\nIs it over?\nClose the window, then save.\n".utf8).write(to: URL(fileURLWithPath: text))
        let output = folder.appendingPathComponent("tagger").path
        let recipe: [String: Any] = [
            "plugin": "conv-unet-tagger",
            "model": ["hidden_size": 8, "kernel_size": 3, "levels": 1, "upsampling": "bed_of_nails"],
            "data": ["train": text, "dev": text],
            "training": ["steps": 3, "batch_size": 2, "threads": 1],
            "output": output,
        ]
        let recipeFile = folder.appendingPathComponent("recipe.json").path
        try JSONSerialization.data(withJSONObject: recipe).write(to: URL(fileURLWithPath: recipeFile))

        let train = try run(["--plugin", try library(), "run", "conv-tagger", "train", "--recipe", recipeFile])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stderr.contains("receptive field"), "\(train.stderr)")
        #expect(try String(contentsOfFile: output + "/config.json", encoding: .utf8).contains("\"conv-unet-tagger\""))

        let tag = try run(["--plugin", try library(), "run", "conv-tagger", "tag", "--model", output], stdin: "open the file\nis it over\n")
        #expect(tag.status == 0, "\(tag.stderr)")
        let lines = tag.stdout.split(separator: "\n")
        #expect(lines.count == 2 && lines.allSatisfy { $0.lowercased().filter { $0.isLetter } == $0.filter { $0.isLetter }.lowercased() }, "\(tag.stdout)")

        let evaluation = try run(["--plugin", try library(), "run", "conv-tagger", "eval", "--model", output, "--text", text, "--json"])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        let scores = try #require(try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as? [String: Any])
        #expect((scores["attributes"] as? [Any])?.count == 4 && scores["characters"] as? Int == 49, "\(evaluation.stdout)")

        let wrongKind = try run(["--plugin", try library(), "run", "conv-unet-tagger"])
        #expect(wrongKind.status != 0 && wrongKind.stderr.contains("not a command"), "\(wrongKind.stderr)")
        let badArguments = try run(["--plugin", try library(), "run", "conv-tagger", "tag"])
        #expect(badArguments.status == 1 && badArguments.stderr.contains("--model is required"), "\(badArguments.stderr)")
    }
}
