import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaMarian
import GlossaNN
import GlossaTensor

/// int8 inference (`--compute-type int8`) keeps a translator's quality: on an OPUS-layout fixture,
/// chrF against the references within 0.5 of float32's, and most lines unchanged.
@Suite struct Int8TranslationTests {
    static let references = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../corpora/en-de.dev.de").standardizedFileURL

    @Test func int8KeepsTheTranslatorsQuality() throws {
        let translator = try Translator.load(OpusFixture.directory("opus-finetuned"), registry: builtinPlugins)
        let lines = try OpusFixture.expected("opus-finetuned").greedy.map(\.source)
        let references = Array(try String(contentsOf: Self.references, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .prefix(lines.count).map(String.init))
        var search = translator.defaultSearch()
        search.beamSize = 1
        let float = try translator.translate(lines, search: search).map { $0[0].text }
        try translator.model.prepareInference(.int8)
        let int8 = try translator.translate(lines, search: search).map { $0[0].text }
        try translator.model.prepareInference(.float32)
        #expect(try translator.translate(lines, search: search).map { $0[0].text } == float, "float32 restored")
        let chrF = ChrF()
        let floatScore = try chrF.corpusScore(hypotheses: float, references: references).score
        let int8Score = try chrF.corpusScore(hypotheses: int8, references: references).score
        #expect(abs(int8Score - floatScore) <= 0.5, "chrF \(floatScore) float32, \(int8Score) int8")
        let same = zip(float, int8).filter { $0 == $1 }.count
        #expect(same >= 70, "\(same) of \(lines.count) lines unchanged by int8")
    }

    /// The output projection is quantized with the layers, and the products really run in int8.
    @Test func int8PreparesEveryLargeProduct() throws {
        let translator = try Translator.load(OpusFixture.directory("opus-shuffled"), registry: builtinPlugins)
        let model = try #require(translator.model as? MarianModel)
        try model.prepareInference(.int8)
        #expect(model.linearLayers().allSatisfy { $0.inferenceProduct != nil })
        #expect(model.linearLayers().count == 2 * 6 + 2 * 10)  // encoder 4 attention + 2 FFN per layer; decoder 4 + 4 + 2
        try model.prepareInference(.float32)
        #expect(model.linearLayers().allSatisfy { $0.inferenceProduct is PackedMatrix })
    }
}
