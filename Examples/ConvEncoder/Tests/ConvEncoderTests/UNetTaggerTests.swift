import ConvEncoder
import Foundation
import Glossa
import GlossaNN
import GlossaTensor
import GlossaTestSupport
import Testing

/// The U-Net tagger against the SDK's conformance kit for every up path, the task's labels by hand, and a
/// short training run on the task whose loss must fall.
@Suite struct UNetTaggerTests {
    static let alphabet = (0..<18).map { String(UnicodeScalar(UInt8(97 + $0))) }

    static let configurations: [UNetConfiguration] = UNetUpsampling.allCases.map {
        UNetConfiguration(alphabet: alphabet, labels: CharacterTagging.labels, hiddenSize: 8, kernelSize: 3, levels: 2,
                          upsampling: $0, upKernelSize: $0 == .transposed ? 4 : 2, seed: 3)
    } + [
        UNetConfiguration(alphabet: alphabet, labels: CharacterTagging.labels, hiddenSize: 8, kernelSize: 3, levels: 1, blocksPerLevel: 2,
                          downsampling: .stride, upsampling: .transposed, upKernelSize: 3, seed: 4),
        UNetConfiguration(alphabet: alphabet, labels: CharacterTagging.labels, hiddenSize: 8, kernelSize: 3, levels: 0, bottleneckBlocks: 3, seed: 5),
    ]

    /// Batch-invariance and masking (padding never leaks into a real position, at any level), gradients reaching
    /// every parameter, and a save/load round trip through the plugin's factory.
    @Test(arguments: configurations)
    func conformance(_ configuration: UNetConfiguration) throws {
        let model = try UNetTagger(configuration)
        try checkEncoderConformance(model, ids: [[2, 3, 4], [5, 6, 7, 8, 9, 10, 11, 12, 13], [14], [15, 16, 17, 18, 19]], padId: 0, tolerance: 1e-4)
        let batch = TokenBatch([(0..<23).map { 2 + $0 % 18 }, (0..<9).map { 19 - $0 }], padId: 0)
        try checkGradientFlow(model) { try model.logits(batch) }
        try checkSaveLoadRoundTrip(model, plugin: try PluginRegistry(convEncoderPlugins).plugin(named: "conv-unet-tagger"),
                                   ids: [[3, 4, 5, 6, 7, 8, 9]], padId: 0)
        let logits = try model.logits(batch)
        #expect(logits.shape == [2, 23, CharacterTagging.labels.count])
    }

    @Test func badConfigurationsThrowASentence() {
        let base = UNetConfiguration(alphabet: [], labels: CharacterTagging.labels, hiddenSize: 4)
        var unpoolWithStride = base
        unpoolWithStride.downsampling = .stride
        unpoolWithStride.upsampling = .maxUnpool
        var noBlocks = base
        noBlocks.levels = 0
        noBlocks.bottleneckBlocks = 0
        var twice = base
        twice.alphabet = ["a", "a"]
        for bad in [unpoolWithStride, noBlocks, twice] {
            #expect(throws: GlossaError.self) { try UNetTagger(bad) }
        }
        #expect(throws: GlossaError.self) { try UNetTagger(base).encode(TokenBatch([[7]], padId: 0), context: ForwardContext()) }
    }

    @Test func theTaskByHand() {
        let example = CharacterTagging.example("Open file.txt, then OK? Version 3.5 is out...")
        #expect(String(example.characters) == "open file.txt then ok version 3.5 is out")
        let names = example.labels.map { CharacterTagging.labels[$0] }
        #expect(names[0] == "CAP" && names[1...3].allSatisfy { $0 == "O" })
        #expect(names[12] == "COMMA", "the comma after file.txt")
        #expect(names[19] == "CAP" && names[20] == "CAP+QUESTION", "OK?")
        #expect(names.last == "PERIOD", "an ellipsis is one period")
        #expect(CharacterTagging.restore(example.characters, labels: example.labels) == "Open file.txt, then OK? Version 3.5 is out.")
        #expect(CharacterTagging.example("a , b").characters.count == 5, "a mark after a space is not sentence punctuation")
    }

    @Test func scoresCountPerAttribute() {
        // gold: CAP, O, PERIOD; predicted: CAP+PERIOD, O, O.
        let scores = TaggingScores(gold: [[4, 0, 1]], predicted: [[5, 0, 0]])
        #expect(scores.attributes[0].f1 == 1)
        #expect(scores.attributes[1].truePositives == 0 && scores.attributes[1].falsePositives == 1 && scores.attributes[1].falseNegatives == 1)
        #expect(abs(scores.accuracy - 1.0 / 3) < 1e-12)
    }

    /// A 16-wide two-level U-Net learns the task on a dozen sentences: the loss of the last steps is well below
    /// that of the first.
    @Test func trainingOnTheTaskLowersTheLoss() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("conv-unet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let lines = ["Open the file.", "Close the window, then save.", "Is it over?", "They come in all shapes and sizes.",
                     "Would you like to have dinner with me?", "He took leave.", "Print the page, please.", "Copy the cells."]
        let text = folder.appendingPathComponent("train.en")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: text)
        let recipe = """
            {"plugin": "conv-unet-tagger", "model": {"hidden_size": 16, "kernel_size": 3, "levels": 2, "upsampling": "max_unpool", "seed": 2},
             "data": {"train": "\(text.path)", "dev": "\(text.path)"},
             "training": {"batch_size": 4, "max_length": 40, "learning_rate": 0.01, "warmup_steps": 5, "steps": 60, "log_every": 10, "threads": 1},
             "output": "\(folder.appendingPathComponent("model").path)"}
            """
        let file = folder.appendingPathComponent("recipe.json")
        try Data(recipe.utf8).write(to: file)
        let (_, report) = try trainTagger(try TaggerRecipe.load(file.path)) { _ in }
        let losses = report.losses.map { $0[1] }
        #expect(report.steps == 60 && losses.count == 6)
        #expect(try #require(losses.last) < 0.5 * losses[0], "\(losses)")
        #expect(try #require(report.dev).attributes[0].f1 > 0.5, "capitals are learnt on the training lines")
    }
}
