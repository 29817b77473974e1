import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor

/// `glossa quantize`'s int8 copy of a directory: a quarter of the size, loaded back as codes × scales,
/// run in int8, and as good as the float directory.
@Suite struct Int8CheckpointTests {
    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("glossa-int8-\(UUID().uuidString)")
    }

    @Test func int8CopyIsSmallAndTranslatesAsWell() throws {
        let source = OpusFixture.directory("opus-finetuned"), output = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let (float, int8) = try Int8Checkpoint.write(from: source, to: output)
        #expect(Double(int8) < 0.4 * Double(float), "\(int8) bytes against \(float)")
        #expect(Int8Checkpoint.isQuantized(output) && !Int8Checkpoint.isQuantized(source))

        let quantized = try Translator.load(output, registry: builtinPlugins)
        try quantized.model.prepareInference(.int8)
        let original = try Translator.load(source, registry: builtinPlugins)
        let lines = try OpusFixture.expected("opus-finetuned").greedy.map(\.source)
        var search = original.defaultSearch()
        search.beamSize = 1
        let references = try String(contentsOf: Int8TranslationTests.references, encoding: .utf8).split(separator: "\n").prefix(lines.count).map(String.init)
        let chrF = ChrF()
        let floatScore = try chrF.corpusScore(hypotheses: try original.translate(lines, search: search).map { $0[0].text }, references: references).score
        let int8Score = try chrF.corpusScore(hypotheses: try quantized.translate(lines, search: search).map { $0[0].text }, references: references).score
        #expect(abs(int8Score - floatScore) <= 0.5, "chrF \(floatScore) float32, \(int8Score) from the int8 copy")
    }

    /// Stored codes come back exactly: dequantized and quantized again, each matrix gives its codes.
    @Test func codesRoundTrip() throws {
        var generator = SeededGenerator(seed: 3)
        let matrix = Tensor.normal([7, 33], std: 0.5, using: &generator)
        let (codes, scales) = Int8Checkpoint.quantize(matrix)
        let file = try Safetensors.read(data: try Safetensors.encode([("w", codes), ("w_scale", scales)],
                                                                      metadata: [Int8Checkpoint.metadataKey: Int8Checkpoint.scheme], dtypes: ["w": .i8]))
        #expect(file.info(named: "w")?.dtype == .i8)
        let restored = try #require(try Int8Checkpoint.dequantized(file)["w"])
        #expect(Int8Checkpoint.quantize(restored).codes.scalars == codes.scalars)
        #expect(throws: (any Error).self) { _ = try Safetensors.encode([("w", matrix)], dtypes: ["w": .i8]) }
    }

    @Test func quantizingTwiceOrInPlaceIsRefused() throws {
        let source = OpusFixture.directory("opus-shuffled"), output = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        try Int8Checkpoint.write(from: source, to: output)
        #expect(throws: GlossaError.self) { try Int8Checkpoint.write(from: output, to: Self.temporaryDirectory()) }
        #expect(throws: GlossaError.self) { try Int8Checkpoint.write(from: source, to: source) }
    }
}
